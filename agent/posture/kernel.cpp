#include "agent/posture/kernel.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "agent/core/files.h"
#include "agent/core/text.h"
#include "agent/posture/debian_version.h"

namespace demarc::posture {
namespace {

// "2026-11-30 23:15:01" in local time as dpkg writes it; read as UTC, which
// is what instances run on (and a few hours do not change "days since").
std::optional<SystemTime> parseDpkgLogTime(std::string_view line) {
  if (line.size() < 19) return std::nullopt;
  std::string rfc(line.substr(0, 19));
  rfc[10] = 'T';
  return parseTime(rfc + "Z");
}

}  // namespace

KernelStatus readKernelStatus(const HostRoot& root) {
  KernelStatus status;
  if (root.isLive()) {
    auto running = root.readLine("/proc/sys/kernel/osrelease");
    if (running.ok()) status.running = *running;
  }
  auto boot = root.list("/boot");
  for (const auto& entry : boot.ok() ? *boot : std::vector<HostRoot::DirEntry>{}) {
    const std::string& name = entry.name;
    if (name.starts_with("vmlinuz-") && name.size() > 8) status.installed.push_back(name.substr(8));
  }
  std::sort(
      status.installed.begin(), status.installed.end(),
      [](const std::string& a, const std::string& b) { return compareDebianVersions(a, b) < 0; });
  if (!status.installed.empty()) {
    status.newest_installed = status.installed.back();
    status.newer_kernel_installed =
        !status.running.empty() &&
        compareDebianVersions(status.running, status.newest_installed) < 0;
  }
  status.reboot_flag = root.lstat("/var/run/reboot-required").ok();
  if (status.reboot_flag) {
    auto pkgs = root.read("/var/run/reboot-required.pkgs", 64 * 1024);
    if (pkgs.ok()) {
      forEachLine(*pkgs, [&](std::string_view line, size_t) {
        if (!line.empty()) status.reboot_flag_packages.emplace_back(line);
      });
    }
  }
  return status;
}

void applyRpmRebootRule(KernelStatus& status, const std::vector<RpmPackage>& installed,
                        SystemTime booted, const std::vector<std::string>& extra_names) {
  static const char* const kNeedReboot[] = {"kernel", "kernel-core",    "kernel-rt",
                                            "glibc",  "linux-firmware", "systemd",
                                            "dbus",   "dbus-broker",    "dbus-daemon"};
  auto needs = [&](const std::string& name) {
    return std::find(std::begin(kNeedReboot), std::end(kNeedReboot), name) !=
               std::end(kNeedReboot) ||
           std::find(extra_names.begin(), extra_names.end(), name) != extra_names.end();
  };
  auto boot = std::chrono::duration_cast<std::chrono::seconds>(booted.time_since_epoch()).count();
  status.reboot_flag = false;
  status.reboot_flag_packages.clear();
  status.reboot_source = "/var/lib/rpm/rpmdb.sqlite (install times), /proc/stat (boot time)";
  for (const auto& p : installed) {
    if (p.install_time > boot && needs(p.name)) {
      status.reboot_flag = true;
      status.reboot_flag_packages.push_back(p.name + "-" + p.evr());
    }
  }
  std::sort(status.reboot_flag_packages.begin(), status.reboot_flag_packages.end());
}

std::optional<SystemTime> readBootTime(const HostRoot& root) {
  std::optional<SystemTime> booted;
  auto stat = root.read("/proc/stat", 1 << 20);
  if (!stat.ok()) return booted;
  forEachLine(*stat, [&](std::string_view line, size_t) {
    int64_t seconds = 0;
    if (line.starts_with("btime ") &&
        std::from_chars(line.data() + 6, line.data() + line.size(), seconds).ec == std::errc()) {
      booted = fromUnixTime(seconds);
    }
  });
  return booted;
}

std::vector<std::string> readNeedsRestartingNames(const HostRoot& root) {
  std::vector<std::string> names;
  for (const auto& file : root.glob("/etc/dnf/plugins/needs-restarting.d/*.conf")) {
    auto text = root.read(file, 1 << 20);
    if (!text.ok()) continue;
    forEachLine(*text, [&](std::string_view line, size_t) {
      std::string_view name = trimSpace(line);
      if (!name.empty() && name.front() != '#') names.emplace_back(name);
    });
  }
  return names;
}

LastPackageChange readLastPackageChange(const HostRoot& root) {
  LastPackageChange change;
  auto log = root.read("/var/log/dpkg.log", 256ULL << 20);
  if (log.ok()) {
    forEachLine(*log, [&](std::string_view line, size_t line_no) {
      if (line.find(" status installed ") == std::string_view::npos) return;
      auto t = parseDpkgLogTime(line);
      if (t && (!change.when || *t >= *change.when)) {
        change.when = t;
        change.source = "/var/log/dpkg.log:" + std::to_string(line_no);
      }
    });
    if (change.when) return change;
  }
  if (auto st = root.lstat("/var/lib/dpkg/status"); st.ok()) {
    change.when = fromUnixTime(st->st_mtim.tv_sec);
    change.source = "/var/lib/dpkg/status (modification time; dpkg.log has no installs)";
  }
  return change;
}

}  // namespace demarc::posture
