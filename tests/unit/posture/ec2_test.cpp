// EC2 settings against a fake instance metadata service on loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "agent/posture/rule_pack.h"
#include "agent/posture/scanner.h"
#include "tests/support/http_server.h"

namespace demarc::posture {
namespace {

using demarc::v1::CheckStatus;

std::map<std::string, CheckOutcome> scanEc2(const std::string& endpoint) {
  RuleSet set;
  std::string yaml = "pack: ec2\nrules:\n";
  for (const char* s : {"imdsv2_enforced", "instance_profile"}) {
    std::string id = s;
    std::replace(id.begin(), id.end(), '_', '-');
    yaml += "- id: " + id + "\n  title: t\n  severity: high\n  remediation: r\n" +
            "  checks:\n  - ec2: {setting: " + s + "}\n";
  }
  Status added = addRulePack(set, yaml, "ec2.yaml");
  EXPECT_TRUE(added.ok()) << added.error().message();
  ScanOptions options;
  options.imds_endpoint = endpoint;
  options.imds_timeout = std::chrono::milliseconds(300);
  ScanContext context(HostRoot("/"), options);
  std::map<std::string, CheckOutcome> out;
  for (const auto& r : runScan(set, context).results) out[r.rule->rule.id()] = r.outcome;
  return out;
}

// IMDSv2 as EC2 runs it with HttpTokens=required and a role attached.
testing::HttpReply enforcedImds(const testing::HttpExchange& ex) {
  if (ex.method == "PUT" && ex.path == "/latest/api/token") {
    if (ex.headers.count("x-aws-ec2-metadata-token-ttl-seconds") == 0) return {400, ""};
    return {200, "token-123"};
  }
  auto token = ex.headers.find("x-aws-ec2-metadata-token");
  if (token == ex.headers.end() || token->second != "token-123") return {401, ""};
  if (ex.path == "/latest/meta-data/iam/info") {
    return {
        200,
        R"({"Code":"Success","InstanceProfileArn":"arn:aws:iam::111122223333:instance-profile/web","InstanceProfileId":"AIPA"})"};
  }
  return {200, "ami-id\n"};
}

TEST(Ec2Settings, Imdsv2EnforcedAndRoleAttached) {
  testing::HttpServer imds(enforcedImds);
  auto r = scanEc2(imds.url());
  EXPECT_EQ(r["imdsv2-enforced"].status, demarc::v1::CHECK_STATUS_PASS)
      << r["imdsv2-enforced"].observed;
  EXPECT_EQ(r["imdsv2-enforced"].observed, "GET /latest/meta-data/ without a token: HTTP 401");
  EXPECT_EQ(r["instance-profile"].status, demarc::v1::CHECK_STATUS_PASS);
  EXPECT_EQ(r["instance-profile"].observed, "arn:aws:iam::111122223333:instance-profile/web");
  // One token for the scan; metadata asked with it, never without it except the v1 probe.
  int puts = 0;
  for (const auto& ex : imds.requests()) puts += ex.method == "PUT";
  EXPECT_EQ(puts, 1);
}

TEST(Ec2Settings, Imdsv1AllowedAndNoRole) {
  testing::HttpServer imds([](const testing::HttpExchange& ex) -> testing::HttpReply {
    if (ex.method == "PUT") return {200, "t"};
    if (ex.path == "/latest/meta-data/iam/info") return {404, ""};
    return {200, "ami-id\n"};  // answers without a token: IMDSv1 allowed
  });
  auto r = scanEc2(imds.url());
  EXPECT_EQ(r["imdsv2-enforced"].status, demarc::v1::CHECK_STATUS_FAIL);
  EXPECT_NE(r["imdsv2-enforced"].observed.find("IMDSv1 allowed"), std::string::npos);
  EXPECT_EQ(r["instance-profile"].status, demarc::v1::CHECK_STATUS_FAIL);
  EXPECT_EQ(r["instance-profile"].observed, "no instance profile");
}

TEST(Ec2Settings, NoMetadataServiceIsNotApplicable) {
  std::string closed;
  {
    testing::HttpServer gone([](const testing::HttpExchange&) { return testing::HttpReply{}; });
    closed = gone.url();
  }  // the port is closed now
  auto r = scanEc2(closed);
  EXPECT_EQ(r["imdsv2-enforced"].status, demarc::v1::CHECK_STATUS_NOT_APPLICABLE);
  EXPECT_NE(r["imdsv2-enforced"].observed.find("instance metadata did not answer"),
            std::string::npos)
      << r["imdsv2-enforced"].observed;
}

}  // namespace
}  // namespace demarc::posture
