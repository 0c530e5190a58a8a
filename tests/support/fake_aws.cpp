#include "tests/support/fake_aws.h"

#include <signal.h>

#include <stdexcept>

#include "agent/aws/http_client.h"
#include "agent/aws/sigv4.h"
#include "agent/core/text.h"

namespace demarc::testing {
namespace {

std::string control(const std::string& method, const std::string& url, std::string body = "") {
  aws::HttpClient http;
  aws::HttpRequest r;
  r.method = method;
  r.url = url;
  r.body = std::move(body);
  r.bypass_proxy = true;
  r.max_response_bytes = 1 << 30;
  auto reply = http.send(r);
  if (!reply.ok()) throw std::runtime_error("fake_aws: " + reply.error().message());
  if (reply->status != 200) {
    throw std::runtime_error("fake_aws: " + url + ": HTTP " + std::to_string(reply->status));
  }
  return reply->body;
}

}  // namespace

FakeAws::FakeAws(std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   DEMARC_SOURCE_DIR "/tests/support/fake_aws.py", "--key",
                                   "AKIATEST=secret"};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<Subprocess>(argv, dir_.path());
  if (!process_->waitForOut("\n", std::chrono::seconds(20))) {
    throw std::runtime_error("fake_aws.py did not start: " + process_->err());
  }
  std::string out = process_->out();
  url_ =
      "http://127.0.0.1:" + std::string(trimSpace(std::string_view(out).substr(out.find(' ') + 1)));
}

FakeAws::~FakeAws() {
  process_->signal(SIGKILL);
  process_->wait();
}

void FakeAws::inject(const nlohmann::json& faults) const {
  control("POST", url_ + "/__fake/faults", faults.dump());
}

nlohmann::json FakeAws::state() const {
  return nlohmann::json::parse(control("GET", url_ + "/__fake/state"));
}

std::string FakeAws::object(const std::string& bucket, const std::string& key) const {
  return control("GET", url_ + "/__fake/object?bucket=" + aws::uriEncode(bucket, false) +
                            "&key=" + aws::uriEncode(key, false));
}

}  // namespace demarc::testing
