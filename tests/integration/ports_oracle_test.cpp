// The oracle: every listening socket demarc finds must be what `ss -tulpnH`
// shows on the same host, with the same processes. The test opens its own
// listeners (IPv4 and IPv6, TCP and UDP, loopback and wildcard) so there is
// always something to compare.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "agent/posture/ports.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

int openListener(int type, int family, const char* address, bool v6only = true) {
  // CLOEXEC: the ss child must not inherit (and so also hold) them.
  int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (family == AF_INET6) {
    int flag = v6only ? 1 : 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &flag, sizeof(flag));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, address, &a.sin6_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &a.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  }
  if (type == SOCK_STREAM && ::listen(fd, 4) != 0) return -1;
  return fd;
}

// "tcp 127.0.0.1 5353 pids=1,2"
std::string describe(std::string proto, std::string address, unsigned port,
                     std::set<uint32_t> pids) {
  std::string out = proto + " " + address + " " + std::to_string(port) + " pids=";
  for (uint32_t p : pids) out += std::to_string(p) + ",";
  return out;
}

TEST(PortsOracle, ListenersEqualSsTulpn) {
  // The oracle is not optional: packaging/setup-deps.sh installs iproute2.
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/ss") || std::filesystem::exists("/bin/ss"))
      << "ss (iproute2) is not installed; packaging/setup-deps.sh installs it";
  std::vector<int> fds = {
      openListener(SOCK_STREAM, AF_INET, "127.0.0.1"), openListener(SOCK_STREAM, AF_INET6, "::1"),
      openListener(SOCK_STREAM, AF_INET6, "::", false),
      openListener(SOCK_DGRAM, AF_INET, "0.0.0.0"), openListener(SOCK_DGRAM, AF_INET6, "::1")};
  for (int fd : fds) ASSERT_GE(fd, 0) << "cannot open a test listener";

  // Two snapshots of the whole host cannot be taken at once, and other tests
  // running alongside open and close listeners: the comparison is retried a
  // few times and fails only when every pair of snapshots differs.
  std::set<std::string> expected;
  std::set<std::string> actual;
  size_t ours = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    expected.clear();
    actual.clear();
    ours = 0;
    testing::TempDir dir;
    auto ss = testing::runCommand({"/usr/bin/env", "ss", "-tulpnH"}, dir.path());
    auto scan = scanListeners(HostRoot("/"));
    ASSERT_EQ(ss.exit_code, 0) << ss.err;
    ASSERT_TRUE(scan.ok()) << scan.error().message();

    // tcp LISTEN 0 4 127.0.0.1:38123 0.0.0.0:* users:(("x",pid=12,fd=3))
    std::regex row(R"(^(tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s+\S+\s*(.*)$)");
    std::regex pid_re(R"(pid=(\d+))");
    std::istringstream lines(ss.out);
    std::string line;
    while (std::getline(lines, line)) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(line, m, row)) << "unexpected ss output: " << line;
      std::string address = m[2].str();
      address = address.substr(0, address.find('%'));  // bound to a device: "127.0.0.53%lo"
      if (address == "*" || address == "[::]") address = "::";
      if (address.front() == '[') address = address.substr(1, address.size() - 2);
      std::set<uint32_t> pids;
      std::string users = m[4].str();
      for (std::sregex_iterator it(users.begin(), users.end(), pid_re), end; it != end; ++it) {
        pids.insert(static_cast<uint32_t>(std::stoul((*it)[1])));
      }
      expected.insert(describe(m[1].str(), address, std::stoul(m[3].str()), pids));
    }
    for (const auto& l : scan->listeners) {
      std::set<uint32_t> pids;
      for (const auto& o : l.owners) pids.insert(o.pid);
      if (pids.count(static_cast<uint32_t>(::getpid()))) ++ours;
      actual.insert(describe(l.socket.protocol, l.socket.address, l.socket.port, pids));
    }
    if (actual == expected) break;
  }
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(ours, fds.size()) << "the test's own listeners were not all attributed to it";
  EXPECT_EQ(actual, expected);
  std::printf("ss -tulpnH: %zu listeners; demarc: %zu listeners\n", expected.size(), actual.size());
}

}  // namespace
}  // namespace demarc::posture
