#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/core/result.h"
#include "agent/evidence/record.pb.h"

namespace demarc::evidence {

// A batch as read back from the journal, ready to ship.
struct StoredBatch {
  uint64_t sequence = 0;
  std::string bytes;   // exactly as sealed
  std::string digest;  // hex SHA-256 of the payload
  v1::BatchHeader header;
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
};

}  // namespace demarc::evidence
