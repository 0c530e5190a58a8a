#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::testing {

// tests/support/fake_aws.py in a child process: S3, CloudWatch Logs, EC2 and
// IMDSv2 on one loopback port, checking every request's signature with
// botocore. It knows the keys AKIATEST/secret and those passed in `keys`
// ("ID=SECRET"), and the role credentials its IMDS hands out.
class FakeAws {
 public:
  explicit FakeAws(std::vector<std::string> args = {});
  ~FakeAws();
  FakeAws(const FakeAws&) = delete;
  FakeAws& operator=(const FakeAws&) = delete;

  const std::string& url() const { return url_; }
  // Faults for the next matching requests (see fake_aws.py), e.g.
  // {{{"action", "PutObject"}, {"kind", "slowdown"}, {"times", 2}}}.
  void inject(const nlohmann::json& faults) const;
  // counts, violations, conflicts, in_flight, faults_left, objects.
  nlohmann::json state() const;
  std::string object(const std::string& bucket, const std::string& key) const;

 private:
  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  std::string url_;
};

}  // namespace demarc::testing
