#include "agent/aws/aws_client.h"

#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/aws/xml.h"

namespace demarc::aws {
namespace {

bool isThrottling(std::string_view code) {
  for (std::string_view c :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException"}) {
    if (code == c) return true;
  }
  return false;
}

bool isExpired(std::string_view code) {
  return code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" ||
         code == "InvalidClientTokenId" || code == "TokenRefreshRequired";
}

}  // namespace

std::string publicEndpoint(std::string_view service, std::string_view region, bool fips) {
  std::string host =
      std::string(service) + (fips ? "-fips" : "") + "." + std::string(region) + ".amazonaws.com";
  if (region.starts_with("cn-")) host += ".cn";
  return "https://" + host;
}

std::string AwsError::describe() const {
  std::string out = "HTTP " + std::to_string(status);
  if (!code.empty()) out += " " + code;
  if (!message.empty()) out += ": " + message;
  if (!request_id.empty()) out += " (request id " + request_id + ")";
  return out;
}

AwsError parseAwsError(const HttpResponse& response) {
  AwsError e;
  e.status = response.status;
  std::string_view body = response.body;
  if (body.find('<') != std::string_view::npos) {
    // S3: <Error><Code/><Message/><RequestId/></Error>; EC2 and other query
    // services: <Response><Errors><Error>...</Error></Errors><RequestID/>.
    e.code = firstElement(body, "Code");
    e.message = firstElement(body, "Message");
    e.request_id = firstElement(body, "RequestId");
    if (e.request_id.empty()) e.request_id = firstElement(body, "RequestID");
  } else if (auto doc = nlohmann::json::parse(body, nullptr, false);
             !doc.is_discarded() && doc.is_object()) {
    // JSON protocol: {"__type": "com.amazonaws...#ThrottlingException", "message": ...}.
    if (auto type = doc.find("__type"); type != doc.end() && type->is_string()) {
      std::string t = type->get<std::string>();
      e.code = t.substr(t.rfind('#') == std::string::npos ? 0 : t.rfind('#') + 1);
    }
    for (const char* key : {"message", "Message"}) {
      if (auto m = doc.find(key); m != doc.end() && m->is_string())
        e.message = m->get<std::string>();
    }
  }
  for (const char* header : {"x-amzn-requestid", "x-amz-request-id"}) {
    if (e.request_id.empty()) {
      if (auto it = response.headers.find(header); it != response.headers.end()) {
        e.request_id = it->second;
      }
    }
  }
  e.throttled = response.status == 429 || isThrottling(e.code);
  e.expired_credentials = isExpired(e.code);
  e.retryable = e.throttled || response.status >= 500 || response.status == 408 ||
                e.code == "RequestTimeout" || e.code == "RequestTimeoutException";
  return e;
}

AwsClient::AwsClient(AwsClientOptions options, CredentialChain& credentials, const Clock& clock)
    : options_(std::move(options)), credentials_(credentials), clock_(clock) {}

std::string AwsClient::endpoint(std::string_view service) const {
  if (auto it = options_.endpoints.find(std::string(service)); it != options_.endpoints.end()) {
    std::string base = it->second;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
  }
  return publicEndpoint(service, options_.region, options_.fips);
}

Result<HttpResponse> AwsClient::send(std::string_view service, HttpRequest request) {
  if (options_.region.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "no AWS region to sign " + std::string(service) + " requests for");
  }
  request.connect_timeout = options_.connect_timeout;
  request.total_timeout = options_.total_timeout;
  request.ca_bundle = options_.ca_bundle;
  std::chrono::milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    auto result = sendOnce(service, request);
    const bool transient = result.ok() ? parseAwsError(*result).retryable
                                       : result.error().code() == ErrorCode::kUnavailable;
    if (!transient || attempt >= options_.max_attempts) return result;
    // Full jitter: a random wait up to the backoff, which doubles.
    std::uniform_int_distribution<int64_t> jitter(0, backoff.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng_)));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

Result<HttpResponse> AwsClient::sendOnce(std::string_view service, HttpRequest request) {
  const SigningScope scope{options_.region, std::string(service)};
  for (int attempt = 0;; ++attempt) {
    DEMARC_ASSIGN_OR_RETURN(SourcedCredentials creds, credentials_.get());
    DEMARC_TRY(signer_.sign(request, creds.credentials, scope, clock_.now()));
    DEMARC_ASSIGN_OR_RETURN(HttpResponse response, http_.send(request));
    if (response.status < 400 || attempt > 0) return response;
    if (!parseAwsError(response).expired_credentials) return response;
    // Expired between fetch and use (or revoked): fetch afresh and send the
    // same request once more.
    credentials_.invalidate();
  }
}

}  // namespace demarc::aws
