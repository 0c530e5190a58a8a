#include "agent/sinks/cloudwatch_sink.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

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

Result<aws::HttpResponse> CloudWatchSink::call(const std::string& action, const std::string& json) {
  aws::HttpRequest r;
  r.method = "POST";
  r.url = client_->endpoint("logs") + "/";
  r.headers = {{"X-Amz-Target", "Logs_20140328." + action},
               {"Content-Type", "application/x-amz-json-1.1"}};
  r.body = json;
  return client_->send("logs", std::move(r));
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
    DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse created, call("CreateLogGroup", group.dump()));
    DEMARC_TRY(check("CreateLogGroup " + options_.log_group, created));
    if (options_.retention_days > 0) {
      nlohmann::json retention = {{"logGroupName", options_.log_group},
                                  {"retentionInDays", options_.retention_days}};
      DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse set, call("PutRetentionPolicy", retention.dump()));
      DEMARC_TRY(check("PutRetentionPolicy " + options_.log_group, set));
    }
    group_ready_ = true;
  }
  nlohmann::json s = {{"logGroupName", options_.log_group}, {"logStreamName", stream}};
  DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse created, call("CreateLogStream", s.dump()));
  DEMARC_TRY(check("CreateLogStream " + options_.log_group + "/" + stream, created));
  streams_ready_.insert(stream);
  return okStatus();
}

Status CloudWatchSink::deliver(const evidence::StoredBatch& batch) {
  const std::string stream = streamOf(batch);
  DEMARC_TRY(ensureStream(stream));
  const auto timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                             evidence::fromTimestamp(batch.header.last_time()).time_since_epoch())
                             .count();
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
    DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse response, call("PutLogEvents", body.dump()));
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
    // Rejected events never become acceptable later: declared, not retried.
    auto reply = nlohmann::json::parse(response.body, nullptr, false);
    if (!reply.is_discarded() && reply.is_object() && reply.contains("rejectedLogEventsInfo")) {
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
