#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/result.h"
#include "agent/evidence/batch.h"
#include "agent/evidence/sink.h"

namespace demarc::evidence {

struct JournalOptions {
  std::filesystem::path path;
  uint64_t max_bytes = 256ULL << 20;
  bool fsync = true;
};

// Crash-safe store of sealed batches with one cursor per sink.
//
// Layout: PATH/SEQUENCE.batch (20 digits) holds a batch's exact bytes,
// written with temp file + fsync + rename + folder fsync, so after a crash a
// batch file is either whole or absent. PATH/cursors/SINK holds the last
// sequence that sink has, written the same way. A batch is removed once every
// sink has it, except the newest, which stays as the chain anchor: it is how
// a restarted agent learns the sequence and digest to continue from.
//
// Thread-safe.
class Journal {
 public:
  static Result<std::unique_ptr<Journal>> open(const JournalOptions& options,
                                               const std::vector<std::string>& sinks);

  // What recovery found and did (leftover temp files removed, a corrupt batch
  // set aside), one sentence each, for the log and for gap records.
  const std::vector<std::string>& recoveryNotes() const { return recovery_notes_; }
  // Sequence of a corrupt newest batch that recovery set aside (its digest is
  // lost, so the chain cannot link to it).
  std::optional<uint64_t> corruptAnchor() const { return corrupt_anchor_; }

  ChainPosition chainPosition() const;
  // Whether a batch of this size fits under the cap. Batches every sink
  // already has do not count against it.
  bool hasRoom(uint64_t batch_bytes) const;
  // Durable when it returns ok.
  Status append(const SealedBatch& batch);
  // Takes the batch just appended, so that sinks that keep up ship it from
  // memory instead of reading it back.
  void keepNewest(SealedBatch&& batch);

  // The next batch sink does not have yet, if any.
  std::optional<uint64_t> nextFor(const std::string& sink) const;
  // The newest batch comes from memory (keepNewest) while a sink still
  // needs it; others are read from disk and checked against their seal.
  Result<std::shared_ptr<const StoredBatch>> read(uint64_t sequence) const;
  // Records that sink has every batch up to sequence; removes batches every
  // sink has.
  Status acknowledge(const std::string& sink, uint64_t sequence);

  uint64_t batchCount() const;
  uint64_t byteCount() const;
  uint64_t backlog(const std::string& sink) const;
  // When the oldest batch sink does not have yet was journaled.
  std::optional<SystemTime> oldestUndelivered(const std::string& sink) const;
  uint64_t maxBytes() const { return options_.max_bytes; }
  const std::filesystem::path& path() const { return options_.path; }

 private:
  explicit Journal(JournalOptions options) : options_(std::move(options)) {}
  Status recover(const std::vector<std::string>& sinks);
  std::filesystem::path batchPath(uint64_t sequence) const;
  std::filesystem::path cursorPath(const std::string& sink) const;
  void collectLocked();
  uint64_t minCursorLocked() const;
  uint64_t undeliveredBytesLocked() const;

  JournalOptions options_;
  mutable std::mutex mu_;
  struct Stored {
    uint64_t bytes = 0;  // on disk
    SystemTime time;     // when it was journaled
  };
  std::map<uint64_t, Stored> batches_;  // by sequence
  uint64_t bytes_ = 0;
  ChainPosition chain_;
  std::map<std::string, uint64_t> cursors_;
  std::vector<std::string> recovery_notes_;
  std::optional<uint64_t> corrupt_anchor_;
  std::shared_ptr<const StoredBatch> newest_;  // kept until every sink has it
};

}  // namespace demarc::evidence
