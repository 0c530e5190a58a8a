// The agent as a Type=notify systemd service, with the test in systemd's
// place: a datagram socket in NOTIFY_SOCKET and a watchdog period in
// WATCHDOG_USEC, as systemd passes them. READY comes once the agent runs,
// WATCHDOG pings at half the period while it does, STOPPING on SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "tests/e2e/agent_fixture.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

TEST(Service, NotifiesReadyPingsTheWatchdogAndSaysStopping) {
  TempDir dir;
  auto config = writeAgentConfig(dir,
                                 "telemetry:\n  process_events: false\n  network_events: false\n"
                                 "  privilege_events: false\n  udp_flows: false\n");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = (dir / "notify.sock").string();
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval timeout{.tv_sec = 0, .tv_usec = 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

  auto agent = [&] {
    ScopedEnv env({{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "1000000"}});  // pings every 0.5 s
    return std::make_unique<Subprocess>(agentArgs(config), dir.path());
  }();

  std::vector<std::string> messages;
  auto receive_for = [&](std::chrono::milliseconds span) {
    auto end = std::chrono::steady_clock::now() + span;
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) messages.emplace_back(buf, static_cast<size_t>(n));
    }
  };
  receive_for(3500ms);
  agent->signal(SIGTERM);
  receive_for(1000ms);
  EXPECT_EQ(agent->wait(), 0) << agent->err();
  ::close(fd);

  ASSERT_FALSE(messages.empty()) << agent->err();
  EXPECT_TRUE(messages.front().starts_with("READY=1\nSTATUS=running")) << messages.front();
  size_t pings = 0;
  size_t stopping_at = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i] == "WATCHDOG=1") ++pings;
    if (messages[i].starts_with("STOPPING=1")) stopping_at = i;
  }
  // About 3 s of running at one ping per 0.5 s (the first ping included).
  EXPECT_GE(pings, 5u);
  EXPECT_LE(pings, 9u);
  ASSERT_LT(stopping_at, messages.size()) << "no STOPPING=1";
  for (size_t i = stopping_at + 1; i < messages.size(); ++i) EXPECT_NE(messages[i], "READY=1");
}

// Without NOTIFY_SOCKET (not under systemd) nothing is sent and nothing fails:
// the other end-to-end tests run that way.

}  // namespace
}  // namespace demarc::testing
