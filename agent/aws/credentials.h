#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/aws/imds.h"
#include "agent/aws/sigv4.h"
#include "agent/core/clock.h"
#include "agent/core/result.h"

namespace demarc::aws {

// Credentials with where they came from and, for temporary ones, when
// they expire.
struct SourcedCredentials {
  Credentials credentials;
  std::optional<SystemTime> expiration;
  std::string source;  // "environment", "/root/.aws/credentials [default]", ...
};

// Reads an environment variable; tests pass their own.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment processEnvironment();

// One place credentials can come from. fetch() answers kNotFound when the
// source is not configured here (the chain then asks the next one); any
// other error means it is configured but failed. Errors never carry
// secrets: no credential endpoint's reply body is ever quoted.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual std::string name() const = 0;
  virtual Result<SourcedCredentials> fetch() = 0;
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::unique_ptr<CredentialSource> environmentSource(Environment env);
// The shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE, default ~/.aws/credentials and ~/.aws/config), profile
// AWS_PROFILE or "default"; static keys only.
std::unique_ptr<CredentialSource> sharedFilesSource(Environment env);
// The container credentials endpoint (ECS, EKS Pod Identity):
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
// AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
std::unique_ptr<CredentialSource> containerSource(
    Environment env, std::string relative_base = "http://169.254.170.2");
// The instance profile role through IMDSv2.
std::unique_ptr<CredentialSource> instanceRoleSource(std::string imds_endpoint,
                                                     std::chrono::milliseconds timeout);

// The standard chain in order: environment, shared files, container
// endpoint, instance role. The first source that is configured is used from
// then on; its credentials are cached and refreshed before they expire,
// one refresh at a time (other callers keep the current credentials while
// they are still valid, or wait for the refresh). Thread-safe.
class CredentialChain {
 public:
  CredentialChain(std::vector<std::unique_ptr<CredentialSource>> sources, const Clock& clock,
                  std::chrono::seconds refresh_before = std::chrono::minutes(5));

  Result<SourcedCredentials> get();
  // After the service said ExpiredToken: the next get() fetches afresh.
  void invalidate();

 private:
  Result<SourcedCredentials> fetch();
  bool fresh(const SourcedCredentials& c, SystemTime now) const;

  std::vector<std::unique_ptr<CredentialSource>> sources_;
  const Clock& clock_;
  std::chrono::seconds refresh_before_;
  std::mutex mu_;
  std::condition_variable refreshed_;
  bool refreshing_ = false;
  CredentialSource* chosen_ = nullptr;
  std::optional<SourcedCredentials> current_;
};

// Parses the JSON that container endpoints and IMDS return for
// credentials (AccessKeyId, SecretAccessKey, Token, Expiration). `what`
// names the endpoint in errors.
Result<SourcedCredentials> parseCredentialJson(std::string_view json, const std::string& what);

}  // namespace demarc::aws
