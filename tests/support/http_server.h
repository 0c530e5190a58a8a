#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace demarc::testing {

struct HttpExchange {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A one-thread HTTP/1.1 server on 127.0.0.1 for tests: one request per
// connection, replies from the handler, every request kept for assertions.
class HttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpExchange&)>;
  explicit HttpServer(Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpExchange> requests() const;

 private:
  void serve();

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<HttpExchange> requests_;
  std::thread thread_;
};

}  // namespace demarc::testing
