#include "agent/posture/ports.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>

#include "agent/core/files.h"
#include "agent/core/text.h"

namespace demarc::posture {
namespace {

constexpr std::string_view kTcpListen = "0A";
constexpr std::string_view kUdpUnconnected = "07";

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool parseNumber(std::string_view s, T& out, int base = 10) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// The kernel prints each 32-bit word of the address as the number it holds
// in memory ("%08X" of a big-endian value), so on a little-endian host the
// bytes of each word come out reversed.
bool parseAddress(std::string_view hex, int family, std::string& out) {
  size_t words = family == 4 ? 1 : 4;
  if (hex.size() != words * 8) return false;
  unsigned char bytes[16];
  for (size_t w = 0; w < words; ++w) {
    uint32_t word = 0;
    if (!parseNumber(hex.substr(w * 8, 8), word, 16)) return false;
    std::memcpy(bytes + w * 4, &word, 4);  // back to the bytes the kernel held
  }
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, text, sizeof(text)) == nullptr) {
    return false;
  }
  out = text;
  return true;
}

Exposure exposureOf(const SocketEntry& s) {
  if (s.address == "0.0.0.0" || s.address == "::") return Exposure::kAllAddresses;
  if (s.address.starts_with("127.") || s.address == "::1" || s.address.starts_with("::ffff:127.")) {
    return Exposure::kLoopback;
  }
  return Exposure::kSpecificAddress;
}

// inode -> holders, from /proc/PID/fd/N -> "socket:[INODE]".
std::map<uint64_t, std::vector<SocketOwner>> socketOwners(const HostRoot& root,
                                                          std::vector<std::string>& problems) {
  std::map<uint64_t, std::vector<SocketOwner>> owners;
  std::error_code ec;
  size_t unreadable = 0;
  for (const auto& proc : std::filesystem::directory_iterator(root.path("/proc"), ec)) {
    std::string name = proc.path().filename().string();
    uint32_t pid = 0;
    if (!parseNumber(name, pid)) continue;
    std::error_code fd_ec;
    std::filesystem::directory_iterator fds(proc.path() / "fd", fd_ec);
    if (fd_ec) {
      // Processes exit while we look; only count what denies us.
      if (fd_ec == std::errc::permission_denied) ++unreadable;
      continue;
    }
    std::vector<uint64_t> inodes;
    for (const auto& fd : fds) {
      std::error_code link_ec;
      std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
      if (link_ec || !target.starts_with("socket:[") || target.back() != ']') continue;
      uint64_t inode = 0;
      if (parseNumber(std::string_view(target).substr(8, target.size() - 9), inode)) {
        inodes.push_back(inode);
      }
    }
    if (inodes.empty()) continue;
    SocketOwner owner;
    owner.pid = pid;
    auto comm = root.readLine("/proc/" + name + "/comm");
    owner.comm = comm.ok() ? *comm : "";
    std::error_code exe_ec;
    owner.executable = std::filesystem::read_symlink(proc.path() / "exe", exe_ec).string();
    auto cgroup = root.read("/proc/" + name + "/cgroup", 64 * 1024);
    if (cgroup.ok()) {
      // cgroup v2: "0::/system.slice/ssh.service"
      size_t at = cgroup->find("0::");
      if (at != std::string::npos) {
        owner.cgroup = cgroup->substr(at + 3, cgroup->find('\n', at) - at - 3);
      }
    }
    auto status = root.read("/proc/" + name + "/status", 64 * 1024);
    if (status.ok()) {
      size_t at = status->find("\nUid:");
      if (at != std::string::npos) {
        auto f = fields(std::string_view(*status).substr(at + 5, 64));
        if (!f.empty()) parseNumber(f[0], owner.uid);
      }
    }
    std::sort(inodes.begin(), inodes.end());
    inodes.erase(std::unique(inodes.begin(), inodes.end()), inodes.end());
    for (uint64_t inode : inodes) owners[inode].push_back(owner);
  }
  if (unreadable > 0) {
    problems.push_back("/proc/*/fd of " + std::to_string(unreadable) +
                       " processes not readable: owners of some sockets are unknown (run as root)");
  }
  return owners;
}

}  // namespace

std::string_view exposureName(Exposure e) {
  switch (e) {
    case Exposure::kLoopback:
      return "loopback";
    case Exposure::kSpecificAddress:
      return "specific_address";
    case Exposure::kAllAddresses:
      return "all_addresses";
  }
  return "unknown";
}

namespace {

// One row of a /proc/net table: a listening socket is added to out.
void parseProcNetRow(std::string_view line, size_t line_no, std::string_view protocol, int family,
                     std::vector<SocketEntry>& out, size_t* malformed_rows) {
  if (line_no == 1) return;  // the column names
  auto f = fields(line);
  if (f.empty()) return;
  // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
  if (f.size() < 10) {
    if (malformed_rows) ++*malformed_rows;
    return;
  }
  std::string_view state = f[3];
  if (state != (protocol == "tcp" ? kTcpListen : kUdpUnconnected)) return;
  SocketEntry entry;
  entry.protocol = std::string(protocol);
  entry.family = family;
  size_t colon = f[1].find(':');
  uint32_t port = 0;
  if (colon == std::string_view::npos ||
      !parseAddress(f[1].substr(0, colon), family, entry.address) ||
      !parseNumber(f[1].substr(colon + 1), port, 16) || port > 0xffff ||
      !parseNumber(f[7], entry.uid) || !parseNumber(f[9], entry.inode)) {
    if (malformed_rows) ++*malformed_rows;
    return;
  }
  entry.port = static_cast<uint16_t>(port);
  out.push_back(std::move(entry));
}

}  // namespace

std::vector<SocketEntry> parseProcNet(std::string_view text, std::string_view protocol, int family,
                                      size_t* malformed_rows) {
  std::vector<SocketEntry> out;
  forEachLine(text, [&](std::string_view line, size_t line_no) {
    parseProcNetRow(line, line_no, protocol, family, out, malformed_rows);
  });
  return out;
}

Result<ListenerScan> scanListeners(const HostRoot& root) {
  if (!root.isLive()) {
    return Error(ErrorCode::kUnavailable, "listening sockets exist only on a live host");
  }
  ListenerScan scan;
  struct Table {
    const char* path;
    const char* protocol;
    int family;
  };
  static constexpr Table kTables[] = {{"/proc/net/tcp", "tcp", 4},
                                      {"/proc/net/tcp6", "tcp", 6},
                                      {"/proc/net/udp", "udp", 4},
                                      {"/proc/net/udp6", "udp", 6}};
  std::vector<SocketEntry> sockets;
  for (const Table& t : kTables) {
    // Read row by row: the TCP tables list every socket of the host, and
    // tens of thousands in TIME_WAIT are common on a busy server.
    size_t malformed = 0;
    auto read = root.forEachLine(t.path, [&](std::string_view line, size_t line_no) {
      parseProcNetRow(line, line_no, t.protocol, t.family, sockets, &malformed);
    });
    if (!read.ok()) {
      // No IPv6 in this kernel, for example.
      if (read.error().code() != ErrorCode::kNotFound) {
        scan.problems.push_back(read.error().message());
      }
      continue;
    }
    if (malformed > 0) {
      scan.problems.push_back(std::string(t.path) + ": " + std::to_string(malformed) +
                              " rows not understood");
    }
  }
  auto owners = socketOwners(root, scan.problems);
  std::error_code ec;
  std::string netns = std::filesystem::read_symlink(root.path("/proc/self/ns/net"), ec).string();
  for (auto& s : sockets) {
    Listener l;
    l.exposure = exposureOf(s);
    l.net_namespace = netns;
    auto it = owners.find(s.inode);
    if (it != owners.end()) l.owners = it->second;
    l.socket = std::move(s);
    scan.listeners.push_back(std::move(l));
  }
  std::sort(scan.listeners.begin(), scan.listeners.end(), [](const Listener& a, const Listener& b) {
    return std::tie(a.socket.protocol, a.socket.family, a.socket.port, a.socket.address) <
           std::tie(b.socket.protocol, b.socket.family, b.socket.port, b.socket.address);
  });
  return scan;
}

}  // namespace demarc::posture
