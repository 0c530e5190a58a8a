// Loads the real process probe into the kernel (CI runs as root): a known
// program with a known long argument list, run from a known directory, must
// decode field by field; fork and exit must follow; an argument list over
// the supported maximum arrives cut and says so. Both hook sets.
#include "agent/telemetry/process_cache.h"
#include "agent/telemetry/telemetry_probe.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/temp_dir.h"

namespace demarc::telemetry {
namespace {

using namespace std::chrono_literals;

// Forks a child that changes to dir and executes path with args; returns its pid.
pid_t spawn(const std::string& dir, const std::string& path, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

struct Seen {
  std::vector<ExecEvent> execs;
  std::vector<ForkEvent> forks;
  std::vector<ExitEvent> exits;
};

// Polls until the exits of all pids have been seen (or 10 s pass).
Seen collect(TelemetryProbe& probe, const std::vector<pid_t>& pids) {
  Seen seen;
  auto mine = [&](uint32_t tgid) {
    return std::find(pids.begin(), pids.end(), static_cast<pid_t>(tgid)) != pids.end();
  };
  auto sink = [&](Event&& e) {
    if (auto* x = std::get_if<ExecEvent>(&e); x && mine(x->tgid)) seen.execs.push_back(*x);
    if (auto* f = std::get_if<ForkEvent>(&e); f && mine(f->tgid)) seen.forks.push_back(*f);
    if (auto* x = std::get_if<ExitEvent>(&e); x && mine(x->tgid)) seen.exits.push_back(*x);
  };
  for (int i = 0; i < 100 && seen.exits.size() < pids.size(); ++i) {
    auto n = probe.poll(100ms, sink);
    EXPECT_TRUE(n.ok()) << n.error().message();
  }
  for (int i = 0; i < 3; ++i) (void)probe.poll(10ms, sink);  // flush pending execs
  return seen;
}

// bpf_loop: which build of the exec hooks; unset, the one the kernel takes.
void expectProcessLifecycle(Hook hook, std::optional<bool> bpf_loop = std::nullopt) {
  TelemetryProbeOptions options{.ring_buffer_bytes = 8u << 20, .self_tgid = 0, .only_hook = hook};
  options.bpf_loop = bpf_loop;
  auto probe = TelemetryProbe::open(options);
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  EXPECT_EQ((*probe)->hook(), hook);

  testing::TempDir dir;
  std::filesystem::create_directories(dir / "known/deep/dir");
  std::string cwd = std::filesystem::canonical(dir / "known/deep/dir").string();
  // 300 arguments of 70 bytes: about 21 KiB, six chunks.
  std::vector<std::string> args = {"true"};
  for (int i = 0; i < 300; ++i)
    args.push_back("arg" + std::to_string(i) + std::string(64, 'a' + i % 26));
  // Over the maximum: 200 arguments of 1000 bytes.
  std::vector<std::string> huge = {"true"};
  for (int i = 0; i < 200; ++i) huge.push_back(std::string(999, 'z'));

  pid_t first = spawn(cwd, "/bin/true", args);
  pid_t second = spawn("/", "/bin/sh", {"sh", "-c", "exit 7"});
  pid_t third = spawn("/", "/bin/true", huge);
  for (pid_t p : {first, second, third}) ::waitpid(p, nullptr, 0);
  Seen seen = collect(**probe, {first, second, third});

  ASSERT_EQ(seen.execs.size(), 3u);
  const ExecEvent* e = nullptr;
  for (const auto& x : seen.execs) {
    if (x.tgid == static_cast<uint32_t>(first)) e = &x;
  }
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->pid, static_cast<uint32_t>(first));
  EXPECT_EQ(e->ppid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(e->uid, ::getuid());
  EXPECT_EQ(e->euid, ::geteuid());
  EXPECT_EQ(e->gid, ::getgid());
  EXPECT_EQ(e->egid, ::getegid());
  EXPECT_EQ(e->comm, "true");
  EXPECT_EQ(e->filename, "/bin/true");
  EXPECT_EQ(e->cwd, cwd);
  EXPECT_EQ(e->args, args);
  EXPECT_FALSE(e->args_truncated);
  EXPECT_FALSE(e->args_lost);
  EXPECT_EQ(e->hook, hook);
  struct stat st {};
  ASSERT_EQ(::stat("/bin/true", &st), 0);
  EXPECT_EQ(e->inode, st.st_ino);
  EXPECT_NE(e->cgroup_id, 0u);
  EXPECT_GT(e->start_boottime, 0u);
  EXPECT_GE(e->ktime, e->start_boottime);

  for (const auto& x : seen.execs) {
    if (x.tgid != static_cast<uint32_t>(third)) continue;
    EXPECT_TRUE(x.args_truncated);
    EXPECT_EQ(x.args_size, maxArgumentBytes());
    EXPECT_FALSE(x.args_lost);
    ASSERT_GE(x.args.size(), 2u);
    EXPECT_EQ(x.args[1], std::string(999, 'z'));
  }

  ASSERT_EQ(seen.forks.size(), 3u);
  for (const auto& f : seen.forks) EXPECT_EQ(f.parent_tgid, static_cast<uint32_t>(::getpid()));
  ASSERT_EQ(seen.exits.size(), 3u);
  for (const auto& x : seen.exits) {
    EXPECT_EQ(x.exit_code, x.tgid == static_cast<uint32_t>(second) ? 7u : 0u) << x.comm;
    EXPECT_EQ(x.signal, 0u);
  }
  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok()) << drops.error().message();
  EXPECT_EQ(drops->total(), 0u);
  EXPECT_EQ((*probe)->malformed(), 0u);
}

TEST(TelemetryProbe, TpBtfHooks) { expectProcessLifecycle(Hook::kTpBtf); }
TEST(TelemetryProbe, TracepointHooks) { expectProcessLifecycle(Hook::kTracepoint); }
// The exec hooks' build for kernels without bpf_loop (before 5.17) records
// the same on any kernel.
TEST(TelemetryProbe, TpBtfHooksWithBoundedLoops) { expectProcessLifecycle(Hook::kTpBtf, false); }
TEST(TelemetryProbe, TracepointHooksWithBoundedLoops) {
  expectProcessLifecycle(Hook::kTracepoint, false);
}

// A three-level tree (this test, a shell, a shell it forks, a program that
// one runs) through the real probe and the process cache: the last exec's
// ancestry names each level with its exec id.
TEST(TelemetryProbe, ThreeLevelTreeAncestry) {
  auto probe = TelemetryProbe::open({.network = false});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  ProcessCache cache("boot");
  ASSERT_TRUE(cache.seed(HostRoot("/")).ok());

  pid_t top =
      spawn("/", "/bin/sh", {"sh", "-c", "/bin/sh -c '/bin/true level-3-marker; exit 0'; exit 0"});
  ::waitpid(top, nullptr, 0);
  std::vector<ExecEvent> execs;
  std::vector<Ancestor> chain;
  bool done = false;
  auto sink = [&](Event&& e) {
    cache.apply(e);
    auto* x = std::get_if<ExecEvent>(&e);
    if (x == nullptr) return;
    execs.push_back(*x);
    if (x->args.size() == 2 && x->args[1] == "level-3-marker") {
      chain = cache.ancestry(x->tgid, 3);
      done = true;
    }
  };
  for (int i = 0; i < 100 && !done; ++i) ASSERT_TRUE((*probe)->poll(100ms, sink).ok());
  ASSERT_TRUE(done);
  ASSERT_EQ(chain.size(), 3u);
  auto execIdOf = [&](uint32_t tgid) {
    for (const auto& x : execs) {
      if (x.tgid == tgid) return "boot-" + std::to_string(tgid) + "-" + std::to_string(x.ktime);
    }
    return std::string("no exec seen");
  };
  // Level 2: the inner shell, forked by the outer one and exec'd.
  EXPECT_EQ(chain[0].executable, "/bin/sh");
  EXPECT_EQ(chain[0].exec_id, execIdOf(chain[0].pid));
  // Level 1: the outer shell, this test's child.
  EXPECT_EQ(chain[1].pid, static_cast<uint32_t>(top));
  EXPECT_EQ(chain[1].executable, "/bin/sh");
  EXPECT_EQ(chain[1].exec_id, execIdOf(top));
  // This process, known from /proc.
  EXPECT_EQ(chain[2].pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(chain[2].executable, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(chain[2].exec_id, cache.find(::getpid())->exec_id);
  EXPECT_NE(chain[0].pid, chain[1].pid);
}

// The agent's own activity is filtered in the kernel.
TEST(TelemetryProbe, IgnoresItsOwnProcess) {
  auto probe = TelemetryProbe::open({.self_tgid = static_cast<uint32_t>(::getpid())});
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  pid_t child = spawn("/", "/bin/true", {"true"});
  ::waitpid(child, nullptr, 0);
  Seen seen = collect(**probe, {child});
  EXPECT_TRUE(seen.forks.empty());   // forked by this process: filtered
  EXPECT_EQ(seen.execs.size(), 1u);  // the child is another process
}

}  // namespace
}  // namespace demarc::telemetry
