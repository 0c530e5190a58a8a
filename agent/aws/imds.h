#pragma once

#include <chrono>
#include <string>

#include "agent/aws/http_client.h"
#include "agent/core/result.h"

namespace demarc::aws {

inline constexpr const char* kImdsEndpoint = "http://169.254.169.254";

// The EC2 instance metadata service, IMDSv2 only: every data request carries
// a session token obtained by PUT. Never goes through a proxy.
class ImdsClient {
 public:
  ImdsClient(std::string endpoint, std::chrono::milliseconds timeout);

  // PUT /latest/api/token. A timeout here on an instance usually means the
  // response hop limit is too low for this network path (containers); the
  // error says so.
  Result<std::string> token(std::chrono::seconds ttl = std::chrono::seconds(300));
  // GET with the token; returns the response whatever its status.
  Result<HttpResponse> get(const std::string& path, const std::string& token);
  // GET without a token: only used to test whether IMDSv1 is refused.
  Result<HttpResponse> getWithoutToken(const std::string& path);

  const std::string& endpoint() const { return endpoint_; }

 private:
  HttpRequest request(std::string method, const std::string& path) const;

  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  HttpClient http_;
};

}  // namespace demarc::aws
