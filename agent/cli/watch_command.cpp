// `demarc watch`: process and TCP events as they happen, as JSON lines or
// one readable line each.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "agent/cli/commands.h"
#include "agent/core/clock.h"
#include "agent/evidence/json.h"
#include "agent/telemetry/telemetry_probe.h"

namespace demarc::cli {
namespace {

volatile sig_atomic_t g_stop = 0;
void onSignal(int /*sig*/) { g_stop = 1; }

// exec, fork, exit; connect, accept, listen, close (TCP).
std::string_view typeName(const telemetry::Event& e) {
  if (std::holds_alternative<telemetry::ExecEvent>(e)) return "exec";
  if (std::holds_alternative<telemetry::ForkEvent>(e)) return "fork";
  if (const auto* t = std::get_if<telemetry::TcpEvent>(&e)) return telemetry::tcpKindName(t->kind);
  if (const auto* p = std::get_if<telemetry::PrivilegeEvent>(&e)) {
    return telemetry::privilegeKindName(p->kind);
  }
  if (std::holds_alternative<telemetry::UdpFlowEvent>(e)) return "udp";
  return "exit";
}

constexpr std::string_view kTypes[] = {
    "exec",   "fork",   "exit",   "connect", "accept",   "listen",      "close",     "tcp",
    "setuid", "setgid", "capset", "ptrace",  "bpf_load", "module_load", "privilege", "udp"};

void appendCredentials(std::string& out, std::string_view key, const telemetry::Credentials& c) {
  out += ",\"";
  out += key;
  out += "\":{\"uid\":" + std::to_string(c.uid) + ",\"euid\":" + std::to_string(c.euid) +
         ",\"suid\":" + std::to_string(c.suid) + ",\"gid\":" + std::to_string(c.gid) +
         ",\"egid\":" + std::to_string(c.egid) + ",\"sgid\":" + std::to_string(c.sgid) +
         ",\"cap_effective\":" + std::to_string(c.cap_effective) +
         ",\"cap_permitted\":" + std::to_string(c.cap_permitted) + "}";
}

// What changed between two sets of credentials: "uid 1000->0 euid 1000->0".
std::string credentialChanges(const telemetry::Credentials& a, const telemetry::Credentials& b) {
  std::string out;
  auto field = [&](const char* name, uint64_t x, uint64_t y, bool hex = false) {
    if (x == y) return;
    auto text = [&](uint64_t v) {
      if (!hex) return std::to_string(v);
      char buf[24];
      std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
      return std::string(buf);
    };
    out += std::string(out.empty() ? "" : " ") + name + " " + text(x) + "->" + text(y);
  };
  field("uid", a.uid, b.uid);
  field("euid", a.euid, b.euid);
  field("suid", a.suid, b.suid);
  field("gid", a.gid, b.gid);
  field("egid", a.egid, b.egid);
  field("sgid", a.sgid, b.sgid);
  field("cap_effective", a.cap_effective, b.cap_effective, true);
  field("cap_permitted", a.cap_permitted, b.cap_permitted, true);
  return out.empty() ? "no change" : out;
}

// ADDR:PORT, with IPv6 addresses in brackets.
std::string endpoint(const std::string& address, uint16_t port, bool ipv6) {
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

struct Fields {
  uint64_t ktime = 0;
  uint32_t pid = 0;
  std::string comm;
};

Fields fieldsOf(const telemetry::Event& e) {
  return std::visit(
      [](const auto& x) -> Fields {
        if constexpr (requires { x.comm; }) {
          return {x.ktime, x.tgid, x.comm};
        } else {
          return {x.ktime, x.tgid, ""};  // a fork: the child's name comes with its exec
        }
      },
      e);
}

void appendField(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  evidence::appendJsonString(value, out);
}
void appendField(std::string& out, std::string_view key, uint64_t value) {
  out += ",\"";
  out += key;
  out += "\":" + std::to_string(value);
}
void appendField(std::string& out, std::string_view key, bool value) {
  out += ",\"";
  out += key;
  out += value ? "\":true" : "\":false";
}

// Who owns a socket and its two ends (TCP events and UDP flows alike).
template <typename SocketEvent>
void appendSocket(std::string& out, const SocketEvent& e) {
  appendField(out, "uid", uint64_t{e.uid});
  appendField(out, "comm", e.comm);
  appendField(out, "local_address", e.local_address);
  appendField(out, "local_port", uint64_t{e.local_port});
  appendField(out, "remote_address", e.remote_address);
  appendField(out, "remote_port", uint64_t{e.remote_port});
}

std::string toJson(const telemetry::Event& e) {
  Fields f = fieldsOf(e);
  std::string out = "{\"type\":\"" + std::string(typeName(e)) + "\"";
  appendField(out, "time", formatTime(telemetry::wallClockOf(f.ktime)));
  appendField(out, "pid", uint64_t{f.pid});
  if (const auto* x = std::get_if<telemetry::ExecEvent>(&e)) {
    appendField(out, "thread", uint64_t{x->pid});
    appendField(out, "ppid", uint64_t{x->ppid});
    appendField(out, "uid", uint64_t{x->uid});
    appendField(out, "gid", uint64_t{x->gid});
    appendField(out, "euid", uint64_t{x->euid});
    appendField(out, "egid", uint64_t{x->egid});
    appendField(out, "loginuid", uint64_t{x->loginuid});
    appendField(out, "comm", x->comm);
    appendField(out, "filename", x->filename);
    appendField(out, "cwd", x->cwd);
    appendField(out, "cwd_truncated", x->cwd_truncated);
    out += ",\"args\":[";
    for (size_t i = 0; i < x->args.size(); ++i) {
      if (i) out += ",";
      evidence::appendJsonString(x->args[i], out);
    }
    out += "]";
    appendField(out, "args_truncated", x->args_truncated);
    appendField(out, "args_lost", x->args_lost);
    appendField(out, "cgroup_id", x->cgroup_id);
    appendField(out, "inode", x->inode);
    appendField(out, "hook", telemetry::hookName(x->hook));
    out += ",\"privileges_gained\":[";
    std::string gained;
    for (auto [flag, name] :
         {std::pair{x->gained_setuid, "\"setuid\""}, std::pair{x->gained_setgid, "\"setgid\""},
          std::pair{x->gained_capabilities, "\"capabilities\""}}) {
      if (flag) gained += (gained.empty() ? "" : ",") + std::string(name);
    }
    out += gained + "]";
  } else if (const auto* u = std::get_if<telemetry::UdpFlowEvent>(&e)) {
    appendField(out, "protocol", "udp");
    appendSocket(out, *u);
    appendField(out, "packets_sent", u->packets_sent);
    appendField(out, "bytes_sent", u->bytes_sent);
    appendField(out, "packets_received", u->packets_received);
    appendField(out, "bytes_received", u->bytes_received);
    appendField(out, "cgroup_id", u->cgroup_id);
  } else if (const auto* p = std::get_if<telemetry::PrivilegeEvent>(&e)) {
    appendField(out, "syscall", p->syscall);
    appendField(out, "thread", uint64_t{p->pid});
    appendField(out, "comm", p->comm);
    out += ",\"result\":" + std::to_string(p->result);
    out += ",\"args\":[" + std::to_string(p->args[0]) + "," + std::to_string(p->args[1]) + "," +
           std::to_string(p->args[2]) + "]";
    if (p->kind == telemetry::PrivilegeEvent::Kind::kPtrace) {
      appendField(out, "target", uint64_t{p->target});
    }
    if (!p->name.empty()) appendField(out, "name", p->name);
    appendField(out, "cgroup_id", p->cgroup_id);
    appendCredentials(out, "before", p->before);
    appendCredentials(out, "after", p->after);
  } else if (const auto* k = std::get_if<telemetry::ForkEvent>(&e)) {
    appendField(out, "ppid", uint64_t{k->parent_tgid});
  } else if (const auto* t = std::get_if<telemetry::TcpEvent>(&e)) {
    appendField(out, "protocol", "tcp");
    appendField(out, "thread", uint64_t{t->pid});
    appendSocket(out, *t);
    appendField(out, "netns", uint64_t{t->netns});
    appendField(out, "cgroup_id", t->cgroup_id);
    if (t->kind == telemetry::TcpEvent::Kind::kClose) {
      appendField(out, "bytes_sent", t->bytes_sent);
      appendField(out, "bytes_received", t->bytes_received);
      appendField(out, "failed", t->failed);
      if (t->start_ktime != 0 && t->ktime >= t->start_ktime) {
        appendField(out, "duration_ms", (t->ktime - t->start_ktime) / 1'000'000);
      }
    }
    appendField(out, "hook", telemetry::hookName(t->hook));
  } else {
    const auto& x = std::get<telemetry::ExitEvent>(e);
    appendField(out, "ppid", uint64_t{x.ppid});
    appendField(out, "comm", x.comm);
    appendField(out, "exit_code", uint64_t{x.exit_code});
    appendField(out, "signal", uint64_t{x.signal});
    if (x.start_boottime != 0 && x.ktime >= x.start_boottime) {
      appendField(out, "lifetime_ms", (x.ktime - x.start_boottime) / 1'000'000);
    }
  }
  return out + "}";
}

std::string toLine(const telemetry::Event& e) {
  Fields f = fieldsOf(e);
  std::string time = formatTime(telemetry::wallClockOf(f.ktime)).substr(11, 12);  // HH:MM:SS.mmm
  std::string out = time + " " + std::string(typeName(e)) + " " + std::to_string(f.pid);
  if (const auto* x = std::get_if<telemetry::ExecEvent>(&e)) {
    out +=
        " ppid=" + std::to_string(x->ppid) + " uid=" + std::to_string(x->uid) + " " + x->filename;
    for (size_t i = 1; i < x->args.size(); ++i) out += " " + x->args[i];
    if (x->args_truncated || x->args_lost) out += " [arguments cut]";
    out += "  (cwd " + x->cwd + ")";
    if (x->gained_setuid) out += " [setuid: euid " + std::to_string(x->euid) + "]";
    if (x->gained_setgid) out += " [setgid: egid " + std::to_string(x->egid) + "]";
    if (x->gained_capabilities) out += " [capabilities]";
  } else if (const auto* u = std::get_if<telemetry::UdpFlowEvent>(&e)) {
    out += " " + u->comm + " " + endpoint(u->local_address, u->local_port, u->ipv6) + " <-> " +
           endpoint(u->remote_address, u->remote_port, u->ipv6) + " sent " +
           std::to_string(u->packets_sent) + " packets, " + std::to_string(u->bytes_sent) +
           " bytes; received " + std::to_string(u->packets_received) + " packets, " +
           std::to_string(u->bytes_received) + " bytes";
  } else if (const auto* p = std::get_if<telemetry::PrivilegeEvent>(&e)) {
    out += " " + p->comm + " " + p->syscall + " = " + std::to_string(p->result);
    if (p->kind == telemetry::PrivilegeEvent::Kind::kPtrace) {
      out += " target " + std::to_string(p->target);
    }
    if (!p->name.empty()) out += " program " + p->name;
    out += ": " + credentialChanges(p->before, p->after);
  } else if (const auto* k = std::get_if<telemetry::ForkEvent>(&e)) {
    out += " from " + std::to_string(k->parent_tgid);
  } else if (const auto* t = std::get_if<telemetry::TcpEvent>(&e)) {
    out += " " + t->comm + " " + endpoint(t->local_address, t->local_port, t->ipv6);
    if (t->kind != telemetry::TcpEvent::Kind::kListen) {
      out += (t->kind == telemetry::TcpEvent::Kind::kAccept ? " <- " : " -> ") +
             endpoint(t->remote_address, t->remote_port, t->ipv6);
    }
    if (t->kind == telemetry::TcpEvent::Kind::kClose) {
      out += t->failed ? " never established"
                       : " sent " + std::to_string(t->bytes_sent) + " received " +
                             std::to_string(t->bytes_received);
    }
  } else {
    const auto& x = std::get<telemetry::ExitEvent>(e);
    out += " " + x.comm +
           (x.signal ? " killed by signal " + std::to_string(x.signal)
                     : " exit " + std::to_string(x.exit_code));
  }
  return out;
}

}  // namespace

int watchCommand(const GlobalOptions& global, const WatchCommandOptions& options) {
  setupDefaultLogging(global);
  for (const auto& t : options.types) {
    if (std::find(std::begin(kTypes), std::end(kTypes), t) == std::end(kTypes)) {
      std::fprintf(stderr,
                   "demarc watch: --type %s: expected exec, fork, exit, connect, accept, "
                   "listen, close, tcp (all four), setuid, setgid, capset, ptrace, bpf_load, "
                   "module_load, privilege (all six) or udp\n",
                   t.c_str());
      return kExitUsage;
    }
  }
  auto probe = telemetry::TelemetryProbe::open({.self_tgid = static_cast<uint32_t>(::getpid())});
  if (!probe.ok()) {
    std::fprintf(stderr, "demarc watch: %s\n", probe.error().message().c_str());
    return kExitRuntime;
  }
  std::fprintf(stderr,
               "demarc watch: process, TCP, privilege and UDP flow events via %s hooks; Ctrl-C to "
               "stop\n",
               std::string(telemetry::hookName((*probe)->hook())).c_str());
  for (const auto& m : (*probe)->missing()) {
    std::fprintf(stderr, "demarc watch: not available here: %s\n", m.c_str());
  }
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  auto wanted = [&](const telemetry::Event& e) {
    Fields f = fieldsOf(e);
    std::string type(typeName(e));
    auto asked = [&](std::string_view t) {
      return std::find(options.types.begin(), options.types.end(), t) != options.types.end();
    };
    if (!options.types.empty() && !asked(type) &&
        !(std::holds_alternative<telemetry::TcpEvent>(e) && asked("tcp")) &&
        !(std::holds_alternative<telemetry::PrivilegeEvent>(e) && asked("privilege")))
      return false;
    if (!options.pids.empty() &&
        std::find(options.pids.begin(), options.pids.end(), f.pid) == options.pids.end())
      return false;
    if (!options.comms.empty() &&
        std::find(options.comms.begin(), options.comms.end(), f.comm) == options.comms.end())
      return false;
    return true;
  };
  const telemetry::EventDecoder::Sink sink = [&](telemetry::Event&& e) {
    if (!wanted(e)) return;
    std::string line = options.json ? toJson(e) : toLine(e);
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  };
  // UDP flows are summed in the kernel and printed every few seconds.
  auto flows_read = std::chrono::steady_clock::now();
  while (g_stop == 0) {
    auto n = (*probe)->poll(std::chrono::milliseconds(200), sink);
    if (!n.ok()) {
      std::fprintf(stderr, "demarc watch: %s\n", n.error().message().c_str());
      return kExitRuntime;
    }
    if (std::chrono::steady_clock::now() - flows_read >= std::chrono::seconds(5)) {
      flows_read = std::chrono::steady_clock::now();
      (void)(*probe)->flushUdpFlows(sink);
    }
  }
  (void)(*probe)->flushUdpFlows(sink);
  auto drops = (*probe)->drops();
  if (drops.ok() && drops->total() > 0) {
    std::fprintf(stderr, "demarc watch: %llu events lost (ring buffer full)\n",
                 static_cast<unsigned long long>(drops->total()));
  }
  return kExitOk;
}

}  // namespace demarc::cli
