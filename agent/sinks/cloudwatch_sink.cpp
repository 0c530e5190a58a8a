#include "agent/sinks/cloudwatch_sink.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "agent/aws/logs.h"
#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/identity.h"

namespace demarc::sinks {
namespace {

constexpr size_t kMaxEvents = 10'000;
constexpr size_t kMaxCallBytes = 1'048'576;
constexpr size_t kEventOverhead = 26;
// Raw bytes per part: base64 of it plus the part's JSON wrapper fits a message.
constexpr size_t kPartBytes = (CloudWatchSink::kMaxMessageBytes - 256) / 4 * 3;

constexpr std::array<uint32_t, 22> kRetentionDays = {1,    3,    5,    7,    14,   30,  60,  90,
                                                     120,  150,  180,  365,  400,  545, 731, 1096,
                                                     1827, 2192, 2557, 2922, 3288, 3653};

bool alreadyExists(const aws::HttpResponse& r) {
  return aws::parseAwsError(r).code == "ResourceAlreadyExistsException";
}

}  // namespace

Status validate(const CloudWatchSinkOptions& o) {
  auto bad = [](const std::string& field, const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "sinks.cloudwatch." + field + ": " + why);
  };
  if (o.log_group.empty() || o.log_group.size() > 512) {
    return bad("log_group", "1 to 512 characters");
  }
  if (o.log_group.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_-/.#") != std::string::npos) {
    return bad("log_group", "'" + o.log_group + "': letters, digits and _ - / . # only");
  }
  if (o.log_stream.size() > 512 || o.log_stream.find_first_of(":*") != std::string::npos) {
    return bad("log_stream", "'" + o.log_stream + "': at most 512 characters, no ':' or '*'");
  }
  if (o.retention_days != 0 && std::find(kRetentionDays.begin(), kRetentionDays.end(),
                                         o.retention_days) == kRetentionDays.end()) {
    return bad("retention_days", std::to_string(o.retention_days) +
                                     " is not one CloudWatch Logs offers (1, 3, 5, 7, 14, 30, "
                                     "60, 90, ..., 3653; 0: never expire)");
  }
  return okStatus();
}

CloudWatchSink::CloudWatchSink(CloudWatchSinkOptions options,
                               std::unique_ptr<aws::AwsClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

std::string CloudWatchSink::streamOf(const evidence::StoredBatch& batch) const {
  return options_.log_stream.empty() ? evidence::hostKey(batch.header.host()) : options_.log_stream;
}

std::string CloudWatchSink::where(const evidence::StoredBatch& batch) const {
  return "cloudwatch://" + options_.log_group + "/" + streamOf(batch) + " (batch " +
         std::to_string(batch.sequence) + ")";
}

std::vector<std::string> CloudWatchSink::eventsOf(const evidence::StoredBatch& batch) {
  std::vector<std::string> events;
  std::string_view rest = batch.bytes;
  size_t line_no = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    ++line_no;
    if (line.size() <= kMaxMessageBytes) {
      events.emplace_back(line);
      continue;
    }
    size_t parts = (line.size() + kPartBytes - 1) / kPartBytes;
    for (size_t i = 0; i < parts; ++i) {
      nlohmann::json part = {{"demarc_part",
                              {{"sequence", batch.sequence},
                               {"line", line_no},
                               {"part", i + 1},
                               {"parts", parts},
                               {"data", base64Encode(line.substr(i * kPartBytes, kPartBytes))}}}};
      events.push_back(part.dump());
    }
  }
  return events;
}

Status CloudWatchSink::ensureStream(const std::string& stream) {
  if (!options_.create || streams_ready_.count(stream) > 0) return okStatus();
  auto check = [](const std::string& what, const aws::HttpResponse& r) -> Status {
    if (r.status == 200 || alreadyExists(r)) return okStatus();
    aws::AwsError e = aws::parseAwsError(r);
    return Error(e.retryable ? ErrorCode::kUnavailable : ErrorCode::kIo,
                 what + ": " + e.describe());
  };
  if (!group_ready_) {
    nlohmann::json group = {{"logGroupName", options_.log_group}};
    if (!options_.kms_key_id.empty()) group["kmsKeyId"] = options_.kms_key_id;
    DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse created,
                            aws::logsCall(*client_, "CreateLogGroup", group.dump()));
    DEMARC_TRY(check("CreateLogGroup " + options_.log_group, created));
    if (options_.retention_days > 0) {
      nlohmann::json retention = {{"logGroupName", options_.log_group},
                                  {"retentionInDays", options_.retention_days}};
      DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse set,
                              aws::logsCall(*client_, "PutRetentionPolicy", retention.dump()));
      DEMARC_TRY(check("PutRetentionPolicy " + options_.log_group, set));
    }
    group_ready_ = true;
  }
  nlohmann::json s = {{"logGroupName", options_.log_group}, {"logStreamName", stream}};
  DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse created,
                          aws::logsCall(*client_, "CreateLogStream", s.dump()));
  DEMARC_TRY(check("CreateLogStream " + options_.log_group + "/" + stream, created));
  streams_ready_.insert(stream);
  return okStatus();
}

int64_t CloudWatchSink::timestampOf(const evidence::StoredBatch& batch, const std::string& stream) {
  // The service orders a stream by timestamp; record times do not grow from
  // batch to batch (a scan's records carry its start), sealing times do.
  SystemTime t = evidence::fromTimestamp(batch.header.last_time());
  std::string_view bytes = batch.bytes;
  if (auto header = evidence::decodeRecord(bytes.substr(0, bytes.find('\n')));
      header.ok() && header->has_time()) {
    t = evidence::fromTimestamp(header->time());
  }
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  int64_t& last = last_timestamp_[stream];
  last = std::max(last, ms);
  return last;
}

Status CloudWatchSink::deliver(const evidence::StoredBatch& batch) {
  const std::string stream = streamOf(batch);
  DEMARC_TRY(ensureStream(stream));
  const int64_t timestamp = timestampOf(batch, stream);
  std::vector<std::string> events = eventsOf(batch);
  uint64_t rejected = 0;
  std::string rejection;
  for (size_t start = 0; start < events.size();) {
    // As many events as one call may carry.
    size_t end = start;
    size_t bytes = 0;
    while (end < events.size() && end - start < kMaxEvents &&
           bytes + events[end].size() + kEventOverhead <= kMaxCallBytes) {
      bytes += events[end].size() + kEventOverhead;
      ++end;
    }
    nlohmann::json body = {{"logGroupName", options_.log_group}, {"logStreamName", stream}};
    nlohmann::json& list = body["logEvents"] = nlohmann::json::array();
    for (size_t i = start; i < end; ++i) {
      list.push_back({{"timestamp", timestamp}, {"message", events[i]}});
    }
    DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse response,
                            aws::logsCall(*client_, "PutLogEvents", body.dump()));
    if (response.status != 200) {
      aws::AwsError e = aws::parseAwsError(response);
      // The group or stream went away: make them again on the retry.
      if (e.code == "ResourceNotFoundException") {
        group_ready_ = false;
        streams_ready_.erase(stream);
      }
      return Error(e.retryable ? ErrorCode::kUnavailable : ErrorCode::kIo,
                   "PutLogEvents " + options_.log_group + "/" + stream + " batch " +
                       std::to_string(batch.sequence) + ": " + e.describe());
    }
    // A reply that cannot be read may hide refused events: the batch goes
    // again (readers pass repeated events once).
    auto reply = nlohmann::json::parse(response.body, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
      return Error(ErrorCode::kUnavailable,
                   "PutLogEvents " + options_.log_group + "/" + stream + " batch " +
                       std::to_string(batch.sequence) +
                       ": HTTP 200 but the reply is not a JSON "
                       "object (" +
                       std::to_string(response.body.size()) + " bytes of " +
                       (response.headers.count("content-type") ? response.headers.at("content-type")
                                                               : std::string("no content type")) +
                       ")");
    }
    // Rejected events never become acceptable later: declared, not retried.
    if (reply.contains("rejectedLogEventsInfo")) {
      const auto& info = reply["rejectedLogEventsInfo"];
      size_t n = end - start;
      size_t lost = 0;
      auto index = [&](const char* key) -> std::optional<size_t> {
        auto it = info.find(key);
        if (it == info.end() || !it->is_number_integer()) return std::nullopt;
        return static_cast<size_t>(std::max<int64_t>(0, it->get<int64_t>()));
      };
      if (auto too_new = index("tooNewLogEventStartIndex")) {
        lost += n - std::min(n, *too_new);
        rejection = "too new for CloudWatch Logs";
      }
      size_t old_end = std::max(index("tooOldLogEventEndIndex").value_or(0),
                                index("expiredLogEventEndIndex").value_or(0));
      if (info.contains("tooOldLogEventEndIndex") || info.contains("expiredLogEventEndIndex")) {
        lost += std::min(n, old_end + 1);
        rejection = info.contains("expiredLogEventEndIndex")
                        ? "older than the log group's retention"
                        : "older than CloudWatch Logs accepts (14 days)";
      }
      rejected += std::min(lost, n);
    }
    start = end;
  }
  if (rejected > 0) {
    SystemTime t = evidence::fromTimestamp(batch.header.last_time());
    reportLoss({.reason = "cloudwatch_rejected",
                .detail = std::to_string(rejected) + " of the " + std::to_string(events.size()) +
                          " events of batch " + std::to_string(batch.sequence) +
                          " were refused: " + rejection,
                .records = rejected,
                .from = evidence::fromTimestamp(batch.header.first_time()),
                .to = t});
  }
  return okStatus();
}

}  // namespace demarc::sinks

namespace demarc::sinks {
namespace {

enum class LineKind { kHeader, kSeal, kOther };

// A batch line's kind from its key after the optional time: records are
// {"time":"...","KIND":{...}} and no record nests a "header" or "seal" key.
LineKind kindOf(std::string_view line) {
  std::string_view rest = line;
  if (rest.starts_with("{\"time\":\"")) {
    size_t end = rest.find('"', 9);
    if (end == std::string_view::npos) return LineKind::kOther;
    rest.remove_prefix(end + 1);
    if (!rest.starts_with(",")) return LineKind::kOther;
    rest.remove_prefix(1);
  } else if (rest.starts_with("{")) {
    rest.remove_prefix(1);
  }
  if (rest.starts_with("\"header\":{")) return LineKind::kHeader;
  if (rest.starts_with("\"seal\":{")) return LineKind::kSeal;
  return LineKind::kOther;
}

}  // namespace

CloudWatchBatchJoiner::CloudWatchBatchJoiner(
    std::string name, std::function<void(const std::string&, std::string_view)> batch)
    : name_(std::move(name)), batch_(std::move(batch)) {}

void CloudWatchBatchJoiner::add(std::string_view message) {
  ++event_;
  if (!message.starts_with("{\"demarc_part\":")) {
    if (!part_line_.empty() || next_part_ != 1) abandon("a long line's parts stop before its last");
    addLine(message);
    return;
  }
  auto json = nlohmann::json::parse(message, nullptr, false);
  const nlohmann::json* part = nullptr;
  if (!json.is_discarded() && json.is_object()) {
    auto it = json.find("demarc_part");
    if (it != json.end() && it->is_object()) part = &*it;
  }
  auto number = [&](const char* key) -> uint64_t {
    auto it = part->find(key);
    return it != part->end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  std::optional<std::string> data;
  if (part != nullptr && part->contains("data") && (*part)["data"].is_string()) {
    data = base64Decode((*part)["data"].get<std::string>());
  }
  if (part == nullptr || !data || number("part") == 0 || number("parts") < number("part")) {
    abandon("event " + std::to_string(event_) + " is a malformed part of a long line");
    return;
  }
  if (number("part") == 1) {
    if (next_part_ != 1) abandon("a long line's parts stop before its last");
    part_line_.clear();
  } else if (number("part") != next_part_) {
    abandon("event " + std::to_string(event_) + " is part " + std::to_string(number("part")) +
            " of a long line, expected part " + std::to_string(next_part_));
    return;
  }
  part_line_ += *data;
  next_part_ = number("part") + 1;
  if (number("part") == number("parts")) {
    std::string line = std::move(part_line_);
    part_line_.clear();
    next_part_ = 1;
    addLine(line);
  }
}

void CloudWatchBatchJoiner::abandon(const std::string& problem) {
  part_line_.clear();
  next_part_ = 1;
  if (current_) {
    current_->problem = problem;
    incomplete_.push_back(std::move(*current_));
    current_.reset();
    bytes_.clear();
  } else {
    leftovers_.stray.push_back(name_ + ": " + problem);
  }
}

void CloudWatchBatchJoiner::addLine(std::string_view line) {
  switch (kindOf(line)) {
    case LineKind::kHeader: {
      if (current_) {
        current_->problem = "stops after " + std::to_string(current_->lines) +
                            " record lines, without its seal (the next batch starts)";
        incomplete_.push_back(std::move(*current_));
      }
      current_ = Incomplete{.name = name_ + "@" + std::to_string(event_)};
      if (auto record = evidence::decodeRecord(line); record.ok() && record->has_header()) {
        current_->agent_id = record->header().agent_id();
        leftovers_.agent_id = current_->agent_id;
        current_->sequence = record->header().sequence();
        current_->expected = record->header().record_count();
      }
      bytes_.assign(line);
      bytes_ += '\n';
      return;
    }
    case LineKind::kSeal: {
      if (!current_) {
        leftovers_.stray.push_back(name_ + ": event " + std::to_string(event_) +
                                   " is a seal with no batch header before it");
        return;
      }
      bytes_.append(line);
      bytes_ += '\n';
      std::string digest = toHex(sha256(bytes_));
      auto [it, first] =
          delivered_.emplace(std::pair(current_->agent_id, current_->sequence), digest);
      if (!first && it->second == digest) {
        leftovers_.redelivered += 1;
      } else {
        batch_(current_->name, bytes_);
      }
      current_.reset();
      bytes_.clear();
      return;
    }
    case LineKind::kOther:
      if (!current_) {
        leftovers_.stray.push_back(name_ + ": event " + std::to_string(event_) +
                                   " is outside any batch");
        return;
      }
      bytes_.append(line);
      bytes_ += '\n';
      current_->lines += 1;
      return;
  }
}

CloudWatchBatchJoiner::Leftovers CloudWatchBatchJoiner::finish() {
  if (next_part_ != 1) abandon("a long line's parts stop before its last");
  if (current_) {
    current_->problem = "stops after " + std::to_string(current_->lines) + " of " +
                        std::to_string(current_->expected) + " record lines, without its seal";
    leftovers_.tail = std::move(*current_);
    current_.reset();
    bytes_.clear();
  }
  for (auto& i : incomplete_) {
    if (delivered_.count({i.agent_id, i.sequence}) > 0) {
      leftovers_.partial_redeliveries += 1;
    } else {
      leftovers_.broken.push_back(std::move(i));
    }
  }
  incomplete_.clear();
  if (leftovers_.tail && delivered_.count({leftovers_.tail->agent_id, leftovers_.tail->sequence})) {
    leftovers_.partial_redeliveries += 1;
    leftovers_.tail.reset();
  }
  return std::move(leftovers_);
}

}  // namespace demarc::sinks
