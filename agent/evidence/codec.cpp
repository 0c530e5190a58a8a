#include "agent/evidence/codec.h"

#include <algorithm>
#include <system_error>
#include <thread>

#include "agent/evidence/json.h"

namespace demarc::evidence {

std::string encodeRecord(const v1::Record& record) {
  std::string out;
  out.reserve(256);
  appendJson(record, out);
  return out;
}

namespace {

Status decodeInto(std::string_view line, v1::Record& record) {
  if (auto parsed = parseJson(line, record); !parsed.ok()) {
    return Error(ErrorCode::kCorrupt, "not a demarc record: " + parsed.error().message());
  }
  return okStatus();
}

}  // namespace

Result<v1::Record> decodeRecord(std::string_view line) {
  v1::Record record;
  DEMARC_TRY(decodeInto(line, record));
  return record;
}

DecodedRecords::DecodedRecords(std::span<const std::string_view> lines)
    : records_(lines.size(), nullptr), errors_(lines.size()) {
  // A thread for each further 1,000 lines, up to the cores there are: a
  // thread costs tens of microseconds, a line a few.
  constexpr size_t kLinesPerThread = 1000;
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                    1 + lines.size() / kLinesPerThread);
  for (size_t t = 0; t < threads; ++t) {
    arenas_.push_back(std::make_unique<google::protobuf::Arena>());
  }
  auto decodeRange = [&](size_t t, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      auto* record = google::protobuf::Arena::CreateMessage<v1::Record>(arenas_[t].get());
      if (auto decoded = decodeInto(lines[i], *record); decoded.ok()) {
        records_[i] = record;
      } else {
        errors_[i] = decoded.error().message();
      }
    }
  };
  std::vector<std::thread> helpers;
  size_t share = (lines.size() + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t) {
    size_t from = t * share, to = std::min(lines.size(), (t + 1) * share);
    try {
      helpers.emplace_back(decodeRange, t, from, to);
    } catch (const std::system_error&) {
      decodeRange(t, from, to);  // no thread to be had: this one does it
    }
  }
  decodeRange(0, 0, std::min(lines.size(), share));
  for (auto& helper : helpers) helper.join();
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
