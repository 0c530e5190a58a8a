// From config to probe options, from events to evidence records, and the
// cgroup lookups in between.
#include "agent/cli/event_recorder.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/telemetry/cgroups.h"
#include "tests/support/temp_dir.h"

namespace demarc::cli {
namespace {

TEST(Cgroups, FindsTheCgroup2MountInTheMountTable) {
  testing::TempDir dir;
  std::ofstream(dir / "mounts") << "proc /proc proc rw,nosuid 0 0\n"
                                   "cgroup2 /sys/fs/cgroup/with\\040space cgroup2 rw,nosuid 0 0\n";
  auto mount = telemetry::cgroup2Mount((dir / "mounts").string());
  ASSERT_TRUE(mount.ok()) << mount.error().message();
  EXPECT_EQ(*mount, "/sys/fs/cgroup/with space");

  std::ofstream(dir / "none") << "proc /proc proc rw 0 0\n";
  auto none = telemetry::cgroup2Mount((dir / "none").string());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("no cgroup2"), std::string::npos);
}

TEST(Cgroups, IdIsTheDirectoryInode) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "system.slice/ssh.service");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "system.slice/ssh.service").c_str(), &st), 0);
  auto id = telemetry::cgroupIdOf(dir.path().string(), "/system.slice/ssh.service");
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, st.st_ino);
  EXPECT_FALSE(telemetry::cgroupIdOf(dir.path().string(), "/nope").ok());
  EXPECT_FALSE(telemetry::cgroupIdOf(dir.path().string(), "relative").ok());
  EXPECT_FALSE(telemetry::cgroupIdOf(dir.path().string(), "/system.slice/../..").ok());
}

TEST(ProbeOptions, FromConfig) {
  config::v1::Telemetry t;
  t.set_ring_buffer_size(1 << 20);
  t.set_process_events(true);
  t.set_network_events(false);
  t.set_rate_limit(500);
  t.mutable_ignore()->add_comms("chronyd");
  t.mutable_ignore()->add_uids(998);
  t.add_only_cgroups("/");
  auto options = probeOptions(t, 77);
  ASSERT_TRUE(options.ok()) << options.error().message();
  EXPECT_EQ(options->ring_buffer_bytes, 1u << 20);
  EXPECT_EQ(options->self_tgid, 77u);
  EXPECT_TRUE(options->process);
  EXPECT_FALSE(options->network);
  EXPECT_EQ(options->filters.rate_limit, 500u);
  EXPECT_EQ(options->filters.ignore_comms, std::vector<std::string>{"chronyd"});
  EXPECT_EQ(options->filters.ignore_uids, std::vector<uint32_t>{998});
  ASSERT_EQ(options->filters.only_cgroups.size(), 1u);  // the root of the hierarchy
  EXPECT_NE(options->filters.only_cgroups[0], 0u);
}

TEST(ProbeOptions, ErrorsNameTheField) {
  config::v1::Telemetry t;
  t.mutable_ignore()->add_comms("a-command-name-too-long");
  auto long_comm = probeOptions(t, 1);
  ASSERT_FALSE(long_comm.ok());
  EXPECT_NE(long_comm.error().message().find("telemetry.ignore.comms[0]"), std::string::npos);

  config::v1::Telemetry u;
  u.mutable_ignore()->add_cgroups("/");
  u.mutable_ignore()->add_cgroups("/no/such/cgroup.demarc");
  auto missing = probeOptions(u, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("telemetry.ignore.cgroups[1]"), std::string::npos)
      << missing.error().message();
}

TEST(ToRecord, TcpClose) {
  telemetry::TcpEvent e;
  e.kind = telemetry::TcpEvent::Kind::kClose;
  e.ktime = 3'000'000'000;
  e.start_ktime = 1'500'000'000;
  e.tgid = 10;
  e.pid = 11;
  e.uid = 1000;
  e.comm = "curl";
  e.local_address = "10.0.0.5";
  e.local_port = 40000;
  e.remote_address = "192.0.2.1";
  e.remote_port = 443;
  e.bytes_sent = 100;
  e.bytes_received = 2000;
  e.hook = telemetry::Hook::kTracepoint;
  telemetry::ProcessCache cache("boot");
  telemetry::ForkEvent fork;
  fork.tgid = 10;
  fork.parent_tgid = 1;
  fork.start_boottime = 777;
  cache.apply(telemetry::Event(fork));
  v1::Record r;
  toRecord(telemetry::Event(e), cache, 8, r);
  ASSERT_TRUE(r.has_network());
  const auto& n = r.network();
  EXPECT_EQ(n.kind(), v1::NetworkEvent::KIND_CLOSE);
  EXPECT_EQ(n.pid(), 10u);
  EXPECT_EQ(n.tid(), 11u);
  EXPECT_EQ(n.exec_id(), "boot-10-777");
  EXPECT_EQ(n.protocol(), "tcp");
  EXPECT_EQ(n.remote_address(), "192.0.2.1");
  EXPECT_EQ(n.remote_port(), 443u);
  EXPECT_EQ(n.bytes_sent(), 100u);
  EXPECT_EQ(n.bytes_received(), 2000u);
  EXPECT_EQ(n.duration().seconds(), 1);
  EXPECT_EQ(n.duration().nanos(), 500'000'000);
  EXPECT_EQ(n.hook(), "tracepoint");
  EXPECT_GT(r.time().seconds(), 0);
}

TEST(ToRecord, PtraceWithBothExecIds) {
  telemetry::ProcessCache cache("boot");
  cache.apply(telemetry::Event(telemetry::ForkEvent{1, 20, 1, 100}));
  cache.apply(telemetry::Event(telemetry::ForkEvent{2, 30, 1, 200}));
  telemetry::PrivilegeEvent e;
  e.kind = telemetry::PrivilegeEvent::Kind::kPtrace;
  e.syscall = "ptrace";
  e.ktime = 5;
  e.tgid = 20;
  e.pid = 21;
  e.target = 30;
  e.args = {16, 30, 0};
  e.result = 0;
  e.before.uid = 1000;
  e.after.uid = 1000;
  v1::Record r;
  toRecord(telemetry::Event(e), cache, 8, r);
  ASSERT_TRUE(r.has_privilege());
  const auto& p = r.privilege();
  EXPECT_EQ(p.kind(), "ptrace");
  EXPECT_EQ(p.exec_id(), "boot-20-100");
  EXPECT_EQ(p.target_pid(), 30u);
  EXPECT_EQ(p.target_exec_id(), "boot-30-200");
  EXPECT_EQ(p.args_size(), 3);
  EXPECT_EQ(p.before().uid(), 1000u);
}

TEST(ToRecord, ExecWithPrivilegesGainedAndAncestry) {
  telemetry::ProcessCache cache("boot");
  cache.apply(telemetry::Event(telemetry::ForkEvent{1, 20, 1, 100}));
  telemetry::ExecEvent x;
  x.tgid = 21;
  x.ppid = 20;
  x.ktime = 300;
  x.filename = "/usr/bin/sudo";
  x.uid = 1000;
  x.euid = 0;
  x.gained_setuid = true;
  x.cap_permitted = 0x1ff;
  cache.apply(telemetry::Event(x));
  v1::Record r;
  toRecord(telemetry::Event(x), cache, 8, r);
  const auto& p = r.process();
  EXPECT_EQ(p.exec_id(), "boot-21-300");
  ASSERT_EQ(p.privileges_gained_size(), 1);
  EXPECT_EQ(p.privileges_gained(0), "setuid");
  EXPECT_EQ(p.cap_permitted(), 0x1ffu);
  ASSERT_EQ(p.ancestry_size(), 1);
  EXPECT_EQ(p.ancestry(0).pid(), 20u);
  EXPECT_EQ(p.ancestry(0).exec_id(), "boot-20-100");
}

TEST(ToRecord, UdpFlow) {
  telemetry::ProcessCache cache("boot");
  cache.apply(telemetry::Event(telemetry::ForkEvent{1, 20, 1, 100}));
  telemetry::UdpFlowEvent f;
  f.ktime = 2'000'000'000;
  f.tgid = 20;
  f.comm = "chronyd";
  f.local_address = "10.0.0.5";
  f.local_port = 323;
  f.remote_address = "169.254.169.123";
  f.remote_port = 123;
  f.packets_sent = 4;
  f.bytes_sent = 192;
  f.packets_received = 4;
  f.bytes_received = 192;
  f.first_ktime = 1'000'000'000;
  f.last_ktime = 1'500'000'000;
  v1::Record r;
  toRecord(telemetry::Event(f), cache, 8, r);
  ASSERT_TRUE(r.has_network());
  const auto& n = r.network();
  EXPECT_EQ(n.kind(), v1::NetworkEvent::KIND_FLOW);
  EXPECT_EQ(n.protocol(), "udp");
  EXPECT_EQ(n.exec_id(), "boot-20-100");
  EXPECT_EQ(n.packets_sent(), 4u);
  EXPECT_EQ(n.bytes_received(), 192u);
  EXPECT_EQ(n.remote_port(), 123u);
  // first and last datagram, half a second apart
  int64_t first = n.first_seen().seconds() * 1'000'000'000 + n.first_seen().nanos();
  int64_t last = n.last_seen().seconds() * 1'000'000'000 + n.last_seen().nanos();
  EXPECT_NEAR(static_cast<double>(last - first), 5e8, 1e3);
}

}  // namespace
}  // namespace demarc::cli
