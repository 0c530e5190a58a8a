// EC2 settings against a fake instance metadata service on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// The EC2 API as a fake: the hop limit it reports, or an error.
class FakeEc2 : public aws::Ec2Queries {
 public:
  explicit FakeEc2(
      Result<aws::InstanceMetadataOptions> options,
      Result<std::vector<aws::SecurityGroup>> groups = std::vector<aws::SecurityGroup>{})
      : options_(std::move(options)), groups_(std::move(groups)) {}
  Result<std::map<std::string, aws::EbsVolume>> describeVolumes(
      const std::vector<std::string>&) override {
    return std::map<std::string, aws::EbsVolume>{};
  }
  Result<aws::InstanceMetadataOptions> metadataOptions() override {
    ++calls;
    return options_;
  }
  Result<std::vector<aws::SecurityGroup>> securityGroups() override {
    ++calls;
    return groups_;
  }
  int calls = 0;

 private:
  Result<aws::InstanceMetadataOptions> options_;
  Result<std::vector<aws::SecurityGroup>> groups_;
};

CheckOutcome hopLimit(const std::string& endpoint, std::shared_ptr<aws::Ec2Queries> api,
                      const std::string& max = "");

CheckOutcome runSetting(const std::string& endpoint, std::shared_ptr<aws::Ec2Queries> api,
                        const std::string& setting) {
  RuleSet set;
  std::string yaml =
      "pack: ec2\nrules:\n- id: r\n  title: t\n  severity: medium\n  remediation: r\n"
      "  checks:\n  - ec2: {setting: " +
      setting + "}\n";
  Status added = addRulePack(set, yaml, "ec2.yaml");
  EXPECT_TRUE(added.ok()) << added.error().message();
  ScanOptions options;
  options.imds_endpoint = endpoint;
  options.imds_timeout = std::chrono::milliseconds(300);
  options.ec2_api = std::move(api);
  ScanContext context(HostRoot("/"), options);
  return runScan(set, context).results.at(0).outcome;
}

CheckOutcome hopLimit(const std::string& endpoint, std::shared_ptr<aws::Ec2Queries> api,
                      const std::string& max) {
  return runSetting(endpoint, std::move(api),
                    "imds_hop_limit" + (max.empty() ? std::string() : ", max_hop_limit: " + max));
}

TEST(Ec2Settings, ImdsHopLimitFromDescribeInstances) {
  testing::HttpServer imds(enforcedImds);
  auto one =
      hopLimit(imds.url(),
               std::make_shared<FakeEc2>(aws::InstanceMetadataOptions{"required", "enabled", 1}));
  EXPECT_EQ(one.status, demarc::v1::CHECK_STATUS_PASS) << one.observed;
  EXPECT_EQ(one.observed, "HttpPutResponseHopLimit 1");
  EXPECT_EQ(one.source, "ec2:DescribeInstances");
  auto two =
      hopLimit(imds.url(),
               std::make_shared<FakeEc2>(aws::InstanceMetadataOptions{"required", "enabled", 2}));
  EXPECT_EQ(two.status, demarc::v1::CHECK_STATUS_FAIL);
  EXPECT_EQ(two.expected, "HttpPutResponseHopLimit at most 1");
  auto containers = hopLimit(
      imds.url(), std::make_shared<FakeEc2>(aws::InstanceMetadataOptions{"required", "enabled", 2}),
      "2");
  EXPECT_EQ(containers.status, demarc::v1::CHECK_STATUS_PASS);
  auto denied = hopLimit(imds.url(), std::make_shared<FakeEc2>(Error(
                                         ErrorCode::kUnavailable,
                                         "ec2:DescribeInstances: HTTP 403 UnauthorizedOperation")));
  EXPECT_EQ(denied.status, demarc::v1::CHECK_STATUS_ERROR);
  EXPECT_NE(denied.observed.find("UnauthorizedOperation"), std::string::npos) << denied.observed;
  auto none = hopLimit(imds.url(), nullptr);
  EXPECT_EQ(none.status, demarc::v1::CHECK_STATUS_ERROR);
  // Off EC2 the check does not apply and asks nothing.
  auto fake = std::make_shared<FakeEc2>(aws::InstanceMetadataOptions{"required", "enabled", 1});
  auto off = hopLimit("http://127.0.0.1:9", fake);
  EXPECT_EQ(off.status, demarc::v1::CHECK_STATUS_NOT_APPLICABLE) << off.observed;
  EXPECT_EQ(fake->calls, 0);
}

// A listener of this test on all addresses, and one on loopback.
struct TestListeners {
  TestListeners() {
    for (auto [fd, address] : {std::pair{&any, INADDR_ANY}, {&loopback, INADDR_LOOPBACK}}) {
      *fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(address);
      socklen_t len = sizeof(addr);
      ::bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      ::listen(*fd, 1);
      ::getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
      (fd == &any ? any_port : loopback_port) = ntohs(addr.sin_port);
    }
  }
  ~TestListeners() {
    ::close(any);
    ::close(loopback);
  }
  int any = -1, loopback = -1;
  int any_port = 0, loopback_port = 0;
};

aws::SecurityGroup group(const std::string& id, std::vector<aws::IngressRule> rules) {
  return {id, id + "-name", std::move(rules)};
}

TEST(Ec2Settings, SecurityGroupsAgainstListeners) {
  testing::HttpServer imds(enforcedImds);
  TestListeners ours;
  std::string me = "tcp/" + std::to_string(ours.any_port);
  // Open to the world on our port: a finding that names port, process and group.
  auto world = std::make_shared<FakeEc2>(
      aws::InstanceMetadataOptions{},
      std::vector<aws::SecurityGroup>{
          group("sg-ssh", {{"tcp", 22, 22, {"10.0.0.0/8"}, {}}}),
          group("sg-web", {{"tcp", ours.any_port, ours.any_port, {"::/0", "0.0.0.0/0"}, {}}})});
  auto open = runSetting(imds.url(), world, "security_group_exposure");
  EXPECT_EQ(open.status, demarc::v1::CHECK_STATUS_FAIL) << open.observed;
  EXPECT_NE(open.observed.find(me + " (unit_posture) open to ::/0 in sg-web (sg-web-name)"),
            std::string::npos)
      << open.observed;
  EXPECT_NE(open.source.find("ec2:DescribeSecurityGroups sg-ssh sg-web"), std::string::npos);
  // Only a private range admits it; the loopback listener never counts.
  auto restricted = std::make_shared<FakeEc2>(
      aws::InstanceMetadataOptions{},
      std::vector<aws::SecurityGroup>{group("sg-all", {{"-1", -1, -1, {"10.0.0.0/8"}, {}}})});
  auto fine = runSetting(imds.url(), restricted, "security_group_exposure");
  EXPECT_EQ(fine.status, demarc::v1::CHECK_STATUS_PASS) << fine.observed;
  EXPECT_EQ(fine.observed.find(me), std::string::npos) << fine.observed;
  EXPECT_EQ(fine.observed.find("tcp/" + std::to_string(ours.loopback_port)), std::string::npos);
  // No rule for it at all: blocked by every group, said so.
  auto none = std::make_shared<FakeEc2>(
      aws::InstanceMetadataOptions{},
      std::vector<aws::SecurityGroup>{group("sg-ssh", {{"tcp", 22, 22, {"0.0.0.0/0"}, {}}})});
  auto blocked = runSetting(imds.url(), none, "security_group_exposure");
  EXPECT_NE(blocked.observed.find("blocked by every group: "), std::string::npos)
      << blocked.observed;
  EXPECT_NE(blocked.observed.find(me + " (unit_posture)"), std::string::npos) << blocked.observed;
  auto failing = std::make_shared<FakeEc2>(
      aws::InstanceMetadataOptions{},
      Error(ErrorCode::kUnavailable, "ec2:DescribeSecurityGroups: HTTP 403 UnauthorizedOperation"));
  EXPECT_EQ(runSetting(imds.url(), failing, "security_group_exposure").status,
            demarc::v1::CHECK_STATUS_ERROR);
}

}  // namespace
}  // namespace demarc::posture
