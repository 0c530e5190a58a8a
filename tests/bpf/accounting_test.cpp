// Every event is accounted for: with the probe restricted (in the kernel)
// to a fresh cgroup in which a known number of processes are forked, the
// events seen plus the events counted as dropped (ring buffer full) or
// throttled (rate limit) equal the events generated, exactly. The comm and
// uid filters work in the same setting.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "agent/telemetry/cgroups.h"
#include "agent/telemetry/telemetry_probe.h"

namespace demarc::telemetry {
namespace {

using namespace std::chrono_literals;

// A cgroup v2 directory made for one test and removed after it.
class ScratchCgroup {
 public:
  ScratchCgroup() {
    auto mount = cgroup2Mount();
    if (mount.ok()) make(*mount);
  }
  // One inside another.
  explicit ScratchCgroup(const ScratchCgroup& parent) { make(parent.path()); }
  ~ScratchCgroup() { ::rmdir(path_.c_str()); }
  uint64_t id() const { return id_; }
  const std::string& path() const { return path_; }

 private:
  void make(const std::string& parent) {
    path_ = parent + "/demarc-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n_);
    std::filesystem::create_directory(path_);
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) id_ = st.st_ino;
  }

  static inline int n_ = 0;
  std::string path_;
  uint64_t id_ = 0;
};

// A child joins the cgroup (and runs `setup`) and forks `n` children that
// exit at once; it exits after them. Inside the cgroup that makes n forks
// and n + 1 exits.
void forkStormIn(const ScratchCgroup& cgroup, int n, const std::function<bool()>& setup = {}) {
  pid_t child = ::fork();
  if (child == 0) {
    {
      std::ofstream procs(cgroup.path() + "/cgroup.procs");
      procs << ::getpid() << std::flush;
      if (!procs) ::_exit(100);
    }
    if (setup && !setup()) ::_exit(102);
    for (int i = 0; i < n; ++i) {
      pid_t p = ::fork();
      if (p == 0) ::_exit(0);
      if (p < 0) ::_exit(101);
      ::waitpid(p, nullptr, 0);
    }
    ::_exit(0);
  }
  int status = -1;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

struct Counts {
  uint64_t forks = 0;
  uint64_t exits = 0;
};

Counts drain(TelemetryProbe& probe) {
  Counts seen;
  auto sink = [&](Event&& e) {
    if (std::holds_alternative<ForkEvent>(e)) ++seen.forks;
    if (std::holds_alternative<ExitEvent>(e)) ++seen.exits;
  };
  // The events are all in the ring already; a few empty polls make sure.
  int empty = 0;
  while (empty < 3) {
    auto n = probe.poll(20ms, sink);
    EXPECT_TRUE(n.ok());
    empty = n.ok() && *n == 0 ? empty + 1 : 0;
  }
  return seen;
}

TEST(Accounting, RingBufferOverflowIsCountedExactly) {
  ScratchCgroup cgroup;
  ASSERT_NE(cgroup.id(), 0u) << "no cgroup v2 hierarchy to make a scratch cgroup in";
  // One page of ring buffer and nobody reading it while 300 processes come
  // and go: most of the 601 events cannot fit.
  auto probe = TelemetryProbe::open({.ring_buffer_bytes = 4096,
                                     .network = false,
                                     .privilege = false,
                                     .udp = false,
                                     .filters = {.only_cgroups = {cgroup.id()}}});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  constexpr int kForks = 300;
  forkStormIn(cgroup, kForks);
  Counts seen = drain(**probe);
  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok()) << drops.error().message();
  uint64_t dropped_forks = drops->ofType(kEventFork);
  uint64_t dropped_exits = drops->ofType(kEventExit);
  EXPECT_GT(dropped_forks + dropped_exits, 0u) << "the ring buffer never overflowed";
  EXPECT_GT(seen.forks + seen.exits, 0u);
  EXPECT_EQ(seen.forks + dropped_forks, uint64_t{kForks});
  EXPECT_EQ(seen.exits + dropped_exits, uint64_t{kForks} + 1);
  auto throttled = (*probe)->throttled();
  ASSERT_TRUE(throttled.ok());
  EXPECT_EQ(throttled->total(), 0u);
}

TEST(Accounting, RateLimitCountsWhatItThrottles) {
  ScratchCgroup cgroup;
  ASSERT_NE(cgroup.id(), 0u);
  auto probe = TelemetryProbe::open({.network = false,
                                     .privilege = false,
                                     .udp = false,
                                     .filters = {.only_cgroups = {cgroup.id()}, .rate_limit = 20}});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  constexpr int kForks = 200;
  auto start = std::chrono::steady_clock::now();
  forkStormIn(cgroup, kForks);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Counts seen = drain(**probe);
  auto throttled = (*probe)->throttled();
  ASSERT_TRUE(throttled.ok());
  uint64_t throttled_forks = throttled->ofType(kEventFork);
  uint64_t throttled_exits = throttled->ofType(kEventExit);
  EXPECT_GT(throttled_forks, 0u);
  EXPECT_EQ(seen.forks + throttled_forks, uint64_t{kForks});
  EXPECT_EQ(seen.exits + throttled_exits, uint64_t{kForks} + 1);
  // 20 a second per CPU: at most 20 per CPU for each window the storm
  // touched.
  auto windows = static_cast<uint64_t>(seconds) + 2;
  EXPECT_LE(seen.forks, windows * 20 * std::thread::hardware_concurrency()) << seconds << " s";
  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok());
  EXPECT_EQ(drops->total(), 0u);
}

// Filters by comm and uid hold events back in the kernel without counting
// them anywhere: they were not wanted.
TEST(Accounting, IgnoredCommsAndUidsAreNotReported) {
  ScratchCgroup cgroup;
  ASSERT_NE(cgroup.id(), 0u);
  auto probe = TelemetryProbe::open(
      {.network = false,
       .filters = {
           .ignore_comms = {"skip-me"}, .ignore_uids = {65534}, .only_cgroups = {cgroup.id()}}});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  forkStormIn(cgroup, 5, [] { return ::prctl(PR_SET_NAME, "skip-me") == 0; });
  forkStormIn(cgroup, 5, [] { return ::setgid(65534) == 0 && ::setuid(65534) == 0; });
  forkStormIn(cgroup, 7);
  Counts seen = drain(**probe);
  EXPECT_EQ(seen.forks, 7u);
  EXPECT_EQ(seen.exits, 8u);
  auto drops = (*probe)->drops();
  auto throttled = (*probe)->throttled();
  ASSERT_TRUE(drops.ok() && throttled.ok());
  EXPECT_EQ(drops->total() + throttled->total(), 0u);
}

// only_cgroups takes a whole subtree: processes in a cgroup inside the one
// named are reported, those in a sibling are not. With the kernel's helper
// for the ancestors' ids, and without it (Linux 5.10's tracing programs
// have none; the probe reads them from the task's cgroup).
void expectSubtreeFilter(std::optional<bool> ancestor_helper) {
  ScratchCgroup parent;
  ScratchCgroup inside(parent);
  ScratchCgroup sibling;
  ASSERT_NE(inside.id(), 0u);
  ASSERT_NE(sibling.id(), 0u);
  TelemetryProbeOptions options{.network = false,
                                .privilege = false,
                                .udp = false,
                                .filters = {.only_cgroups = {parent.id()}}};
  options.ancestor_cgroup_helper = ancestor_helper;
  auto probe = TelemetryProbe::open(options);
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  forkStormIn(inside, 5);
  forkStormIn(sibling, 3);
  Counts seen = drain(**probe);
  EXPECT_EQ(seen.forks, 5u);
  EXPECT_EQ(seen.exits, 6u);
}

TEST(Accounting, CgroupSubtreeFilter) { expectSubtreeFilter(std::nullopt); }
TEST(Accounting, CgroupSubtreeFilterWithoutTheAncestorHelper) { expectSubtreeFilter(false); }

// The probes wake a reader blocked in poll() only once half the ring is
// waiting (batch_wakeups; the agent polls often while events flow, and a
// wakeup is an interrupt on the CPU that made the event): a few events wait
// for the poll's timeout, a burst past half the ring wakes it. Without
// batch_wakeups every event wakes it.
TEST(Wakeups, OnlyHalfARingWakesTheReaderWhenBatched) {
  ScratchCgroup cgroup;
  ASSERT_NE(cgroup.id(), 0u);
  struct Poll {
    double seconds = 0;
    Counts seen;
  };
  // One poll with a long timeout while, a moment after it starts, `children`
  // processes come and go in the cgroup (a fork and an exit each, 104 bytes
  // of ring buffer).
  auto pollDuring = [&](bool batch, int children) {
    Poll out;
    auto probe = TelemetryProbe::open({.ring_buffer_bytes = 16384,
                                       .network = false,
                                       .privilege = false,
                                       .udp = false,
                                       .filters = {.only_cgroups = {cgroup.id()}},
                                       .batch_wakeups = batch});
    EXPECT_TRUE(probe.ok()) << probe.error().message();
    if (!probe.ok()) return out;
    std::thread storm([&] {
      std::this_thread::sleep_for(300ms);
      forkStormIn(cgroup, children);
    });
    auto sink = [&](Event&& e) {
      if (std::holds_alternative<ForkEvent>(e)) ++out.seen.forks;
      if (std::holds_alternative<ExitEvent>(e)) ++out.seen.exits;
    };
    auto start = std::chrono::steady_clock::now();
    auto n = (*probe)->poll(4s, sink);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(n.ok());
    storm.join();
    return out;
  };
  Poll few = pollDuring(true, 50);  // 5.2 KiB: less than half the ring
  EXPECT_GE(few.seconds, 3.5) << "less than half a ring woke the reader";
  EXPECT_EQ(few.seen.forks, 50u);  // read all the same, when the poll timed out
  EXPECT_EQ(few.seen.exits, 51u);
  Poll burst = pollDuring(true, 120);  // 12.5 KiB: past half of the 16 KiB ring
  EXPECT_LT(burst.seconds, 2.0) << "half a ring did not wake the reader";
  EXPECT_GT(burst.seen.forks, 0u);
  Poll unbatched = pollDuring(false, 3);
  EXPECT_LT(unbatched.seconds, 2.0) << "without batching, an event did not wake the reader";
  EXPECT_GT(unbatched.seen.forks + unbatched.seen.exits, 0u);
}

}  // namespace
}  // namespace demarc::telemetry
