#pragma once

#include <google/protobuf/arena.h>
#include <google/protobuf/timestamp.pb.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/encoding.h"
#include "agent/core/result.h"
#include "agent/evidence/record.pb.h"

namespace demarc::evidence {

// One record as a JSON line (no trailing newline), protobuf JSON mapping with
// proto field names.
std::string encodeRecord(const v1::Record& record);
// Strict about syntax, lenient about unknown fields (newer agents may add).
Result<v1::Record> decodeRecord(std::string_view line);

// Many lines decoded as decodeRecord does, in order, on several threads for
// a batch of thousands (decoding is most of the time reading evidence
// takes); the records live in arenas, freed all at once with this.
class DecodedRecords {
 public:
  explicit DecodedRecords(std::span<const std::string_view> lines);
  size_t size() const { return records_.size(); }
  // Null where line i did not decode; error(i) says why.
  const v1::Record* record(size_t i) const { return records_[i]; }
  const std::string& error(size_t i) const { return errors_[i]; }

 private:
  std::vector<std::unique_ptr<google::protobuf::Arena>> arenas_;  // one per thread
  std::vector<v1::Record*> records_;
  std::vector<std::string> errors_;
};

google::protobuf::Timestamp toTimestamp(SystemTime t);
SystemTime fromTimestamp(const google::protobuf::Timestamp& ts);

// A record kind by name ("heartbeat", "finding", ...) for counters and logs.
std::string_view recordKind(const v1::Record& record);

// A sealed batch split into its parts. Views point into the bytes given to
// parseBatch, which must outlive this.
struct BatchView {
  std::string_view payload;             // header line .. last record line, each with "\n"
  std::string_view seal_line;           // without its newline
  std::vector<std::string_view> lines;  // payload lines without newlines
};

// Splits bytes into payload and seal. Errors say what is malformed (no seal
// line, missing final newline = truncated).
Result<BatchView> splitBatch(std::string_view bytes);

// The header fields a reader needs to file or index a batch, from the first
// payload line (not verified: verification is verify.cpp's job).
Result<v1::BatchHeader> peekHeader(const BatchView& view);

}  // namespace demarc::evidence
