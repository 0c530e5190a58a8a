#include "agent/aws/logs.h"

#include <nlohmann/json.hpp>

namespace demarc::aws {
namespace {

Error logsError(const std::string& what, const HttpResponse& r) {
  AwsError e = parseAwsError(r);
  ErrorCode code = e.retryable                                   ? ErrorCode::kUnavailable
                   : e.code == "ResourceNotFoundException"       ? ErrorCode::kNotFound
                   : e.status == 403 || e.code == "AccessDenied" ? ErrorCode::kPermissionDenied
                                                                 : ErrorCode::kIo;
  return Error(code, what + ": " + e.describe());
}

// A 200 reply's JSON object; anything else is an error naming the call.
Result<nlohmann::json> replyObject(const std::string& what, const HttpResponse& r) {
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    std::string start = r.body.substr(0, 60);
    return Error(ErrorCode::kCorrupt,
                 what + ": the reply is not a JSON object (" + std::to_string(r.body.size()) +
                     " bytes" + (r.body.empty() ? "" : ", starting '" + start + "'") + ")");
  }
  return json;
}

// A string field of a reply, or empty.
std::string stringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<HttpResponse> logsCall(AwsClient& client, std::string_view action, const std::string& json) {
  HttpRequest r;
  r.method = "POST";
  r.url = client.endpoint("logs") + "/";
  r.headers = {{"X-Amz-Target", "Logs_20140328." + std::string(action)},
               {"Content-Type", "application/x-amz-json-1.1"}};
  r.body = json;
  return client.send("logs", std::move(r));
}

namespace {

// Calls ACTION page by page, handing each item of the reply's `list` to
// `each`, until the reply's `next` token is missing (where `next_required`
// is false) or comes back unchanged; it goes back as nextToken.
Status forEachPage(AwsClient& client, std::string_view action, const std::string& what,
                   nlohmann::json request, const char* list, const char* next, bool next_required,
                   const std::function<Status(const nlohmann::json&)>& each) {
  std::string token;
  for (;;) {
    if (!token.empty()) request["nextToken"] = token;
    DEMARC_ASSIGN_OR_RETURN(HttpResponse r, logsCall(client, action, request.dump()));
    if (r.status != 200) return logsError(what, r);
    DEMARC_ASSIGN_OR_RETURN(nlohmann::json reply, replyObject(what, r));
    auto items = reply.find(list);
    if (items == reply.end() || !items->is_array()) {
      return Error(ErrorCode::kCorrupt, what + ": the reply has no " + list + " list");
    }
    for (const auto& item : *items) DEMARC_TRY(each(item));
    std::string following = stringField(reply, next);
    if (following.empty() && next_required) {
      return Error(ErrorCode::kCorrupt, what + ": the reply has no " + next);
    }
    if (following.empty() || following == token) return okStatus();
    token = std::move(following);
  }
}

}  // namespace

Status listLogStreams(AwsClient& client, const std::string& group,
                      const std::function<Status(const std::string& stream)>& each) {
  const std::string what = "DescribeLogStreams " + group;
  return forEachPage(client, "DescribeLogStreams", what, {{"logGroupName", group}}, "logStreams",
                     "nextToken", false, [&](const nlohmann::json& s) -> Status {
                       std::string name = s.is_object() ? stringField(s, "logStreamName") : "";
                       if (name.empty()) {
                         return Error(ErrorCode::kCorrupt, what + ": a stream without a name");
                       }
                       return each(name);
                     });
}

Status readLogEvents(AwsClient& client, const std::string& group, const std::string& stream,
                     const std::function<Status(std::string_view, int64_t)>& each) {
  const std::string what = "GetLogEvents " + group + "/" + stream;
  // The end of the stream: the same forward token comes back.
  nlohmann::json request = {
      {"logGroupName", group}, {"logStreamName", stream}, {"startFromHead", true}};
  return forEachPage(
      client, "GetLogEvents", what, std::move(request), "events", "nextForwardToken", true,
      [&](const nlohmann::json& e) -> Status {
        auto message = e.is_object() ? e.find("message") : e.end();
        auto timestamp = e.is_object() ? e.find("timestamp") : e.end();
        if (message == e.end() || !message->is_string() || timestamp == e.end() ||
            !timestamp->is_number_integer()) {
          return Error(ErrorCode::kCorrupt, what + ": an event without a message or timestamp");
        }
        return each(message->get_ref<const std::string&>(), timestamp->get<int64_t>());
      });
}

Result<std::string> parseLogsUri(std::string_view uri) {
  constexpr std::string_view kScheme = "cloudwatch://";
  if (!uri.starts_with(kScheme)) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(uri) + "' is not a cloudwatch://GROUP[/STREAM] URI");
  }
  std::string path(uri.substr(kScheme.size()));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty() || path == "/") {
    return Error(ErrorCode::kInvalidArgument, "'" + std::string(uri) + "' names no log group");
  }
  if (path.find_first_of(":*") != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(uri) + "': log group and stream names hold no ':' or '*'");
  }
  return path;
}

}  // namespace demarc::aws
