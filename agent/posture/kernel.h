#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/host_root.h"
#include "agent/posture/apt.h"
#include "agent/posture/rpmdb.h"

namespace demarc::posture {

struct KernelStatus {
  std::string running;                 // /proc/sys/kernel/osrelease; empty offline
  std::vector<std::string> installed;  // releases with a /boot/vmlinuz-RELEASE
  std::string newest_installed;
  // The running kernel is older than one installed: a reboot would change it.
  bool newer_kernel_installed = false;
  // /var/run/reboot-required (Debian, Ubuntu) and the packages it names.
  bool reboot_flag = false;
  std::vector<std::string> reboot_flag_packages;
  std::string reboot_source = "/var/run/reboot-required";  // where the flag was read
};

// Kernels from /boot/vmlinuz-* under root (distribution-neutral), ordered by
// version; the running one from /proc when the root is live.
KernelStatus readKernelStatus(const HostRoot& root);

// rpm systems have no reboot flag file; `dnf needs-restarting -r` says a
// reboot is needed when the kernel, glibc, systemd, dbus or linux-firmware
// (and names listed in /etc/dnf/plugins/needs-restarting.d/*.conf) were
// installed after boot. Sets the flag that way.
void applyRpmRebootRule(KernelStatus& status, const std::vector<RpmPackage>& installed,
                        SystemTime booted, const std::vector<std::string>& extra_names);
// "btime" of /proc/stat under root; empty when it cannot be read.
std::optional<SystemTime> readBootTime(const HostRoot& root);
// Package names in /etc/dnf/plugins/needs-restarting.d/*.conf (one per line).
std::vector<std::string> readNeedsRestartingNames(const HostRoot& root);

struct LastPackageChange {
  std::optional<SystemTime> when;
  std::string source;  // "/var/log/dpkg.log:LINE" or the file whose mtime was used
};

// When a package was last installed or upgraded: the newest "status
// installed" line of dpkg's log; when the log is gone (rotated away), the
// modification time of dpkg's status file, and the source says which.
LastPackageChange readLastPackageChange(const HostRoot& root);

}  // namespace demarc::posture
