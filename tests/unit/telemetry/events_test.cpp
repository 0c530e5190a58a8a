// The user-space half of the process probe without a kernel: synthetic
// ring-buffer records in the probe's layouts go through the decoder.
#include "agent/telemetry/events.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>

#include <linux/types.h>

#include "probes/network.h"
#include "probes/privilege.h"
#include "probes/process.h"

namespace demarc::telemetry {
namespace {

template <typename T>
std::string bytes(const T& value, size_t size = sizeof(T)) {
  return std::string(reinterpret_cast<const char*>(&value), size);
}

proc_exec_event execRecord(uint32_t tgid, uint64_t ktime, uint32_t args_size) {
  proc_exec_event e{};
  e.h = {DM_EVENT_EXEC, tgid, ktime};
  e.pid = tgid;
  e.ppid = 1;
  e.uid = 1000;
  e.euid = 0;
  e.loginuid = 1000;
  e.cgroup_id = 77;
  e.inode = 1234;
  e.hook = 1;
  std::strcpy(e.comm, "true");
  std::strcpy(e.filename, "/usr/bin/true");
  std::strcpy(e.cwd[0], "work");
  std::strcpy(e.cwd[1], "tmp");
  e.cwd_depth = 2;
  e.args_size = args_size;
  e.args_chunks = (args_size + PROC_ARGS_CHUNK - 1) / PROC_ARGS_CHUNK;
  return e;
}

std::string argsRecord(uint32_t tgid, uint64_t exec_ktime, uint32_t index, std::string_view data) {
  proc_args_event a{};
  a.h = {DM_EVENT_ARGS, tgid, exec_ktime + 1};
  a.index = index;
  a.size = static_cast<uint32_t>(data.size());
  a.exec_ktime = exec_ktime;
  std::memcpy(a.data, data.data(), data.size());
  return bytes(a);
}

TEST(EventDecoder, ExecWaitsForItsArgumentChunks) {
  std::vector<Event> out;
  EventDecoder decoder([&](Event&& e) { out.push_back(std::move(e)); });
  // Arguments of 6000 bytes: two chunks, the last argument cut by the boundary.
  std::string area = "/usr/bin/true";
  area.push_back('\0');
  area += std::string(5985, 'x');
  area.push_back('\0');
  ASSERT_EQ(area.size(), 6000u);
  decoder.feed(bytes(execRecord(42, 1000, 6000)));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(decoder.pending(), 1u);
  decoder.feed(argsRecord(42, 1000, 0, std::string_view(area).substr(0, PROC_ARGS_CHUNK)));
  EXPECT_TRUE(out.empty());
  decoder.feed(argsRecord(42, 1000, 1, std::string_view(area).substr(PROC_ARGS_CHUNK)));
  ASSERT_EQ(out.size(), 1u);
  const auto& e = std::get<ExecEvent>(out[0]);
  EXPECT_EQ(e.tgid, 42u);
  EXPECT_EQ(e.filename, "/usr/bin/true");
  EXPECT_EQ(e.cwd, "/tmp/work");
  EXPECT_EQ(e.loginuid, 1000u);
  ASSERT_EQ(e.args.size(), 2u);
  EXPECT_EQ(e.args[1], std::string(5985, 'x'));
  EXPECT_FALSE(e.args_lost);
  EXPECT_FALSE(e.args_truncated);
  EXPECT_EQ(decoder.pending(), 0u);
}

TEST(EventDecoder, MissingChunksAreMarkedLostAfterTwoFlushes) {
  std::vector<Event> out;
  EventDecoder decoder([&](Event&& e) { out.push_back(std::move(e)); });
  auto exec = execRecord(7, 500, 5000);
  exec.flags = PROC_EXEC_ARGS_TRUNCATED;
  decoder.feed(bytes(exec));
  decoder.feed(argsRecord(7, 500, 0, std::string(PROC_ARGS_CHUNK, 'a')));
  decoder.flush();
  EXPECT_TRUE(out.empty());  // the second chunk may still be in flight
  decoder.flush();
  ASSERT_EQ(out.size(), 1u);
  const auto& e = std::get<ExecEvent>(out[0]);
  EXPECT_TRUE(e.args_lost);
  EXPECT_TRUE(e.args_truncated);
}

TEST(EventDecoder, ForkExitAndBadRecords) {
  std::vector<Event> out;
  EventDecoder decoder([&](Event&& e) { out.push_back(std::move(e)); });
  proc_fork_event f{};
  f.h = {DM_EVENT_FORK, 10, 1};
  f.parent_tgid = 9;
  decoder.feed(bytes(f));
  proc_exit_event x{};
  x.h = {DM_EVENT_EXIT, 10, 2};
  x.exit_code = 3 << 8;
  std::strcpy(x.comm, "sh");
  decoder.feed(bytes(x));
  proc_exit_event killed = x;
  killed.exit_code = 9 | 0x80;
  decoder.feed(bytes(killed));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<ForkEvent>(out[0]).parent_tgid, 9u);
  EXPECT_EQ(std::get<ExitEvent>(out[1]).exit_code, 3u);
  EXPECT_EQ(std::get<ExitEvent>(out[1]).signal, 0u);
  EXPECT_EQ(std::get<ExitEvent>(out[2]).signal, 9u);
  EXPECT_TRUE(std::get<ExitEvent>(out[2]).core_dumped);

  // Too short, unknown type, chunk without its exec, duplicate chunk.
  decoder.feed("abc");
  dm_header unknown{99, 1, 1};
  decoder.feed(bytes(unknown));
  decoder.feed(bytes(f, sizeof(f) - 1));
  decoder.feed(argsRecord(5, 5, 0, "x"));
  EXPECT_EQ(decoder.malformed(), 4u);
  EXPECT_EQ(out.size(), 3u);
}

TEST(EventDecoder, TcpEvents) {
  std::vector<Event> out;
  EventDecoder decoder([&](Event&& e) { out.push_back(std::move(e)); });
  net_tcp_event raw{};
  raw.h = {DM_EVENT_TCP, 42, 5000};
  raw.kind = NET_TCP_CLOSE;
  raw.pid = 43;
  raw.uid = 1000;
  raw.netns = 4026531840u;
  raw.family = AF_INET6;
  raw.lport = 8443;
  raw.rport = 51000;
  raw.hook = DM_HOOK_TRACEPOINT;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::1", raw.laddr), 1);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:10.0.0.7", raw.raddr), 1);
  raw.start_ktime = 1000;
  raw.bytes_sent = 12;
  raw.bytes_received = 34;
  std::strcpy(raw.comm, "nginx");
  decoder.feed(bytes(raw));

  net_tcp_event v4 = raw;
  v4.kind = NET_TCP_CONNECT;
  v4.family = AF_INET;
  std::memset(v4.laddr, 0, sizeof(v4.laddr));
  std::memset(v4.raddr, 0, sizeof(v4.raddr));
  ASSERT_EQ(inet_pton(AF_INET, "192.0.2.10", v4.raddr), 1);
  v4.flags = NET_TCP_FAILED;
  decoder.feed(bytes(v4));

  ASSERT_EQ(out.size(), 2u);
  const auto& close = std::get<TcpEvent>(out[0]);
  EXPECT_EQ(close.kind, TcpEvent::Kind::kClose);
  EXPECT_EQ(close.tgid, 42u);
  EXPECT_EQ(close.pid, 43u);
  EXPECT_TRUE(close.ipv6);
  EXPECT_EQ(close.local_address, "2001:db8::1");
  EXPECT_EQ(close.local_port, 8443);
  EXPECT_EQ(close.remote_address, "::ffff:10.0.0.7");
  EXPECT_EQ(close.remote_port, 51000);
  EXPECT_EQ(close.bytes_sent, 12u);
  EXPECT_EQ(close.bytes_received, 34u);
  EXPECT_EQ(close.comm, "nginx");
  EXPECT_EQ(close.hook, Hook::kTracepoint);
  EXPECT_FALSE(close.failed);
  const auto& connect = std::get<TcpEvent>(out[1]);
  EXPECT_FALSE(connect.ipv6);
  EXPECT_EQ(connect.local_address, "0.0.0.0");
  EXPECT_EQ(connect.remote_address, "192.0.2.10");
  EXPECT_TRUE(connect.failed);
  EXPECT_EQ(tcpKindName(connect.kind), "connect");

  // An unknown family or kind, or a short record, is counted, not decoded.
  net_tcp_event bad = raw;
  bad.family = 1;
  decoder.feed(bytes(bad));
  bad = raw;
  bad.kind = 9;
  decoder.feed(bytes(bad));
  decoder.feed(bytes(raw, sizeof(raw) - 1));
  EXPECT_EQ(decoder.malformed(), 3u);
  EXPECT_EQ(out.size(), 2u);
}

TEST(EventDecoder, PrivilegeEvents) {
  std::vector<Event> out;
  EventDecoder decoder([&](Event&& e) { out.push_back(std::move(e)); });
  priv_event raw{};
  raw.h = {DM_EVENT_PRIV, 42, 5000};
  raw.kind = PRIV_SETUID;
  raw.syscall = PRIV_SYS_SETRESUID;
  raw.pid = 43;
  raw.ret = 0;
  raw.arg[0] = raw.arg[1] = raw.arg[2] = 65534;
  raw.before = {0, 0, 0, 0, 0, 0, 0, 0, 0x1ff, 0x1ff};
  raw.after = {65534, 65534, 65534, 65534, 0, 0, 0, 0, 0, 0};
  std::strcpy(raw.comm, "sshd");
  decoder.feed(bytes(raw));
  priv_event bpf = raw;
  bpf.kind = PRIV_BPF_LOAD;
  bpf.syscall = PRIV_SYS_BPF;
  bpf.ret = 7;
  std::memcpy(bpf.name, "sixteen_chars_xx", 16);  // not NUL-terminated
  decoder.feed(bytes(bpf));
  ASSERT_EQ(out.size(), 2u);
  const auto& p = std::get<PrivilegeEvent>(out[0]);
  EXPECT_EQ(p.kind, PrivilegeEvent::Kind::kSetuid);
  EXPECT_EQ(p.syscall, "setresuid");
  EXPECT_EQ(p.tgid, 42u);
  EXPECT_EQ(p.pid, 43u);
  EXPECT_EQ(p.args[2], 65534u);
  EXPECT_EQ(p.before.cap_effective, 0x1ffu);
  EXPECT_EQ(p.after.euid, 65534u);
  EXPECT_EQ(p.comm, "sshd");
  EXPECT_EQ(privilegeKindName(p.kind), "setuid");
  const auto& b = std::get<PrivilegeEvent>(out[1]);
  EXPECT_EQ(b.name, "sixteen_chars_xx");
  EXPECT_EQ(b.result, 7);
  EXPECT_EQ(privilegeKindName(b.kind), "bpf_load");

  priv_event bad = raw;
  bad.kind = 0;
  decoder.feed(bytes(bad));
  bad = raw;
  bad.syscall = 99;
  decoder.feed(bytes(bad));
  EXPECT_EQ(decoder.malformed(), 2u);
}

TEST(EventDecoder, SplitsArguments) {
  EXPECT_EQ(splitArguments(std::string_view("a\0bc\0\0d", 7)),
            (std::vector<std::string>{"a", "bc", "", "d"}));
  EXPECT_TRUE(splitArguments("").empty());
}

}  // namespace
}  // namespace demarc::telemetry
