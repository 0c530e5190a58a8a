#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "agent/core/clock.h"
#include "agent/core/result.h"
#include "agent/evidence/record.pb.h"

namespace demarc::evidence {

// The mode of a batch file, in the journal (a private folder) and in the
// directory sink, which links to the journal's file instead of copying it.
inline constexpr mode_t kBatchFileMode = 0640;

// A batch as read back from the journal, ready to ship.
struct StoredBatch {
  uint64_t sequence = 0;
  std::string bytes;   // exactly as sealed
  std::string digest;  // hex SHA-256 of the payload
  v1::BatchHeader header;
  // The journal file holding exactly these bytes, when the batch came from
  // a journal. It is never written again once there (a sink may link to
  // it), and is removed by the journal once every sink has the batch.
  std::filesystem::path file;
};

// Records a destination refused for good (CloudWatch Logs rejecting events
// as too old, say): declared in a gap record, never dropped silently.
struct SinkLoss {
  std::string reason;  // "cloudwatch_too_old", ...
  std::string detail;
  uint64_t records = 0;
  SystemTime from;
  SystemTime to;
};

// Where sealed batches go. Delivery is at least once: deliver() may be called
// again with the same batch after a crash or an error, and must then produce
// the same result (same name, same bytes).
class Sink {
 public:
  virtual ~Sink() = default;
  // Stable name: it keys the sink's cursor in the journal.
  virtual std::string_view name() const = 0;
  // Where it writes, for the log.
  virtual std::string describe() const = 0;
  // Where a batch lands (a path, an s3:// URL), for the log.
  virtual std::string where(const StoredBatch& batch) const = 0;
  virtual Status deliver(const StoredBatch& batch) = 0;

  // Set by the pipeline, which seals a gap record for each loss reported.
  void onLoss(std::function<void(const SinkLoss&)> report) { report_loss_ = std::move(report); }

 protected:
  void reportLoss(const SinkLoss& loss) const {
    if (report_loss_) report_loss_(loss);
  }

 private:
  std::function<void(const SinkLoss&)> report_loss_;
};

}  // namespace demarc::evidence
