// The process cache without a kernel: seeded from a fake /proc, then kept
// by synthetic fork, exec and exit events.
#include "agent/telemetry/process_cache.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace demarc::telemetry {
namespace {

// A /proc/PID/stat line with ppid and starttime (field 22) set.
std::string statLine(uint32_t pid, const std::string& comm, uint32_t ppid, uint64_t start) {
  std::string line = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid);
  for (int field = 5; field <= 21; ++field) line += " 0";
  return line + " " + std::to_string(start) + " 0 0\n";
}

void fakeProcess(const std::filesystem::path& root, uint32_t pid, const std::string& comm,
                 uint32_t ppid, uint64_t start, const std::string& exe, uint32_t uid) {
  auto dir = root / "proc" / std::to_string(pid);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "stat") << statLine(pid, comm, ppid, start);
  std::ofstream(dir / "status") << "Name:\t" << comm << "\nUid:\t" << uid << "\t" << uid
                                << "\t0\t0\n";
  if (!exe.empty()) std::filesystem::create_symlink(exe, dir / "exe");
}

ExecEvent execOf(uint32_t tgid, uint32_t ppid, const std::string& file, uint64_t ktime) {
  ExecEvent e;
  e.tgid = tgid;
  e.pid = tgid;
  e.ppid = ppid;
  e.filename = file;
  e.comm = std::filesystem::path(file).filename().string();
  e.ktime = ktime;
  return e;
}

uint64_t nsPerTick() { return 1'000'000'000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)); }

TEST(ProcStat, ParsesAfterTheLastParenthesis) {
  auto st = parseProcStat(statLine(7, "a (b) c", 3, 12345));
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->comm, "a (b) c");
  EXPECT_EQ(st->ppid, 3u);
  EXPECT_EQ(st->start_ticks, 12345u);
  EXPECT_FALSE(parseProcStat("7 no parentheses S 1").ok());
  auto short_line = parseProcStat("7 (x) S 1 2 3");
  ASSERT_FALSE(short_line.ok());
  EXPECT_NE(short_line.error().message().find("22 fields"), std::string::npos);
  EXPECT_FALSE(parseProcStat(statLine(7, "x", 3, 1).replace(8, 1, "Z")).ok());  // ppid "Z"
}

TEST(ProcessCache, SeedsFromProc) {
  testing::TempDir dir;
  fakeProcess(dir.path(), 1, "systemd", 0, 5, "/usr/lib/systemd/systemd", 0);
  fakeProcess(dir.path(), 2, "kthreadd", 0, 5, "", 0);
  fakeProcess(dir.path(), 700, "sshd", 1, 900, "/usr/sbin/sshd", 0);
  fakeProcess(dir.path(), 800, "bash", 700, 1000, "/usr/bin/bash", 1000);
  std::filesystem::create_directories(dir / "proc/self");
  std::filesystem::create_directories(dir / "proc/999");
  std::ofstream(dir / "proc/999/stat") << "garbage";

  ProcessCache cache("B");
  auto seeded = cache.seed(HostRoot(dir.path()));
  ASSERT_TRUE(seeded.ok()) << seeded.error().message();
  EXPECT_EQ(*seeded, 4u);
  const ProcessInfo* bash = cache.find(800);
  ASSERT_NE(bash, nullptr);
  EXPECT_EQ(bash->executable, "/usr/bin/bash");
  EXPECT_EQ(bash->uid, 1000u);
  EXPECT_EQ(bash->ppid, 700u);
  EXPECT_EQ(bash->exec_id, "B-800-" + std::to_string(1000 * nsPerTick()));
  EXPECT_EQ(cache.find(2)->executable, "");
  EXPECT_EQ(cache.find(999), nullptr);

  auto chain = cache.ancestry(800, 8);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].pid, 700u);
  EXPECT_EQ(chain[0].executable, "/usr/sbin/sshd");
  EXPECT_EQ(chain[1].pid, 1u);
  EXPECT_EQ(chain[1].exec_id, "B-1-" + std::to_string(5 * nsPerTick()));
  EXPECT_EQ(cache.ancestry(800, 1).size(), 1u);
  EXPECT_TRUE(cache.ancestry(800, 0).empty());
}

TEST(ProcessCache, KeptByForkExecAndExit) {
  ProcessCache cache("B", 100, /*grace_ns=*/1000);
  cache.apply(Event(execOf(10, 1, "/bin/sh", 100)));
  cache.apply(Event(ForkEvent{200, 11, 10, 150}));
  // A forked child runs its parent's program under its own id.
  const ProcessInfo* child = cache.find(11);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->executable, "/bin/sh");
  EXPECT_EQ(child->exec_id, "B-11-150");
  cache.apply(Event(execOf(11, 10, "/usr/bin/curl", 300)));
  EXPECT_EQ(cache.find(11)->exec_id, "B-11-300");
  EXPECT_EQ(cache.find(11)->executable, "/usr/bin/curl");
  auto chain = cache.ancestry(11, 8);
  ASSERT_EQ(chain.size(), 1u);  // pid 1 is not known here
  EXPECT_EQ(chain[0].exec_id, "B-10-100");

  // The exit keeps the entry for the grace period.
  ExitEvent exit;
  exit.tgid = 11;
  exit.ktime = 400;
  cache.apply(Event(exit));
  cache.expire(1000);
  ASSERT_NE(cache.find(11), nullptr);
  EXPECT_EQ(cache.find(11)->exited_at, 400u);
  cache.expire(1401);
  EXPECT_EQ(cache.find(11), nullptr);
  EXPECT_NE(cache.find(10), nullptr);

  // Events about processes never seen are counted.
  exit.tgid = 55;
  cache.apply(Event(exit));
  cache.apply(Event(ForkEvent{500, 56, 54, 0}));
  EXPECT_EQ(cache.stats().unknown, 2u);
  EXPECT_EQ(cache.find(56)->exec_id, "B-56-500");  // no start time: the fork's
}

TEST(ProcessCache, BoundedExitedFirstThenOldest) {
  ProcessCache cache("B", 3, 1'000'000);
  cache.apply(Event(execOf(1, 0, "/a", 1)));
  cache.apply(Event(execOf(2, 1, "/b", 2)));
  cache.apply(Event(execOf(3, 1, "/c", 3)));
  ExitEvent exit;
  exit.tgid = 2;
  exit.ktime = 4;
  cache.apply(Event(exit));
  cache.apply(Event(execOf(4, 1, "/d", 5)));  // full: the exited 2 goes
  EXPECT_EQ(cache.find(2), nullptr);
  EXPECT_EQ(cache.stats().evicted, 0u);
  cache.apply(Event(execOf(5, 1, "/e", 6)));  // full, nobody exited: the oldest, 1
  EXPECT_EQ(cache.find(1), nullptr);
  EXPECT_NE(cache.find(3), nullptr);
  EXPECT_EQ(cache.stats().evicted, 1u);
  EXPECT_EQ(cache.stats().size, 3u);
  // An exec of a known pid replaces its entry without evicting anyone.
  cache.apply(Event(execOf(5, 1, "/f", 7)));
  EXPECT_EQ(cache.stats().size, 3u);
  EXPECT_EQ(cache.find(5)->executable, "/f");
}

}  // namespace
}  // namespace demarc::telemetry
