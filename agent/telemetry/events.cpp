#include "agent/telemetry/events.h"

#include <arpa/inet.h>
#include <time.h>

#include <linux/types.h>  // process.h uses the kernel integer types

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>

#include "probes/network.h"
#include "probes/privilege.h"
#include "probes/process.h"
#include "probes/udp.h"

namespace demarc::telemetry {
namespace {

// Copies a fixed-size record out of the ring buffer (which has no alignment
// guarantee for us) once its size has been checked.
template <typename T>
T load(std::string_view record) {
  T value;
  std::memcpy(&value, record.data(), sizeof(T));
  return value;
}

template <size_t N>
std::string fixedString(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

Hook hookOf(uint32_t raw) { return raw == DM_HOOK_TRACEPOINT ? Hook::kTracepoint : Hook::kTpBtf; }

Credentials credentialsOf(const priv_creds& c) {
  return {c.uid,  c.euid, c.suid,  c.fsuid,         c.gid,
          c.egid, c.sgid, c.fsgid, c.cap_effective, c.cap_permitted};
}

std::string_view syscallName(uint32_t sys) {
  static constexpr std::string_view kNames[] = {
      "",          "setuid",   "setreuid", "setresuid", "setfsuid", "setgid",      "setregid",
      "setresgid", "setfsgid", "capset",   "ptrace",    "bpf",      "init_module", "finit_module"};
  return sys < std::size(kNames) ? kNames[sys] : "";
}

std::string addressText(int family, const uint8_t* bytes) {
  if (family == AF_INET) {
    // Every TCP event has two addresses; glibc's inet_ntop formats IPv4
    // through sprintf.
    std::string text;
    text.reserve(15);
    for (int i = 0; i < 4; ++i) {
      if (i > 0) text.push_back('.');
      char digits[3];
      auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), bytes[i]);
      text.append(digits, end);
    }
    return text;
  }
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes, text, sizeof(text));
  return text;
}

}  // namespace

uint64_t nowSinceBoot() {
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  return static_cast<uint64_t>(boot.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(boot.tv_nsec);
}

SystemTime wallClockOf(uint64_t boot_ns) {
  timespec real{};
  timespec boot{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  int64_t real_ns = static_cast<int64_t>(real.tv_sec) * 1'000'000'000 + real.tv_nsec;
  int64_t boot_now = static_cast<int64_t>(boot.tv_sec) * 1'000'000'000 + boot.tv_nsec;
  int64_t at = real_ns - (boot_now - static_cast<int64_t>(boot_ns));
  return fromUnixTime(at / 1'000'000'000, at % 1'000'000'000);
}

size_t maxArgumentBytes() { return static_cast<size_t>(PROC_ARGS_CHUNK) * PROC_ARGS_MAX_CHUNKS; }

const std::array<EventDecoder::Entry, 7> EventDecoder::kTable = {{
    {0, nullptr},  // no type 0
    {sizeof(proc_exec_event), &EventDecoder::decodeExec},
    {offsetof(proc_args_event, data), &EventDecoder::decodeArgs},
    {sizeof(proc_fork_event), &EventDecoder::decodeFork},
    {sizeof(proc_exit_event), &EventDecoder::decodeExit},
    {sizeof(net_tcp_event), &EventDecoder::decodeTcp},
    {sizeof(priv_event), &EventDecoder::decodePrivilege},
}};

void EventDecoder::feed(std::string_view record) {
  if (record.size() < sizeof(dm_header)) {
    ++malformed_;
    return;
  }
  auto header = load<dm_header>(record);
  if (header.type >= kTable.size() || kTable[header.type].decode == nullptr ||
      record.size() < kTable[header.type].size) {
    ++malformed_;
    return;
  }
  (this->*kTable[header.type].decode)(record);
}

std::vector<std::string> splitArguments(std::string_view area) {
  std::vector<std::string> args;
  while (!area.empty()) {
    size_t nul = area.find('\0');
    args.emplace_back(area.substr(0, nul));
    if (nul == std::string_view::npos) break;
    area.remove_prefix(nul + 1);
  }
  return args;
}

void EventDecoder::decodeExec(std::string_view record) {
  auto raw = load<proc_exec_event>(record);
  ExecEvent e;
  e.ktime = raw.h.ktime;
  e.tgid = raw.h.tgid;
  e.pid = raw.pid;
  e.ppid = raw.ppid;
  e.uid = raw.uid;
  e.gid = raw.gid;
  e.euid = raw.euid;
  e.egid = raw.egid;
  e.loginuid = raw.loginuid;
  e.cgroup_id = raw.cgroup_id;
  e.inode = raw.inode;
  e.dev = raw.dev;
  e.start_boottime = raw.start_boottime;
  e.hook = hookOf(raw.hook);
  e.comm = fixedString(raw.comm);
  e.filename = fixedString(raw.filename);
  uint32_t depth = std::min<uint32_t>(raw.cwd_depth, PROC_CWD_DEPTH);
  for (uint32_t i = depth; i > 0; --i) e.cwd += "/" + fixedString(raw.cwd[i - 1]);
  if (e.cwd.empty()) e.cwd = "/";
  e.cwd_truncated = (raw.flags & PROC_EXEC_CWD_TRUNCATED) != 0;
  e.args_size = raw.args_size;
  e.args_truncated = (raw.flags & PROC_EXEC_ARGS_TRUNCATED) != 0;
  e.gained_setuid = (raw.flags & PROC_EXEC_SETUID) != 0;
  e.gained_setgid = (raw.flags & PROC_EXEC_SETGID) != 0;
  e.gained_capabilities = (raw.flags & PROC_EXEC_CAPS) != 0;
  e.exe_mode = raw.exe_mode;
  e.cap_permitted = raw.cap_permitted;
  e.cap_effective = raw.cap_effective;
  uint32_t chunks = std::min<uint32_t>(raw.args_chunks, PROC_ARGS_MAX_CHUNKS);
  Pending p;
  p.event = std::move(e);
  p.chunks = chunks;
  p.data.resize(chunks);
  if (chunks == 0) {
    finish(std::move(p));
    return;
  }
  pending_[{p.event.tgid, p.event.ktime}] = std::move(p);
}

void EventDecoder::decodeArgs(std::string_view record) {
  proc_args_event raw{};
  std::memcpy(&raw, record.data(), std::min(record.size(), sizeof(raw)));
  auto it = pending_.find({raw.h.tgid, raw.exec_ktime});
  if (it == pending_.end()) {
    ++malformed_;  // its exec record was dropped or never came
    return;
  }
  Pending& p = it->second;
  size_t size = std::min<size_t>(raw.size, PROC_ARGS_CHUNK);
  size = std::min(size, record.size() - offsetof(proc_args_event, data));
  if (raw.index >= p.chunks || !p.data[raw.index].empty()) {
    ++malformed_;
    return;
  }
  p.data[raw.index].assign(raw.data, size);
  ++p.received;
  // A chunk shorter than the list needs means the kernel could not read it.
  size_t expected =
      std::min<size_t>(PROC_ARGS_CHUNK, p.event.args_size - raw.index * PROC_ARGS_CHUNK);
  if (size < expected) p.lost = true;
  if (p.received == p.chunks) {
    Pending done = std::move(p);
    pending_.erase(it);
    finish(std::move(done));
  }
}

void EventDecoder::finish(Pending&& p) {
  std::string area;
  for (const auto& d : p.data) area += d;
  // The area ends with the last argument's NUL.
  if (!area.empty() && area.back() == '\0') area.pop_back();
  p.event.args = splitArguments(area);
  p.event.args_lost = p.lost || p.received < p.chunks;
  sink_(Event(std::move(p.event)));
}

void EventDecoder::flush() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (++it->second.age < 2) {
      ++it;
      continue;
    }
    Pending done = std::move(it->second);
    it = pending_.erase(it);
    finish(std::move(done));
  }
}

void EventDecoder::decodeFork(std::string_view record) {
  auto raw = load<proc_fork_event>(record);
  sink_(Event(ForkEvent{raw.h.ktime, raw.h.tgid, raw.parent_tgid, raw.start_boottime}));
}

void EventDecoder::decodeExit(std::string_view record) {
  auto raw = load<proc_exit_event>(record);
  ExitEvent e;
  e.ktime = raw.h.ktime;
  e.tgid = raw.h.tgid;
  e.ppid = raw.ppid;
  // The kernel's wait status: signal in the low 7 bits, core flag 0x80,
  // exit code in bits 8-15.
  e.signal = raw.exit_code & 0x7f;
  e.core_dumped = (raw.exit_code & 0x80) != 0;
  e.exit_code = e.signal == 0 ? (raw.exit_code >> 8) & 0xff : 0;
  e.start_boottime = raw.start_boottime;
  e.comm = fixedString(raw.comm);
  sink_(Event(std::move(e)));
}

std::string_view tcpKindName(TcpEvent::Kind kind) {
  switch (kind) {
    case TcpEvent::Kind::kConnect:
      return "connect";
    case TcpEvent::Kind::kAccept:
      return "accept";
    case TcpEvent::Kind::kListen:
      return "listen";
    case TcpEvent::Kind::kClose:
      return "close";
  }
  return "unknown";
}

void EventDecoder::decodeTcp(std::string_view record) {
  auto raw = load<net_tcp_event>(record);
  bool v6 = raw.family == AF_INET6;
  if ((raw.family != AF_INET && !v6) || raw.kind < NET_TCP_CONNECT || raw.kind > NET_TCP_CLOSE) {
    ++malformed_;
    return;
  }
  TcpEvent e;
  e.kind = static_cast<TcpEvent::Kind>(raw.kind);
  e.ktime = raw.h.ktime;
  e.tgid = raw.h.tgid;
  e.pid = raw.pid;
  e.uid = raw.uid;
  e.comm = fixedString(raw.comm);
  e.cgroup_id = raw.cgroup_id;
  e.netns = raw.netns;
  e.ipv6 = v6;
  e.local_address = addressText(raw.family, raw.laddr);
  e.local_port = raw.lport;
  e.remote_address = addressText(raw.family, raw.raddr);
  e.remote_port = raw.rport;
  e.start_ktime = raw.start_ktime;
  e.bytes_sent = raw.bytes_sent;
  e.bytes_received = raw.bytes_received;
  e.failed = (raw.flags & NET_TCP_FAILED) != 0;
  e.hook = hookOf(raw.hook);
  sink_(Event(std::move(e)));
}

UdpFlowEvent decodeUdpFlow(std::string_view key_bytes, std::string_view value_bytes, uint64_t now) {
  udp_flow_key key{};
  udp_flow_value value{};
  std::memcpy(&key, key_bytes.data(), std::min(key_bytes.size(), sizeof(key)));
  std::memcpy(&value, value_bytes.data(), std::min(value_bytes.size(), sizeof(value)));
  UdpFlowEvent e;
  e.ktime = now;
  e.tgid = key.tgid;
  e.uid = value.uid;
  e.comm = fixedString(value.comm);
  e.cgroup_id = value.cgroup_id;
  e.ipv6 = key.family == AF_INET6;
  int family = e.ipv6 ? AF_INET6 : AF_INET;
  e.local_address = addressText(family, key.laddr);
  e.local_port = key.lport;
  e.remote_address = addressText(family, key.raddr);
  e.remote_port = key.rport;
  e.packets_sent = value.packets_sent;
  e.bytes_sent = value.bytes_sent;
  e.packets_received = value.packets_received;
  e.bytes_received = value.bytes_received;
  e.first_ktime = value.first_ktime;
  e.last_ktime = value.last_ktime;
  return e;
}

std::string_view privilegeKindName(PrivilegeEvent::Kind kind) {
  switch (kind) {
    case PrivilegeEvent::Kind::kSetuid:
      return "setuid";
    case PrivilegeEvent::Kind::kSetgid:
      return "setgid";
    case PrivilegeEvent::Kind::kCapset:
      return "capset";
    case PrivilegeEvent::Kind::kPtrace:
      return "ptrace";
    case PrivilegeEvent::Kind::kBpfLoad:
      return "bpf_load";
    case PrivilegeEvent::Kind::kModuleLoad:
      return "module_load";
  }
  return "unknown";
}

void EventDecoder::decodePrivilege(std::string_view record) {
  auto raw = load<priv_event>(record);
  std::string_view sys = syscallName(raw.syscall);
  if (raw.kind < PRIV_SETUID || raw.kind > PRIV_MODULE_LOAD || sys.empty()) {
    ++malformed_;
    return;
  }
  PrivilegeEvent e;
  e.kind = static_cast<PrivilegeEvent::Kind>(raw.kind);
  e.syscall = std::string(sys);
  e.ktime = raw.h.ktime;
  e.tgid = raw.h.tgid;
  e.pid = raw.pid;
  e.comm = fixedString(raw.comm);
  e.cgroup_id = raw.cgroup_id;
  e.result = raw.ret;
  e.args = {raw.arg[0], raw.arg[1], raw.arg[2]};
  e.target = raw.target;
  e.name = fixedString(raw.name);
  e.before = credentialsOf(raw.before);
  e.after = credentialsOf(raw.after);
  sink_(Event(std::move(e)));
}

}  // namespace demarc::telemetry
