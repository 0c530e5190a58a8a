#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/core/result.h"

typedef void CURL;

namespace demarc::aws {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{10000};
  // Never through HTTPS_PROXY/HTTP_PROXY (instance metadata must not be).
  bool bypass_proxy = false;
  // PEM file of the CAs to trust instead of the system store (private
  // endpoints); verification itself is never turned off.
  std::string ca_bundle;
  size_t max_response_bytes = 16 << 20;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// One libcurl easy handle, reused across requests so connections are kept.
// TLS peer and host verification stay on; errors say what failed and where.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> send(const HttpRequest& request);

 private:
  struct Deleter {
    void operator()(CURL* curl) const;
  };
  std::unique_ptr<CURL, Deleter> curl_;
};

}  // namespace demarc::aws
