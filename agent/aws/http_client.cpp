#include "agent/aws/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace demarc::aws {
namespace {

struct Transfer {
  HttpResponse* response;
  size_t limit;
  bool overflow = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response->body.size() + n > t->limit) {
    t->overflow = true;
    return 0;  // aborts the transfer
  }
  t->response->body.append(data, n);
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    t->response->headers[name] = std::string(value);
  }
  return size * count;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

void HttpClient::Deleter::operator()(CURL* curl) const { curl_easy_cleanup(curl); }

HttpClient::HttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_.reset(curl_easy_init());
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  if (!curl_) return Error(ErrorCode::kInternal, "libcurl could not create a handle");
  CURL* c = curl_.get();
  curl_easy_reset(c);
  HttpResponse response;
  Transfer transfer{&response, request.max_response_bytes};
  curl_slist* list = nullptr;
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next != nullptr) list = next;
    return next != nullptr;
  };
  bool built = true;
  for (const auto& [name, value] : request.headers) built = built && add(name + ": " + value);
  // Without this libcurl adds "Expect: 100-continue" to larger bodies.
  built = built && add("Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);
  if (!built) return Error(ErrorCode::kInternal, "out of memory building request headers");
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!request.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_bundle.c_str());
  // Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (libcurl reads them).
  if (request.bypass_proxy) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = curl_easy_perform(c);
  if (transfer.overflow) {
    return Error(ErrorCode::kInvalidArgument,
                 request.method + " " + request.url + ": response larger than " +
                     std::to_string(request.max_response_bytes) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Error(ErrorCode::kUnavailable,
                 request.method + " " + request.url + ": timed out (" +
                     (response.headers.empty() ? "no reply" : "the reply stopped") +
                     "; limits: connect " + std::to_string(request.connect_timeout.count()) +
                     " ms, whole request " + std::to_string(request.total_timeout.count()) +
                     " ms)");
  }
  if (rc != CURLE_OK) {
    return Error(ErrorCode::kUnavailable,
                 request.method + " " + request.url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace demarc::aws
