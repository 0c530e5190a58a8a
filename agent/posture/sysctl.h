#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"

namespace demarc::posture {

struct SysctlValue {
  std::string value;
  std::string source;  // "/etc/sysctl.d/99-hardening.conf:4" or "/proc/sys/net/ipv4/ip_forward"
};

struct PersistedSysctl {
  std::map<std::string, SysctlValue> values;  // key with dots: "net.ipv4.ip_forward"
  std::vector<std::string> files;             // in the order they apply
  std::vector<std::string> problems;
};

// What boot will set, with systemd-sysctl's precedence: *.conf files from
// /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d
// and /lib/sysctl.d, a name in an earlier folder hiding the same name in a
// later one, applied in file-name order (later files win); then
// /etc/sysctl.conf, which procps applies last, unless a sysctl.d link
// already pulled it in.
PersistedSysctl readPersistedSysctl(const HostRoot& root);

// The value the running kernel has, from /proc/sys (live roots only).
std::optional<SysctlValue> readRuntimeSysctl(const HostRoot& root, std::string_view key);

// "net/ipv4/ip_forward" and "net.ipv4.ip_forward" -> "net.ipv4.ip_forward".
std::string normalizeSysctlKey(std::string_view key);

}  // namespace demarc::posture
