#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc::posture {

enum class Exposure { kLoopback, kSpecificAddress, kAllAddresses };
std::string_view exposureName(Exposure e);

// One row of /proc/net/{tcp,tcp6,udp,udp6} that is a listener: TCP in
// LISTEN, UDP unconnected (the sockets `ss -l` shows).
struct SocketEntry {
  std::string protocol;  // "tcp" or "udp"
  int family = 4;        // 4 or 6
  std::string address;   // textual, "0.0.0.0", "::1"
  uint16_t port = 0;
  uint32_t uid = 0;
  uint64_t inode = 0;
};

// Parses one /proc/net table. Rows that do not parse are counted in
// *malformed_rows; a damaged table never fails the whole read.
std::vector<SocketEntry> parseProcNet(std::string_view text, std::string_view protocol, int family,
                                      size_t* malformed_rows);

struct SocketOwner {
  uint32_t pid = 0;
  std::string comm;
  std::string executable;
  uint32_t uid = 0;    // the process's real uid
  std::string cgroup;  // its cgroup v2 path
};

struct Listener {
  SocketEntry socket;
  Exposure exposure = Exposure::kAllAddresses;
  std::vector<SocketOwner> owners;  // processes holding the socket, by pid
  std::string net_namespace;        // "net:[4026531840]" of the reader
};

struct ListenerScan {
  std::vector<Listener> listeners;  // sorted by protocol, family, port, address
  std::vector<std::string> problems;
};

// Every listening TCP and UDP socket, IPv4 and IPv6, of the network
// namespace this process is in, with the processes that hold it (found
// through /proc/PID/fd). Needs a live root.
Result<ListenerScan> scanListeners(const HostRoot& root);

}  // namespace demarc::posture
