// Checks that need a running kernel, on this machine: the host firewall
// (inside a fresh network namespace, so the machine's own rules are left
// alone) and the listener policy.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/agent_fixture.h"

namespace demarc::testing {
namespace {

const std::string kRules = DEMARC_SOURCE_DIR "/config/rules";

// Runs the firewall rule in a new network namespace after loading `ruleset`.
CommandResult firewallScan(const TempDir& dir, const std::string& ruleset) {
  auto rules = dir.write("ruleset.nft", ruleset);
  std::string script =
      (ruleset.empty() ? std::string() : "/usr/sbin/nft -f " + rules.string() + " && ") + "exec " +
      DEMARC_BINARY + " scan --rules " + kRules + " --rule firewall-default-deny --all";
  return runCommand({"/usr/bin/unshare", "--net", "/bin/sh", "-c", script}, dir.path());
}

TEST(LiveFirewall, NoRulesMeansInboundIsAccepted) {
  TempDir dir;
  auto r = firewallScan(dir, "");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL   high     firewall-default-deny"), std::string::npos) << r.out;
}

TEST(LiveFirewall, NftablesInputPolicyDropPasses) {
  TempDir dir;
  auto r = firewallScan(dir,
                        "table inet filter {\n"
                        "  chain input { type filter hook input priority 0; policy drop;\n"
                        "    iif lo accept\n    ct state established,related accept\n  }\n}\n");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS   high     firewall-default-deny"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nft inet filter input policy drop"), std::string::npos) << r.out;
}

TEST(LiveFirewall, Ipv4OnlyDropLeavesIpv6Open) {
  TempDir dir;
  auto r = firewallScan(dir,
                        "table ip filter {\n"
                        "  chain input { type filter hook input priority 0; policy drop; }\n}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("IPv6 inbound accepted by default"), std::string::npos) << r.out;
}

// Legacy xtables, read through the same getsockopt calls iptables uses.
TEST(LiveFirewall, LegacyIptablesPolicies) {
  TempDir dir;
  std::string scan = std::string("exec ") + DEMARC_BINARY + " scan --rules " + kRules +
                     " --rule firewall-default-deny --all";
  auto drop_v4 = runCommand({"/usr/bin/unshare", "--net", "/bin/sh", "-c",
                             "/usr/sbin/iptables-legacy -P INPUT DROP && " + scan},
                            dir.path());
  EXPECT_EQ(drop_v4.exit_code, 1) << drop_v4.out << drop_v4.err;
  EXPECT_NE(drop_v4.out.find("iptables-legacy filter INPUT policy DROP"), std::string::npos)
      << drop_v4.out;
  EXPECT_NE(drop_v4.out.find("IPv6 inbound accepted by default"), std::string::npos);
  auto drop_both = runCommand(
      {"/usr/bin/unshare", "--net", "/bin/sh", "-c",
       "/usr/sbin/iptables-legacy -P INPUT DROP && /usr/sbin/ip6tables-legacy -P INPUT DROP && " +
           scan},
      dir.path());
  EXPECT_EQ(drop_both.exit_code, 0) << drop_both.out << drop_both.err;
  EXPECT_NE(drop_both.out.find("ip6tables-legacy filter INPUT policy DROP"), std::string::npos)
      << drop_both.out;
}

TEST(LiveListeners, UnlistedListenerFailsAndAllowedOnePasses) {
  TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string port = std::to_string(ntohs(a.sin_port));
  auto scan = [&](const std::string& allowed) {
    auto config = writeAgentConfig(dir, "  allowed_listeners:\n" + allowed);
    return runCommand({DEMARC_BINARY, "scan", "--config", config.string(), "--rules", kRules,
                       "--rule", "net-listeners-allowed", "--all"},
                      dir.path());
  };
  auto strict = scan("  - {protocol: udp, port: 1}\n");
  EXPECT_NE(strict.out.find("FAIL   high     net-listeners-allowed"), std::string::npos)
      << strict.out << strict.err;
  EXPECT_NE(strict.out.find("tcp 0.0.0.0:" + port), std::string::npos) << strict.out;
  auto allowed = scan("  - {protocol: tcp, port: " + port + ", address: 0.0.0.0}\n");
  EXPECT_EQ(allowed.out.find("tcp 0.0.0.0:" + port), std::string::npos) << allowed.out;
  ::close(fd);
}

}  // namespace
}  // namespace demarc::testing
