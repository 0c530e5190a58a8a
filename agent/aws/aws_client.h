#pragma once

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <string_view>

#include "agent/aws/credentials.h"
#include "agent/aws/http_client.h"
#include "agent/aws/sigv4.h"
#include "agent/core/clock.h"
#include "agent/core/result.h"

namespace demarc::aws {

struct AwsClientOptions {
  std::string region;
  // Service ("s3", "logs", "ec2") -> base URL used instead of the public
  // endpoint: VPC interface endpoints, private partitions, tests.
  std::map<std::string, std::string> endpoints;
  bool fips = false;      // the -fips endpoints (US and Canada regions)
  std::string ca_bundle;  // PEM CAs to trust instead of the system store
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{60000};
  // Attempts per request when the service is throttling or failing (5xx) or
  // the connection fails, with jittered backoff between them. The agent's
  // sinks keep 1 (the pipeline retries without end); one-shot commands
  // such as `demarc verify` try a few times.
  int max_attempts = 1;
};

// The public endpoint of a service in a region:
// https://SERVICE[-fips].REGION.amazonaws.com (amazonaws.com.cn in China).
std::string publicEndpoint(std::string_view service, std::string_view region, bool fips);

// An error reply from an AWS service, from the XML (S3, EC2) or JSON
// (CloudWatch Logs) body, with how the caller should react.
struct AwsError {
  long status = 0;
  std::string code;  // "SlowDown", "ThrottlingException", "ExpiredToken", ...
  std::string message;
  std::string request_id;
  bool throttled = false;  // back off, then retry
  bool retryable = false;  // throttled, 5xx, timeouts: retry later
  bool expired_credentials = false;

  std::string describe() const;  // "HTTP 403 AccessDenied: message (request id R)"
};
AwsError parseAwsError(const HttpResponse& response);

// Sends signed requests to AWS services: endpoint resolution, signing with
// credentials from the chain, and the one retry that does not count as one:
// when a service says the credentials expired, they are fetched afresh and
// the same request is signed and sent again. Not thread-safe: one per
// thread (each keeps its own connections).
class AwsClient {
 public:
  AwsClient(AwsClientOptions options, CredentialChain& credentials, const Clock& clock);

  // The base URL requests to `service` go to.
  std::string endpoint(std::string_view service) const;
  // Signs and sends `request` (its url is complete: endpoint() + encoded
  // path and query). Any HTTP status comes back as a response; transport
  // failures and missing credentials are errors.
  Result<HttpResponse> send(std::string_view service, HttpRequest request);

 private:
  Result<HttpResponse> sendOnce(std::string_view service, HttpRequest request);

  AwsClientOptions options_;
  CredentialChain& credentials_;
  const Clock& clock_;
  SigV4Signer signer_;
  HttpClient http_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace demarc::aws
