#pragma once

#include <filesystem>
#include <string>

#include "agent/evidence/sink.h"

namespace demarc::sinks {

// Writes each batch to ROOT/HOST/YYYY-MM-DD/SEQUENCE-DIGEST.jsonl, atomically
// (temp file, fsync, rename). The name follows from the batch alone, so a
// retry after a crash rewrites the same file with the same bytes.
class DirectorySink : public evidence::Sink {
 public:
  DirectorySink(std::filesystem::path root, bool fsync);

  std::string_view name() const override { return "directory"; }
  std::string describe() const override { return root_.string(); }
  std::string where(const evidence::StoredBatch& batch) const override {
    return (root_ / relativePath(batch)).string();
  }
  Status deliver(const evidence::StoredBatch& batch) override;

  // Where a batch goes, relative to the root.
  static std::filesystem::path relativePath(const evidence::StoredBatch& batch);

 private:
  std::filesystem::path root_;
  bool fsync_;
};

}  // namespace demarc::sinks
