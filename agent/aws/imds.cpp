#include "agent/aws/imds.h"

#include <nlohmann/json.hpp>

#include "agent/core/text.h"

namespace demarc::aws {

Result<std::string> imdsEndpointFor(const HostRoot& root, const std::string& configured) {
  if (!root.isLive()) {
    return Error(ErrorCode::kUnavailable, "scanning an image, not a running instance");
  }
  if (!configured.empty()) return configured;
  // Nitro and Xen instances say so in DMI.
  auto vendor = root.readLine("/sys/class/dmi/id/sys_vendor");
  auto uuid = root.readLine("/sys/hypervisor/uuid");
  auto board = root.readLine("/sys/class/dmi/id/board_vendor");
  bool looks_ec2 = (vendor.ok() && *vendor == "Amazon EC2") ||
                   (board.ok() && *board == "Amazon EC2") ||
                   (uuid.ok() && uuid->starts_with("ec2"));
  if (!looks_ec2) {
    return Error(ErrorCode::kUnavailable, "not an EC2 instance (/sys/class/dmi/id/sys_vendor is '" +
                                              (vendor.ok() ? *vendor : std::string("unreadable")) +
                                              "')");
  }
  return std::string(kImdsEndpoint);
}

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

Result<InstanceIdentity> ImdsClient::instanceIdentity() {
  DEMARC_ASSIGN_OR_RETURN(std::string t, token());
  const std::string base = "/latest/dynamic/instance-identity/";
  auto fetch = [&](const std::string& name) -> Result<std::string> {
    DEMARC_ASSIGN_OR_RETURN(HttpResponse r, get(base + name, t));
    if (r.status != 200) {
      return Error(ErrorCode::kUnavailable,
                   "instance metadata " + base + name + ": HTTP " + std::to_string(r.status));
    }
    return std::move(r.body);
  };
  InstanceIdentity out;
  DEMARC_ASSIGN_OR_RETURN(out.document, fetch("document"));
  auto doc = nlohmann::json::parse(out.document, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error(ErrorCode::kCorrupt, "instance metadata " + base + "document: not a JSON object");
  }
  auto field = [&](const char* name) {
    auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.instance_id = field("instanceId");
  out.account_id = field("accountId");
  out.region = field("region");
  out.ami_id = field("imageId");
  if (out.instance_id.empty() || out.account_id.empty() || out.region.empty()) {
    return Error(ErrorCode::kCorrupt,
                 "instance metadata " + base + "document: no instanceId, accountId or region");
  }
  DEMARC_ASSIGN_OR_RETURN(std::string pkcs7, fetch("pkcs7"));
  out.signature = std::string(trimSpace(pkcs7));
  return out;
}

}  // namespace demarc::aws
