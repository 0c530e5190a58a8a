// `demarc watch` as a user runs it: the real probe, real processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/e2e/agent_fixture.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

TEST(Watch, PrintsExecsAsJsonLinesAndStopsOnSigint) {
  TempDir dir;
  Subprocess watch({DEMARC_BINARY, "watch", "--json", "--type", "exec", "--comm", "true"},
                   dir.path());
  ASSERT_TRUE(watch.waitForErr("Ctrl-C to stop", 20s)) << watch.err();
  auto r = runCommand({"/bin/true", "watch-marker-1", "with space"}, dir.path());
  ASSERT_EQ(r.exit_code, 0);
  ASSERT_TRUE(watch.waitForOut("watch-marker-1", 10s)) << watch.out() << watch.err();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(), 0) << watch.err();
  std::string out = watch.out();
  EXPECT_NE(out.find("\"type\":\"exec\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"args\":[\"/bin/true\",\"watch-marker-1\",\"with space\"]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"filename\":\"/bin/true\""), std::string::npos);
  EXPECT_EQ(out.find("\"type\":\"fork\""), std::string::npos);  // filtered by --type
  // Readable lines by default.
  Subprocess lines({DEMARC_BINARY, "watch", "--comm", "true"}, dir.path());
  ASSERT_TRUE(lines.waitForErr("Ctrl-C to stop", 20s)) << lines.err();
  ASSERT_EQ(runCommand({"/bin/true", "watch-marker-2"}, dir.path()).exit_code, 0);
  ASSERT_TRUE(lines.waitForOut("watch-marker-2", 10s)) << lines.out();
  lines.signal(SIGTERM);
  EXPECT_EQ(lines.wait(), 0);
  EXPECT_NE(lines.out().find(" exec "), std::string::npos) << lines.out();
  EXPECT_NE(lines.out().find("/bin/true watch-marker-2"), std::string::npos) << lines.out();
}

// TCP events and UDP flows (printed when watch stops, at the latest).
TEST(Watch, PrintsTcpEventsAndUdpFlows) {
  TempDir dir;
  Subprocess watch({DEMARC_BINARY, "watch", "--json", "--type", "tcp", "--type", "udp"},
                   dir.path());
  ASSERT_TRUE(watch.waitForErr("Ctrl-C to stop", 20s)) << watch.err();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string tcp_port = std::to_string(ntohs(addr.sin_port));
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
  int server = ::accept(listener, nullptr, nullptr);
  for (int fd : {client, server, listener}) ::close(fd);
  // A datagram to a socket of our own: one flow out, one in.
  int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in own{};
  own.sin_family = AF_INET;
  own.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t own_len = sizeof(own);
  ASSERT_EQ(::bind(udp, reinterpret_cast<sockaddr*>(&own), own_len), 0);
  ASSERT_EQ(::getsockname(udp, reinterpret_cast<sockaddr*>(&own), &own_len), 0);
  ASSERT_EQ(::sendto(udp, "ping", 4, 0, reinterpret_cast<sockaddr*>(&own), own_len), 4);
  char buf[8];
  ASSERT_EQ(::recv(udp, buf, sizeof(buf), 0), 4);
  ::close(udp);
  std::string udp_port = std::to_string(ntohs(own.sin_port));
  ASSERT_TRUE(watch.waitForOut("\"remote_port\":" + tcp_port, 10s)) << watch.out();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(), 0) << watch.err();
  std::string out = watch.out();
  EXPECT_NE(out.find("\"type\":\"connect\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"type\":\"accept\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"type\":\"udp\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"remote_port\":" + udp_port + ",\"packets_sent\":1,\"bytes_sent\":4"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("\"type\":\"exec\""), std::string::npos);
}

// `demarc run` seals the same events as evidence that verifies.
TEST(Run, SealsProcessEvents) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  Subprocess agent(agentArgs(config), dir.path());
  ASSERT_TRUE(agent.waitForErr(
      "recording process, TCP, privilege and UDP flow events via tp_btf hooks", 30s))
      << agent.err();
  ASSERT_EQ(runCommand({"/bin/sh", "-c", "/bin/true run-marker-7 && exit 3"}, dir.path()).exit_code,
            3);
  // A privilege change: setpriv (util-linux, essential) drops to nobody.
  ASSERT_EQ(runCommand({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "/bin/true"},
                       dir.path())
                .exit_code,
            0);
  // A loopback connection with 5 bytes one way.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
  int server = ::accept(listener, nullptr, nullptr);
  ASSERT_EQ(::write(client, "hello", 5), 5);
  char buf[5];
  ASSERT_EQ(::read(server, buf, 5), 5);
  for (int fd : {client, server, listener}) ::close(fd);
  std::string port = std::to_string(ntohs(addr.sin_port));
  ASSERT_TRUE(agent.waitForErr("heartbeat:", 20s)) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "evidence")) {
    if (e.is_regular_file()) all += readAll(e.path());
  }
  EXPECT_NE(all.find("\"argv\":[\"/bin/true\",\"run-marker-7\"]"), std::string::npos);
  EXPECT_NE(all.find("\"kind\":\"KIND_EXEC\""), std::string::npos);
  EXPECT_NE(all.find("\"kind\":\"KIND_FORK\""), std::string::npos);
  EXPECT_NE(all.find("\"exit_code\":3"), std::string::npos);
  EXPECT_NE(all.find("\"kind\":\"KIND_ACCEPT\""), std::string::npos);
  EXPECT_NE(all.find("\"privilege\":{\"kind\":\"setuid\",\"syscall\":\"setresuid\""),
            std::string::npos);
  // The marker's exec carries its ancestry: the shell that ran it first.
  size_t marker = all.find("\"argv\":[\"/bin/true\",\"run-marker-7\"]");
  ASSERT_NE(marker, std::string::npos);
  std::string line = all.substr(marker, all.find('\n', marker) - marker);
  EXPECT_NE(line.find("\"ancestry\":[{\"pid\":"), std::string::npos) << line;
  EXPECT_NE(line.find("\"executable\":\"/bin/sh\""), std::string::npos) << line;
  EXPECT_NE(all.find("\"remote_port\":" + port + ",\"bytes_sent\":\"5\""), std::string::npos)
      << "the client's close with the bytes it sent";
  auto verify = runCommand({DEMARC_BINARY, "verify", (dir / "evidence").string()}, dir.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace
}  // namespace demarc::testing
