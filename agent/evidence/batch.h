#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/core/clock.h"
#include "agent/evidence/record.pb.h"

namespace demarc::evidence {

// A record already encoded as its JSON line, with what the sealer needs to
// know about it without decoding it again.
struct EncodedRecord {
  std::string line;
  SystemTime time;
  std::string_view kind;  // static string from recordKind()
};

// Losses since the last batch, by "source.reason".
using DropCounters = std::map<std::string, uint64_t>;

// A sealed batch: the exact bytes that are journaled, shipped and verified.
// Never re-encoded after sealing.
struct SealedBatch {
  uint64_t sequence = 0;
  std::string bytes;        // payload lines + seal line
  size_t payload_size = 0;  // bytes[0, payload_size) is the signed payload
  std::string digest;       // hex SHA-256 of the payload
  v1::BatchHeader header;
  SystemTime sealed_time;
};

// The position of the chain: what the next batch links to.
struct ChainPosition {
  uint64_t last_sequence = 0;
  std::string last_digest;  // hex; empty before the first batch
};

}  // namespace demarc::evidence
