#include "agent/sinks/directory_sink.h"

#include <cstdio>

#include "agent/core/files.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/identity.h"

namespace demarc::sinks {

DirectorySink::DirectorySink(std::filesystem::path root, bool fsync)
    : root_(std::move(root)), fsync_(fsync) {}

std::filesystem::path DirectorySink::relativePath(const evidence::StoredBatch& batch) {
  char name[96];
  std::snprintf(name, sizeof(name), "%020llu-%s.jsonl",
                static_cast<unsigned long long>(batch.sequence),
                batch.digest.substr(0, 16).c_str());
  // The date of the batch's newest record, so a day's folder holds that
  // day's evidence however late it is shipped.
  std::string date = formatDate(evidence::fromTimestamp(batch.header.last_time()));
  return std::filesystem::path(evidence::hostKey(batch.header.host())) / date / name;
}

Status DirectorySink::deliver(const evidence::StoredBatch& batch) {
  std::filesystem::path path = root_ / relativePath(batch);
  DEMARC_TRY(ensureDirectory(path.parent_path(), 0750));
  AtomicWriteOptions options{.mode = evidence::kBatchFileMode, .fsync = fsync_};
  if (!batch.file.empty()) {
    // The journal's file already holds these bytes (on the same
    // filesystem, by default): a link saves writing them a second time.
    DEMARC_ASSIGN_OR_RETURN(bool linked, linkFileAtomic(batch.file, path, options));
    if (linked) return okStatus();
  }
  return writeFileAtomic(path, batch.bytes, options);
}

}  // namespace demarc::sinks
