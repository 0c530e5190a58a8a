#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/record.pb.h"

namespace demarc::evidence {

// Records already encoded as JSON lines, back to back in one buffer (each
// line followed by '\n', as in a batch), with what the sealer and the loss
// accounting need to know of each without decoding it again. One buffer
// instead of an allocation per record: cleared, it keeps its capacity, so
// records pass from the recording threads to the sealer without touching
// the allocator.
class RecordBuffer {
 public:
  struct Entry {
    size_t end;  // one past the record's '\n' in lines()
    SystemTime time;
    std::string_view kind;  // static string from recordKind()
  };

  void add(std::string_view line, SystemTime time, std::string_view kind) {
    bytes_.append(line);
    bytes_.push_back('\n');
    entries_.push_back({bytes_.size(), time, kind});
  }
  // Moves the first n records to the end of `to`; the rest stay here.
  void moveFront(size_t n, RecordBuffer& to);
  // Appends copies of all of `from`'s records.
  void addAll(const RecordBuffer& from) { appendCopy(from, from.size()); }
  void clear() {
    bytes_.clear();
    entries_.clear();
  }
  void swap(RecordBuffer& other) noexcept {
    bytes_.swap(other.bytes_);
    entries_.swap(other.entries_);
  }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  size_t capacityBytes() const { return bytes_.capacity(); }
  // Every record's line with its '\n'.
  std::string_view lines() const { return bytes_; }
  // Record i's line, without the '\n'.
  std::string_view line(size_t i) const {
    size_t begin = i == 0 ? 0 : entries_[i - 1].end;
    return std::string_view(bytes_).substr(begin, entries_[i].end - 1 - begin);
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  // Appends copies of the first n of `from`'s records.
  void appendCopy(const RecordBuffer& from, size_t n);

  std::string bytes_;
  std::vector<Entry> entries_;
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
