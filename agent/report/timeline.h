#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/record.pb.h"

namespace demarc::report {

// What happened on the instances in a time window, from verified records:
// the process tree (who started whom, with arguments, user, working
// directory, exit), each process's network connections and privilege
// changes, and the gaps in the evidence. Only what the filters select is
// kept, so memory follows the answer, not the evidence.
class Timeline {
 public:
  struct Filter {
    std::optional<SystemTime> since, until;
    std::optional<uint32_t> pid;  // this process and what it started
    std::string exec_id;          // this process and what it started
    std::string comm;             // processes by name (comm or executable's file name)
    std::optional<uint32_t> uid;  // processes running as this user (real or effective)
    std::string addr;             // connections with this local or remote address
    std::optional<uint32_t> port;
    std::string instance;  // instance id, hostname or agent id
    // Narrow the window to the first stretch of silence in the evidence:
    // from the last heartbeat before it to the first record after it.
    bool around_gap = false;
  };
  explicit Timeline(Filter filter) : filter_(std::move(filter)) {}

  void add(const v1::BatchHeader& header, const v1::Record& record);
  // When around_gap: the window to read again, or nullopt when the evidence
  // has no gap. Call after a first pass that saw every heartbeat.
  std::optional<std::pair<SystemTime, SystemTime>> firstGap() const;

  nlohmann::json toJson() const;
  // The same JSON written as it is made, one process at a time: a process
  // with a million connections is not built in memory first.
  void writeJson(std::ostream& out) const;
  // An indented tree in time order, for a terminal, written as it is made.
  void writeText(std::ostream& out) const;
  std::string toHtml() const;

 private:
  // A day of a busy host holds hundreds of thousands of connections: each
  // is kept in a few dozen bytes, its texts as indexes into strings_.
  struct Connection {
    SystemTime time{};
    uint32_t kind = 0;  // connect, accept, listen, close, flow
    uint32_t protocol = 0, local = 0, remote = 0;
    uint16_t local_port = 0, remote_port = 0;
    bool failed = false;
    uint64_t bytes_sent = 0, bytes_received = 0;
  };
  struct Privilege {
    SystemTime time{};
    std::string kind, syscall;
    int64_t result = 0;
    uint32_t uid_before = 0, uid_after = 0, euid_before = 0, euid_after = 0;
  };
  struct Process {
    std::string exec_id, parent_exec_id, agent_id;
    uint32_t pid = 0, ppid = 0, uid = 0, euid = 0;
    std::string comm, executable, cwd;
    std::vector<std::string> argv;
    std::vector<std::string> privileges_gained;
    SystemTime start{};
    std::optional<SystemTime> end;
    std::optional<int32_t> exit_code;
    uint32_t signal = 0;
    bool seen_exec = false;
    std::deque<Connection> connections;  // grows without copying or doubling
    std::vector<Privilege> privileges;
  };
  struct Gap {
    std::string agent_id;
    SystemTime last_heartbeat{}, resumed{};
  };

  bool inWindow(SystemTime t) const;
  bool addressFiltered() const { return !filter_.addr.empty() || filter_.port.has_value(); }
  bool processSelected(const v1::ProcessEvent& exec, bool in_subtree) const;
  Process* processFor(const std::string& exec_id);
  std::vector<const Process*> roots() const;
  std::vector<const Process*> shown() const;  // what the filters selected, by start
  nlohmann::json headJson() const;
  nlohmann::json processJson(const Process& p) const;  // without its connections
  nlohmann::json connectionJson(const Connection& c) const;
  void appendConnectionJson(const Connection& c, std::string& out) const;

  Filter filter_;
  std::map<std::string, Process> processes_;  // by exec id
  std::set<std::string> subtree_;             // exec ids under a --pid/--exec-id root
  struct HeartbeatSeen {
    SystemTime time{};
    uint64_t interval_ms = 0;
  };
  std::map<std::string, HeartbeatSeen> heartbeats_;  // the last, by agent, for gaps
  std::vector<Gap> gaps_;
  uint64_t records_ = 0;
  std::vector<std::string> strings_;
  std::map<std::string, uint32_t, std::less<>> string_ids_;
  uint32_t intern(std::string_view text);
  const std::string& text(uint32_t id) const { return strings_[id]; }
};

}  // namespace demarc::report
