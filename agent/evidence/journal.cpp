#include "agent/evidence/journal.h"

#include <sys/stat.h>

#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/evidence/codec.h"

namespace demarc::evidence {
namespace {

constexpr size_t kSequenceDigits = 20;
constexpr std::string_view kBatchSuffix = ".batch";

std::optional<uint64_t> parseBatchName(const std::string& name) {
  if (name.size() != kSequenceDigits + kBatchSuffix.size() || !name.ends_with(kBatchSuffix)) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + kSequenceDigits, seq);
  if (ec != std::errc() || ptr != name.data() + kSequenceDigits) return std::nullopt;
  return seq;
}

// Checks a batch read from disk against itself: whole, and its payload
// matching the digest in its seal.
Result<StoredBatch> parseStored(uint64_t sequence, std::string bytes) {
  DEMARC_ASSIGN_OR_RETURN(BatchView view, splitBatch(bytes));
  DEMARC_ASSIGN_OR_RETURN(v1::BatchHeader header, peekHeader(view));
  if (header.sequence() != sequence) {
    return Error(ErrorCode::kCorrupt, "holds sequence " + std::to_string(header.sequence()));
  }
  auto seal = decodeRecord(view.seal_line);
  std::string digest = toHex(sha256(view.payload));
  if (!seal.ok() || !seal->has_seal() || seal->seal().payload_sha256() != digest) {
    return Error(ErrorCode::kCorrupt, "payload does not match its seal");
  }
  StoredBatch out;
  out.sequence = sequence;
  out.digest = std::move(digest);
  out.header = std::move(header);
  out.bytes = std::move(bytes);
  return out;
}

}  // namespace

std::filesystem::path Journal::batchPath(uint64_t sequence) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.batch", static_cast<unsigned long long>(sequence));
  return options_.path / name;
}

std::filesystem::path Journal::cursorPath(const std::string& sink) const {
  return options_.path / "cursors" / sink;
}

Result<std::unique_ptr<Journal>> Journal::open(const JournalOptions& options,
                                               const std::vector<std::string>& sinks) {
  std::unique_ptr<Journal> journal(new Journal(options));
  DEMARC_TRY(ensureDirectory(options.path, 0700));
  DEMARC_TRY(ensureDirectory(options.path / "cursors", 0700));
  auto recovered = journal->recover(sinks);
  if (!recovered.ok()) return recovered.error().withContext("journal " + options.path.string());
  return journal;
}

Status Journal::recover(const std::vector<std::string>& sinks) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.path, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (isAtomicWriteLeftover(entry.path())) {
      // A batch that was being written when the agent died: never durable,
      // never shipped, so its sequence is free to be used again.
      std::filesystem::remove(entry.path(), ec);
      recovery_notes_.push_back("removed unfinished write " + name);
      continue;
    }
    auto seq = parseBatchName(name);
    if (!seq) {
      recovery_notes_.push_back("ignored unexpected file " + name);
      continue;
    }
    uint64_t size = entry.file_size(ec);
    struct stat st {};
    SystemTime written = ::stat(entry.path().c_str(), &st) == 0
                             ? fromUnixTime(st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
                             : std::chrono::system_clock::now();
    batches_[*seq] = {size, written};
    bytes_ += size;
  }
  if (ec) return errnoError("list " + options_.path.string(), ec.value());

  // The newest batch anchors the chain. Batch files are only ever renamed
  // into place whole, so a bad one means outside damage: set it aside (never
  // delete evidence) and remember its sequence so it is not reused.
  while (!batches_.empty()) {
    uint64_t newest = batches_.rbegin()->first;
    auto bytes = readFile(batchPath(newest));
    if (!bytes.ok()) return bytes.error();
    auto stored = parseStored(newest, std::move(*bytes));
    if (stored.ok()) {
      chain_.last_sequence = newest;
      chain_.last_digest = stored->digest;
      break;
    }
    std::filesystem::path aside = options_.path / "corrupt";
    DEMARC_TRY(ensureDirectory(aside, 0700));
    std::filesystem::rename(batchPath(newest), aside / batchPath(newest).filename(), ec);
    if (ec) return errnoError("set aside corrupt batch", ec.value());
    recovery_notes_.push_back("batch " + std::to_string(newest) + " was corrupt (" +
                              stored.error().message() + "); moved to " + aside.string());
    if (!corrupt_anchor_) corrupt_anchor_ = newest;
    chain_.last_sequence = std::max(chain_.last_sequence, newest);
    bytes_ -= batches_.rbegin()->second.bytes;
    batches_.erase(newest);
  }
  if (corrupt_anchor_) {
    chain_.last_sequence = *corrupt_anchor_;
    chain_.last_digest.clear();
  }

  uint64_t oldest = batches_.empty() ? chain_.last_sequence + 1 : batches_.begin()->first;
  for (const std::string& sink : sinks) {
    uint64_t cursor = oldest - 1;  // a new sink gets everything the journal holds
    auto text = readFilePrefix(cursorPath(sink), 64);
    if (text.ok()) {
      uint64_t value = 0;
      auto [ptr, err] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (err != std::errc()) {
        recovery_notes_.push_back("cursor of sink " + sink + " was unreadable; resending");
      } else if (value > chain_.last_sequence) {
        recovery_notes_.push_back("cursor of sink " + sink + " was ahead of the journal (" +
                                  std::to_string(value) + " > " +
                                  std::to_string(chain_.last_sequence) + "); reset");
      } else {
        cursor = std::max(value, cursor);
      }
    }
    cursors_[sink] = cursor;
  }
  collectLocked();
  return okStatus();
}

ChainPosition Journal::chainPosition() const {
  std::lock_guard lock(mu_);
  return chain_;
}

uint64_t Journal::minCursorLocked() const {
  uint64_t min = chain_.last_sequence;
  for (const auto& [sink, cursor] : cursors_) min = std::min(min, cursor);
  return min;
}

uint64_t Journal::undeliveredBytesLocked() const {
  uint64_t delivered_to_all = minCursorLocked();
  uint64_t total = 0;
  for (auto it = batches_.upper_bound(delivered_to_all); it != batches_.end(); ++it) {
    total += it->second.bytes;
  }
  return total;
}

bool Journal::hasRoom(uint64_t batch_bytes) const {
  std::lock_guard lock(mu_);
  return undeliveredBytesLocked() + batch_bytes <= options_.max_bytes;
}

Status Journal::append(const SealedBatch& batch) {
  {
    std::lock_guard lock(mu_);
    if (batch.sequence != chain_.last_sequence + 1) {
      return Error(ErrorCode::kInternal, "journal expected sequence " +
                                             std::to_string(chain_.last_sequence + 1) + ", got " +
                                             std::to_string(batch.sequence));
    }
  }
  // Group-readable like the directory sink's evidence, which links to these
  // files instead of copying them; the journal's folder is private.
  DEMARC_TRY(writeFileAtomic(batchPath(batch.sequence), batch.bytes,
                             {.mode = kBatchFileMode, .fsync = options_.fsync, .uncached = true}));
  std::lock_guard lock(mu_);
  batches_[batch.sequence] = {batch.bytes.size(), batch.sealed_time};
  bytes_ += batch.bytes.size();
  chain_.last_sequence = batch.sequence;
  chain_.last_digest = batch.digest;
  collectLocked();
  return okStatus();
}

std::optional<uint64_t> Journal::nextFor(const std::string& sink) const {
  std::lock_guard lock(mu_);
  auto cursor = cursors_.find(sink);
  if (cursor == cursors_.end()) return std::nullopt;
  auto it = batches_.upper_bound(cursor->second);
  if (it == batches_.end()) return std::nullopt;
  return it->first;
}

void Journal::keepNewest(SealedBatch&& batch) {
  auto kept = std::make_shared<StoredBatch>();
  kept->sequence = batch.sequence;
  kept->bytes = std::move(batch.bytes);
  kept->digest = std::move(batch.digest);
  kept->header = std::move(batch.header);
  kept->file = batchPath(kept->sequence);
  std::lock_guard lock(mu_);
  if (kept->sequence != chain_.last_sequence || kept->sequence <= minCursorLocked()) return;
  newest_ = std::move(kept);
}

Result<std::shared_ptr<const StoredBatch>> Journal::read(uint64_t sequence) const {
  {
    std::lock_guard lock(mu_);
    if (newest_ && newest_->sequence == sequence) return newest_;
  }
  DEMARC_ASSIGN_OR_RETURN(std::string bytes, readFile(batchPath(sequence)));
  auto stored = parseStored(sequence, std::move(bytes));
  if (!stored.ok()) {
    return stored.error().withContext("journal batch " + batchPath(sequence).string());
  }
  stored->file = batchPath(sequence);
  return std::make_shared<const StoredBatch>(std::move(*stored));
}

Status Journal::acknowledge(const std::string& sink, uint64_t sequence) {
  DEMARC_TRY(writeFileAtomic(cursorPath(sink), std::to_string(sequence) + "\n",
                             {.mode = 0600, .fsync = options_.fsync}));
  std::lock_guard lock(mu_);
  cursors_[sink] = std::max(cursors_[sink], sequence);
  collectLocked();
  return okStatus();
}

void Journal::collectLocked() {
  uint64_t delivered_to_all = minCursorLocked();
  if (newest_ && newest_->sequence <= delivered_to_all) newest_.reset();
  while (!batches_.empty()) {
    auto oldest = batches_.begin();
    if (oldest->first > delivered_to_all || oldest->first == chain_.last_sequence) break;
    // A failed unlink only delays collection; the next recovery retries.
    ::unlink(batchPath(oldest->first).c_str());
    bytes_ -= oldest->second.bytes;
    batches_.erase(oldest);
  }
}

uint64_t Journal::batchCount() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

uint64_t Journal::byteCount() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::optional<SystemTime> Journal::oldestUndelivered(const std::string& sink) const {
  std::lock_guard lock(mu_);
  auto cursor = cursors_.find(sink);
  if (cursor == cursors_.end()) return std::nullopt;
  auto it = batches_.upper_bound(cursor->second);
  if (it == batches_.end()) return std::nullopt;
  return it->second.time;
}

uint64_t Journal::backlog(const std::string& sink) const {
  std::lock_guard lock(mu_);
  auto cursor = cursors_.find(sink);
  if (cursor == cursors_.end()) return 0;
  return chain_.last_sequence - std::min(cursor->second, chain_.last_sequence);
}

}  // namespace demarc::evidence
