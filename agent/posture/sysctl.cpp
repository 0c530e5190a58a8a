#include "agent/posture/sysctl.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <set>

#include "agent/core/text.h"

namespace demarc::posture {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 5> kDirs = {"/etc/sysctl.d", "/run/sysctl.d",
                                                   "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
                                                   "/lib/sysctl.d"};

void applyFile(const HostRoot& root, const std::string& path, PersistedSysctl& out) {
  auto text = root.read(path, 1 << 20);
  if (!text.ok()) {
    out.problems.push_back(text.error().message());
    return;
  }
  out.files.push_back(path);
  forEachLine(*text, [&](std::string_view raw, size_t line_no) {
    std::string_view line = trimSpace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') return;
    if (line.front() == '-') line.remove_prefix(1);  // "ignore errors" marker
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.problems.push_back(path + ":" + std::to_string(line_no) + ": no '=' in '" +
                             std::string(line.substr(0, 60)) + "'");
      return;
    }
    std::string key = normalizeSysctlKey(trimSpace(line.substr(0, eq)));
    if (key.empty()) return;
    out.values[key] = {std::string(trimSpace(line.substr(eq + 1))),
                       path + ":" + std::to_string(line_no)};
  });
}

}  // namespace

std::string normalizeSysctlKey(std::string_view key) {
  std::string out(key);
  // A key written with slashes uses them as separators (dots may then be
  // part of a name, like a VLAN interface "eth0.10"); keep it simple and
  // treat either form as path separators.
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

PersistedSysctl readPersistedSysctl(const HostRoot& root) {
  PersistedSysctl out;
  std::map<std::string, std::string> by_name;  // file name -> winning path
  for (std::string_view dir : kDirs) {
    auto entries = root.list(dir);
    if (!entries.ok()) continue;
    for (const auto& entry : *entries) {
      if (!entry.name.ends_with(".conf")) continue;
      by_name.emplace(entry.name, std::string(dir) + "/" + entry.name);  // earlier folders win
    }
  }
  std::set<std::string> applied;
  for (const auto& [name, path] : by_name) {  // std::map: file-name order
    // A symlink to /dev/null masks a file of the same name; a symlink to
    // /etc/sysctl.conf (Debian's 99-sysctl.conf) applies it here.
    auto target = root.readLink(path);
    if (target.ok() && *target == "/dev/null") continue;
    applied.insert(target.ok()
                       ? fs::path(path).parent_path().append(*target).lexically_normal().string()
                       : path);
    applyFile(root, path, out);
  }
  if (root.lstat("/etc/sysctl.conf").ok() && !applied.count("/etc/sysctl.conf")) {
    applyFile(root, "/etc/sysctl.conf", out);
  }
  return out;
}

std::optional<SysctlValue> readRuntimeSysctl(const HostRoot& root, std::string_view key) {
  if (!root.isLive()) return std::nullopt;
  std::string path = "/proc/sys/" + normalizeSysctlKey(key);
  std::replace(path.begin() + 10, path.end(), '.', '/');
  auto text = root.read(path, 64 * 1024);
  if (!text.ok()) return std::nullopt;
  std::string value(trimSpace(std::string_view(*text).substr(0, text->find('\n'))));
  // Multi-value entries use tabs ("4096\t87380\t6291456"); sysctl prints spaces.
  std::replace(value.begin(), value.end(), '\t', ' ');
  return SysctlValue{value, path};
}

}  // namespace demarc::posture
