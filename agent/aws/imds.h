#pragma once

#include <chrono>
#include <string>

#include "agent/aws/http_client.h"
#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc::aws {

inline constexpr const char* kImdsEndpoint = "http://169.254.169.254";

// The IMDS endpoint to ask on this host: the configured one, else
// 169.254.169.254 when DMI or the hypervisor UUID says this is an EC2
// instance; otherwise none, and why (asking elsewhere only costs a timeout).
Result<std::string> imdsEndpointFor(const HostRoot& root, const std::string& configured);

// What the instance identity document says, with the document as served
// and AWS's PKCS#7 signature of it (auditors verify it with AWS's public
// certificate for the region).
struct InstanceIdentity {
  std::string instance_id;
  std::string account_id;
  std::string region;
  std::string ami_id;
  std::string document;
  std::string signature;
};

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

  // /latest/dynamic/instance-identity/document and its pkcs7 signature.
  Result<InstanceIdentity> instanceIdentity();

  const std::string& endpoint() const { return endpoint_; }

 private:
  HttpRequest request(std::string method, const std::string& path) const;

  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  HttpClient http_;
};

}  // namespace demarc::aws
