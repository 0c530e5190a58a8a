// Loads the real canary probe into the kernel (CI runs as root) and checks
// the decoded event of a real exec.
#include "agent/telemetry/canary_probe.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace demarc::telemetry {
namespace {

using namespace std::chrono_literals;

pid_t spawnTrue() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/true", "true", nullptr);
    ::_exit(127);
  }
  return pid;
}

void expectExecSeen(Hook hook) {
  auto probe =
      CanaryProbe::open({.filter_ppid = static_cast<uint32_t>(::getpid()), .only_hook = hook});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  EXPECT_EQ((*probe)->hook(), hook);
  pid_t child = spawnTrue();
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  std::vector<CanaryEvent> events;
  for (int i = 0; i < 50 && events.empty(); ++i) {
    auto n = (*probe)->poll(100ms, [&](const CanaryEvent& e) { events.push_back(e); });
    ASSERT_TRUE(n.ok()) << n.error().message();
  }
  ASSERT_EQ(events.size(), 1u);  // only our child passes the in-kernel filter
  const CanaryEvent& e = events[0];
  EXPECT_EQ(e.pid, static_cast<uint32_t>(child));
  EXPECT_EQ(e.ppid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(e.uid, ::getuid());
  EXPECT_EQ(e.comm, "true");
  EXPECT_EQ(e.filename, "/bin/true");
  EXPECT_EQ(e.hook, hook);
  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok()) << drops.error().message();
  EXPECT_EQ(*drops, 0u);
}

TEST(CanaryProbe, TpBtfHookDecodesExec) { expectExecSeen(Hook::kTpBtf); }

// The fallback hook for kernels without BTF-typed tracepoints; needs tracefs
// (packaging/dev.sh test mounts it).
TEST(CanaryProbe, TracepointFallbackDecodesExec) { expectExecSeen(Hook::kTracepoint); }

TEST(CanaryProbe, PrefersTpBtf) {
  auto probe = CanaryProbe::open({.filter_ppid = 1, .only_hook = std::nullopt});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  EXPECT_EQ((*probe)->hook(), Hook::kTpBtf);
  EXPECT_EQ(hookName((*probe)->hook()), "tp_btf");
}

}  // namespace
}  // namespace demarc::telemetry
