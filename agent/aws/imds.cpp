#include "agent/aws/imds.h"

namespace demarc::aws {

ImdsClient::ImdsClient(std::string endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

HttpRequest ImdsClient::request(std::string method, const std::string& path) const {
  HttpRequest r;
  r.method = std::move(method);
  r.url = endpoint_ + path;
  r.connect_timeout = timeout_;
  r.total_timeout = timeout_ * 2;
  r.bypass_proxy = true;
  r.max_response_bytes = 1 << 20;
  return r;
}

Result<std::string> ImdsClient::token(std::chrono::seconds ttl) {
  HttpRequest r = request("PUT", "/latest/api/token");
  r.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", std::to_string(ttl.count()));
  auto response = http_.send(r);
  if (!response.ok()) {
    if (response.error().message().find("imeout") != std::string::npos) {
      return response.error().withContext(
          "IMDSv2 token request timed out; on an instance this usually means the metadata "
          "response hop limit is too low for this network path (containers need 2)");
    }
    return response.error();
  }
  if (response->status != 200 || response->body.empty()) {
    return Error(
        ErrorCode::kUnavailable,
        "PUT " + r.url + ": HTTP " + std::to_string(response->status) + " instead of a token");
  }
  return std::move(response->body);
}

Result<HttpResponse> ImdsClient::get(const std::string& path, const std::string& token) {
  HttpRequest r = request("GET", path);
  r.headers.emplace_back("X-aws-ec2-metadata-token", token);
  return http_.send(r);
}

Result<HttpResponse> ImdsClient::getWithoutToken(const std::string& path) {
  return http_.send(request("GET", path));
}

}  // namespace demarc::aws
