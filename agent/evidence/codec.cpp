#include "agent/evidence/codec.h"

#include <algorithm>

#include "agent/evidence/json.h"

namespace demarc::evidence {

std::string encodeRecord(const v1::Record& record) {
  std::string out;
  out.reserve(256);
  appendJson(record, out);
  return out;
}

Result<v1::Record> decodeRecord(std::string_view line) {
  v1::Record record;
  if (auto parsed = parseJson(line, record); !parsed.ok()) {
    return Error(ErrorCode::kCorrupt, "not a demarc record: " + parsed.error().message());
  }
  return record;
}

google::protobuf::Timestamp toTimestamp(SystemTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  google::protobuf::Timestamp ts;
  int64_t secs = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  // Microseconds are plenty for evidence and keep the JSON short.
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(nanos / 1000 * 1000));
  return ts;
}

SystemTime fromTimestamp(const google::protobuf::Timestamp& ts) {
  // SystemTime counts nanoseconds in 64 bits (years 1678..2262); protobuf
  // accepts years 1..9999. Evidence being verified may hold anything, so
  // clamp rather than overflow.
  constexpr int64_t kMinSeconds = -4'000'000'000;  // 1843; differences of two stay in range
  constexpr int64_t kMaxSeconds = 4'000'000'000;   // 2096
  int64_t secs = std::clamp<int64_t>(ts.seconds(), kMinSeconds, kMaxSeconds);
  int32_t nanos = std::clamp<int32_t>(ts.nanos(), 0, 999'999'999);
  return fromUnixTime(secs, nanos);
}

std::string_view recordKind(const v1::Record& record) {
  switch (record.kind_case()) {
    case v1::Record::kHeader:
      return "header";
    case v1::Record::kEnrollment:
      return "enrollment";
    case v1::Record::kFinding:
      return "finding";
    case v1::Record::kInventory:
      return "inventory";
    case v1::Record::kProcess:
      return "process";
    case v1::Record::kNetwork:
      return "network";
    case v1::Record::kHeartbeat:
      return "heartbeat";
    case v1::Record::kGap:
      return "gap";
    case v1::Record::kSeal:
      return "seal";
    case v1::Record::kSynthetic:
      return "synthetic";
    case v1::Record::kScan:
      return "scan";
    case v1::Record::kPrivilege:
      return "privilege";
    case v1::Record::KIND_NOT_SET:
      break;
  }
  return "empty";
}

Result<BatchView> splitBatch(std::string_view bytes) {
  if (bytes.empty()) return Error(ErrorCode::kCorrupt, "empty file");
  if (bytes.back() != '\n') {
    return Error(ErrorCode::kCorrupt, "truncated: the last line has no newline");
  }
  std::string_view body = bytes.substr(0, bytes.size() - 1);
  size_t last_nl = body.rfind('\n');
  if (last_nl == std::string_view::npos) {
    return Error(ErrorCode::kCorrupt, "truncated: a batch needs a header line and a seal line");
  }
  BatchView view;
  view.payload = bytes.substr(0, last_nl + 1);
  view.seal_line = body.substr(last_nl + 1);
  std::string_view rest = view.payload;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    view.lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  return view;
}

Result<v1::BatchHeader> peekHeader(const BatchView& view) {
  if (view.lines.empty()) return Error(ErrorCode::kCorrupt, "no header line");
  auto record = decodeRecord(view.lines.front());
  if (!record.ok()) return record.error().withContext("header line");
  if (!record->has_header()) {
    return Error(ErrorCode::kCorrupt, "the first line is a " + std::string(recordKind(*record)) +
                                          " record, not a batch header");
  }
  return record->header();
}

}  // namespace demarc::evidence
