// `demarc scan` and posture in `demarc run`, as a user runs them.
#include <signal.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "agent/core/encoding.h"
#include "tests/e2e/agent_fixture.h"

namespace demarc::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kRules = DEMARC_SOURCE_DIR "/config/rules";

CommandResult demarc(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), DEMARC_BINARY);
  return runCommand(args, dir.path());
}

// A Debian 12 image with deliberate misconfigurations.
void writeImage(const TempDir& dir) {
  dir.write("image/etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");
  dir.write("image/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n");
  dir.write("image/etc/group", "root:x:0:\nshadow:x:42:\n");
  fs::permissions(
      dir.write("image/etc/shadow", "root:$y$j9T$x:19000:0:99999:7:::\nsshd:!:19000::::::\n"),
      fs::perms(0644));  // weak mode
  dir.write("image/var/lib/dpkg/status",
            "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: "
            "1:9.2p1-2\n");
  dir.write("image/etc/ssh/sshd_config", "PermitRootLogin yes\nX11Forwarding no\n");
  dir.write("image/etc/sysctl.d/99-bad.conf",
            "net.ipv4.ip_forward = 1\nnet.ipv4.tcp_syncookies = 1\n");
}

std::map<std::string, std::string> statuses(const std::string& json) {
  google::protobuf::Struct doc;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &doc).ok()) << json.substr(0, 500);
  std::map<std::string, std::string> out;
  for (const auto& f : doc.fields().at("findings").list_value().values()) {
    const auto& fields = f.struct_value().fields();
    out[fields.at("rule_id").string_value()] = fields.at("status").string_value();
  }
  return out;
}

TEST(Scan, ImageWithMisconfigurationsAsJson) {
  TempDir dir;
  writeImage(dir);
  auto r = demarc(dir, {"scan", "--root", (dir / "image").string(), "--rules", kRules, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // failures at any severity
  auto s = statuses(r.out);
  EXPECT_GE(s.size(), 150u);
  EXPECT_EQ(s["sshd-permit-root-login"], "CHECK_STATUS_FAIL");
  EXPECT_EQ(s["sshd-x11-forwarding"], "CHECK_STATUS_PASS");
  EXPECT_EQ(s["perm-etc-shadow"], "CHECK_STATUS_FAIL");
  EXPECT_EQ(s["sysctl-ipv4-ip-forward"], "CHECK_STATUS_FAIL");
  EXPECT_EQ(s["sysctl-ipv4-tcp-syncookies"], "CHECK_STATUS_PASS");
  EXPECT_EQ(s["firewall-default-deny"], "CHECK_STATUS_NOT_APPLICABLE");
  EXPECT_EQ(s["crond-enabled"], "CHECK_STATUS_NOT_APPLICABLE");  // an RPM-family rule
  EXPECT_EQ(s["accounts-only-root-uid0"], "CHECK_STATUS_PASS");
  EXPECT_NE(r.out.find("\"source\":\"/etc/ssh/sshd_config:1\""), std::string::npos);
  EXPECT_NE(r.out.find("\"nist_800_53\""), std::string::npos);
}

TEST(Scan, TableAndFailOnThresholds) {
  TempDir dir;
  writeImage(dir);
  std::string root = (dir / "image").string();
  auto table = demarc(dir, {"scan", "--root", root, "--rules", kRules, "--rule", "sshd-*"});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.out.find("demarc scan: Debian GNU/Linux 12 at " + root + " (image)"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("FAIL   high     sshd-permit-root-login"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("fix:      Set \"PermitRootLogin no\""), std::string::npos);
  EXPECT_EQ(table.out.find("sysctl-"), std::string::npos) << "--rule filters";
  // No critical rule fails in this image; root login is high.
  EXPECT_EQ(
      demarc(dir, {"scan", "--root", root, "--rules", kRules, "--fail-on", "critical"}).exit_code,
      0);
  EXPECT_EQ(demarc(dir, {"scan", "--root", root, "--rules", kRules, "--fail-on", "high"}).exit_code,
            1);
  dir.write("image/etc/passwd", "root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/root:/bin/bash\n");
  EXPECT_EQ(
      demarc(dir, {"scan", "--root", root, "--rules", kRules, "--fail-on", "critical"}).exit_code,
      1);
}

TEST(Scan, BadRulePackAndBadRootAreUsageErrors) {
  TempDir dir;
  writeImage(dir);
  dir.write("bad.yaml",
            "pack: bad\nrules:\n- id: x\n  title: t\n  severity: high\n  remediation: r\n"
            "  checks:\n  - sysctl: {key: k, expect: {any_of: ['1']}, pattern: 2}\n");
  auto bad = demarc(
      dir, {"scan", "--root", (dir / "image").string(), "--rules", (dir / "bad.yaml").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yaml:8: rules[0].checks[0].sysctl.pattern: unknown key"),
            std::string::npos)
      << bad.err;
  auto noroot = demarc(dir, {"scan", "--root", (dir / "nope").string(), "--rules", kRules});
  EXPECT_EQ(noroot.exit_code, 2);
  EXPECT_NE(noroot.err.find("not a folder"), std::string::npos);
}

// A Debian security tracker feed naming a fix for openssh newer than the
// image's, and one for dpkg newer than any installed version.
constexpr const char* kTrackerFeed = R"({
  "openssh": {"CVE-2099-0001": {"releases": {"bookworm": {
      "status": "resolved", "fixed_version": "1:9.2p1-2+deb12u9", "urgency": "high"}}}},
  "dpkg": {"CVE-2099-0002": {"releases": {"bookworm": {
      "status": "resolved", "fixed_version": "99.0", "urgency": "low"}}}}
})";

TEST(Scan, CveFeedFindingAndItsDigest) {
  TempDir dir;
  writeImage(dir);
  dir.write("image/etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"
            "PRETTY_NAME=\"Debian GNU/Linux 12\"\n");
  dir.write("image/var/lib/dpkg/status",
            "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\n"
            "Source: openssh\nVersion: 1:9.2p1-2\n");
  auto feed = dir.write("tracker.json", kTrackerFeed);
  std::string root = (dir / "image").string();
  auto r = demarc(dir, {"scan", "--root", root, "--rules", kRules, "--rule", "patch-fixable-cves",
                        "--cve-feed", feed.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(statuses(r.out)["patch-fixable-cves"], "CHECK_STATUS_FAIL");
  EXPECT_NE(r.out.find("CVE-2099-0001 in openssh 1:9.2p1-2 (fixed in 1:9.2p1-2+deb12u9)"),
            std::string::npos)
      << r.out;
  std::string sha = toHex(sha256(kTrackerFeed));
  EXPECT_NE(r.out.find("\"cve_feed\":{\"path\":\"" + feed.string() + "\",\"sha256\":\"" + sha),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"kind\":\"cve\",\"name\":\"CVE-2099-0001\""), std::string::npos);
  // Without a feed the rule is not applicable; a broken feed is an error.
  auto none = demarc(
      dir, {"scan", "--root", root, "--rules", kRules, "--rule", "patch-fixable-cves", "--json"});
  EXPECT_EQ(statuses(none.out)["patch-fixable-cves"], "CHECK_STATUS_NOT_APPLICABLE");
  auto broken =
      demarc(dir, {"scan", "--root", root, "--rules", kRules, "--rule", "patch-fixable-cves",
                   "--cve-feed", dir.write("bad.json", "{\"x\": [").string(), "--json"});
  EXPECT_EQ(statuses(broken.out)["patch-fixable-cves"], "CHECK_STATUS_ERROR");
  EXPECT_NE(broken.out.find("bad.json"), std::string::npos);
}

TEST(Run, SealsPostureFindingsInventoryAndSummary) {
  TempDir dir;
  auto config = writeAgentConfig(dir, "", "200ms", "50ms");
  // The real packs, not the fixture's minimal one, and a CVE feed given
  // relative to the config file.
  std::string text = readAll(config);
  size_t from = text.find("rule_packs: [");
  text.replace(from, text.find(']', from) - from + 1, "rule_packs: [" + kRules + "]");
  text += "\n  cve_feed: tracker.json\n";
  dir.write("demarc.yaml", text);
  dir.write("tracker.json", kTrackerFeed);
  Subprocess agent(agentArgs(config), dir.path());
  ASSERT_TRUE(agent.waitForErr("posture scan", 60s)) << agent.err();
  ASSERT_TRUE(agent.waitForErr("heartbeat:", 20s)) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(dir / "evidence")) {
    if (e.is_regular_file()) all += readAll(e.path());
  }
  EXPECT_NE(all.find("\"finding\":{\"rule_id\":\"sshd-permit-root-login\""), std::string::npos);
  EXPECT_NE(all.find("\"inventory\":{\"kind\":\"os\""), std::string::npos);
  EXPECT_NE(all.find("\"scan\":{\"scan_id\":"), std::string::npos);
  EXPECT_NE(all.find("\"rules_digest\":"), std::string::npos);
  if (readAll("/etc/os-release").find("\nID=debian") != std::string::npos) {
    // This host's dpkg is older than the feed's fix.
    EXPECT_NE(all.find("\"cve_feed\":{\"path\":\"" + (dir / "tracker.json").string() +
                       "\",\"sha256\":\"" + toHex(sha256(kTrackerFeed))),
              std::string::npos);
    EXPECT_NE(all.find("CVE-2099-0002 in dpkg"), std::string::npos);
  }
  auto verify = demarc(dir, {"verify", (dir / "evidence").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace
}  // namespace demarc::testing
