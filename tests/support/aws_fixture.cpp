#include "tests/support/aws_fixture.h"

namespace demarc::testing {

std::unique_ptr<aws::CredentialChain> staticCredentials(const Clock& clock) {
  std::vector<std::unique_ptr<aws::CredentialSource>> sources;
  sources.push_back(
      aws::environmentSource([](const std::string& name) -> std::optional<std::string> {
        if (name == "AWS_ACCESS_KEY_ID") return "AKIATEST";
        if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
        return std::nullopt;
      }));
  return std::make_unique<aws::CredentialChain>(std::move(sources), clock);
}

aws::AwsClientOptions fakeEndpoint(const std::string& service, const std::string& url) {
  aws::AwsClientOptions options;
  options.region = "eu-west-1";
  options.endpoints[service] = url;
  return options;
}

}  // namespace demarc::testing
