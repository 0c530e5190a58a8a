// Checks of the system's make-up: kernel modules, systemd units, packages,
// mounts, accounts, time synchronisation and mandatory access control.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "agent/core/text.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"
#include "agent/posture/checks/util.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {
namespace {

std::string unitState(const UnitInfo& info) {
  if (info.masked) return "masked";
  if (info.path.empty()) return "absent";
  if (info.enabled) return "enabled";
  if (info.is_static) return "static";
  return "disabled";
}

bool nologinShell(const std::string& shell) {
  return shell.ends_with("/nologin") || shell.ends_with("/false") || shell == "/bin/sync" ||
         shell == "/sbin/shutdown" || shell == "/sbin/halt" || shell.empty();
}

std::string field(const DatabaseLine& line, size_t i) {
  return i < line.fields.size() ? line.fields[i] : std::string();
}

// Duplicate values of one field across a database.
CheckOutcome uniqueField(const std::vector<DatabaseLine>& db, size_t index, const char* what,
                         const char* file) {
  std::map<std::string, std::string> seen;
  std::vector<std::string> dups;
  std::vector<std::string> sources;
  for (const auto& line : db) {
    auto [it, fresh] = seen.emplace(field(line, index), line.source);
    if (!fresh) {
      dups.push_back(field(line, index));
      sources.push_back(it->second);
      sources.push_back(line.source);
    }
  }
  std::string expected = std::string("unique ") + what;
  if (dups.empty()) return CheckOutcome::pass(std::string("no duplicate ") + what, expected, file);
  return CheckOutcome::fail("duplicate " + std::string(what) + ": " + joinList(dups), expected,
                            joinList(sources));
}

// Every line of a database that breaks a rule: PASS with `ok` when none
// does, else FAIL naming each (as `describe` puts it) with its file:line.
CheckOutcome offendingLines(const std::vector<DatabaseLine>& db, const char* file,
                            const std::function<bool(const DatabaseLine&)>& bad,
                            const std::function<std::string(const DatabaseLine&)>& describe,
                            const std::string& ok, const std::string& fail_prefix,
                            const std::string& expected) {
  std::vector<std::string> found;
  std::vector<std::string> sources;
  for (const auto& line : db) {
    if (!bad(line)) continue;
    found.push_back(describe(line));
    sources.push_back(line.source);
  }
  if (found.empty()) return CheckOutcome::pass(ok, expected, file);
  return CheckOutcome::fail(fail_prefix + joinList(found), expected, joinList(sources));
}

}  // namespace

CheckOutcome runModuleCheck(const rules::v1::Check& check, ScanContext& context) {
  std::string name = check.module().name();
  std::replace(name.begin(), name.end(), '-', '_');
  const KernelModules& m = context.kernelModules();
  std::string expected = "install " + name + " /bin/false in modprobe.d, and not loaded";
  if (m.loaded.count(name)) {
    return CheckOutcome::fail(name + " is loaded", expected, "/proc/modules");
  }
  if (m.builtin.count(name)) {
    return CheckOutcome::fail(name + " is built into the kernel; modprobe.d cannot disable it",
                              expected, "modules.builtin");
  }
  auto install = m.install.find(name);
  bool disabled = install != m.install.end() && (install->second.first.ends_with("/bin/false") ||
                                                 install->second.first.ends_with("/bin/true"));
  auto black = m.blacklist.find(name);
  std::string blacklisted = black == m.blacklist.end() ? "" : ", blacklisted at " + black->second;
  if (disabled) {
    return CheckOutcome::pass("install " + name + " " + install->second.first + blacklisted,
                              expected, install->second.second);
  }
  if (!m.shipped.empty() && !m.shipped.count(name)) {
    return CheckOutcome::pass(name + " is not shipped by any installed kernel", expected,
                              "/lib/modules/*/modules.dep");
  }
  std::string observed = install == m.install.end()
                             ? "no install line" + blacklisted
                             : "install " + name + " " + install->second.first + blacklisted;
  if (black != m.blacklist.end() && install == m.install.end()) {
    observed += " (blacklist stops automatic loading only; modprobe " + name + " still works)";
  }
  std::string source = install != m.install.end()   ? install->second.second
                       : black != m.blacklist.end() ? black->second
                                                    : "/etc/modprobe.d";
  return CheckOutcome::fail(observed, expected, source);
}

void validateModuleCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.module().name().empty()) problems.push_back("name: required");
}

CheckOutcome runUnitCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.unit();
  std::vector<CheckOutcome> outcomes;
  for (const auto& name : spec.name()) {
    const UnitInfo& info = context.unit(name);
    std::string state = unitState(info);
    bool ok = false;
    std::string expected;
    switch (spec.state()) {
      case rules::v1::UNIT_STATE_ENABLED:
        ok = state == "enabled" || state == "static";
        expected = "enabled";
        break;
      case rules::v1::UNIT_STATE_DISABLED:
        ok = state == "disabled";
        expected = "disabled";
        break;
      case rules::v1::UNIT_STATE_MASKED:
        ok = state == "masked";
        expected = "masked";
        break;
      case rules::v1::UNIT_STATE_ABSENT:
        ok = state == "absent";
        expected = "absent";
        break;
      default:
        ok = state != "enabled" && state != "static";
        expected = "not enabled (disabled, masked or absent)";
        break;
    }
    std::string observed = name + " " + state;
    if (info.enabled) observed += " (via " + info.enabled_by + ")";
    std::string source = info.path.empty() ? "systemd unit folders" : info.path;
    outcomes.push_back(ok ? CheckOutcome::pass(observed, expected, source)
                          : CheckOutcome::fail(observed, expected, source));
  }
  return combineOutcomes(outcomes);
}

void validateUnitCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.unit().name_size() == 0) problems.push_back("name: at least one unit");
  for (const auto& n : check.unit().name()) {
    if (n.find('.') == std::string::npos)
      problems.push_back("name: '" + n + "' needs its suffix (.service, .socket, .timer)");
  }
  if (check.unit().state() == rules::v1::UNIT_STATE_UNSPECIFIED)
    problems.push_back("state: required");
}

CheckOutcome runPackageCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.package();
  const auto& installed = context.installedPackages();
  if (!installed.ok()) return CheckOutcome::error(installed.error().message());
  std::vector<std::string> present;
  for (const auto& n : spec.name()) {
    if (installed->count(n)) present.push_back(n);
  }
  std::string names = joinList({spec.name().begin(), spec.name().end()}, " or ");
  std::string source = "package database";
  if (spec.state() == rules::v1::PACKAGE_STATE_INSTALLED) {
    if (!present.empty())
      return CheckOutcome::pass(joinList(present) + " installed", names + " installed", source);
    return CheckOutcome::fail(names + " not installed", names + " installed", source);
  }
  if (present.empty()) return CheckOutcome::pass(names + " not installed", "not installed", source);
  return CheckOutcome::fail(joinList(present) + " installed", "not installed", source);
}

void validatePackageCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.package().name_size() == 0) problems.push_back("name: at least one package");
  if (check.package().state() == rules::v1::PACKAGE_STATE_UNSPECIFIED)
    problems.push_back("state: required");
}

CheckOutcome runMountCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.mount();
  const auto& mounts = context.mounts();
  if (!mounts.ok()) return CheckOutcome::error(mounts.error().message());
  const MountEntry* entry = nullptr;
  for (const auto& m : *mounts) {
    if (m.mount_point == spec.path()) entry = &m;  // the last mount on a path is the visible one
  }
  std::string table = context.live() ? "/proc/self/mounts" : "/etc/fstab";
  if (!entry) {
    if (spec.separate()) {
      return CheckOutcome::fail(spec.path() + " is not a separate filesystem",
                                "separate filesystem", table);
    }
    return CheckOutcome::notApplicable(spec.path() + " is not a separate filesystem", table);
  }
  std::vector<std::string> missing;
  for (const auto& o : spec.options()) {
    if (std::find(entry->options.begin(), entry->options.end(), o) == entry->options.end()) {
      missing.push_back(o);
    }
  }
  std::string observed = spec.path() + " " + entry->fstype + " " + joinList(entry->options, ",");
  std::string expected =
      spec.options_size()
          ? "options " + joinList({spec.options().begin(), spec.options().end()}, ",")
          : "separate filesystem";
  if (missing.empty()) return CheckOutcome::pass(observed, expected, entry->source);
  return CheckOutcome::fail(observed + " (missing " + joinList(missing) + ")", expected,
                            entry->source);
}

void validateMountCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.mount().path().empty() || check.mount().path()[0] != '/')
    problems.push_back("path: an absolute mount point");
  if (check.mount().options_size() == 0 && !check.mount().separate())
    problems.push_back("give options or separate: true");
}

CheckOutcome runAccountsCheck(const rules::v1::Check& check, ScanContext& context) {
  const AccountDatabases& db = context.accounts();
  using R = rules::v1::AccountsRule;
  auto need = [&](const std::vector<DatabaseLine>& table,
                  const char* file) -> std::optional<CheckOutcome> {
    if (!table.empty()) return std::nullopt;
    for (const auto& p : db.problems) {
      if (p.find(file) != std::string::npos) return CheckOutcome::error(p, file);
    }
    return CheckOutcome::error(std::string(file) + " has no entries", file);
  };
  switch (check.accounts().rule()) {
    case R::ACCOUNTS_RULE_ONLY_ROOT_UID_ZERO:
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      return offendingLines(
          db.passwd, "/etc/passwd",
          [](const DatabaseLine& l) { return field(l, 2) == "0" && field(l, 0) != "root"; },
          [](const DatabaseLine& l) { return field(l, 0); }, "only root has uid 0",
          "uid 0: ", "only root has uid 0");
    case R::ACCOUNTS_RULE_NO_EMPTY_PASSWORDS:
      if (auto e = need(db.shadow, "/etc/shadow")) return *e;
      return offendingLines(
          db.shadow, "/etc/shadow", [](const DatabaseLine& l) { return field(l, 1).empty(); },
          [](const DatabaseLine& l) { return field(l, 0); }, "no empty password hashes",
          "empty password: ", "no empty password hashes");
    case R::ACCOUNTS_RULE_ALL_SHADOWED:
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      return offendingLines(
          db.passwd, "/etc/passwd", [](const DatabaseLine& l) { return field(l, 1) != "x"; },
          [](const DatabaseLine& l) { return field(l, 0); }, "every password field is x",
          "not shadowed: ", "x (hash in /etc/shadow)");
    case R::ACCOUNTS_RULE_UNIQUE_UIDS:
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      return uniqueField(db.passwd, 2, "uids", "/etc/passwd");
    case R::ACCOUNTS_RULE_UNIQUE_GIDS:
      if (auto e = need(db.group, "/etc/group")) return *e;
      return uniqueField(db.group, 2, "gids", "/etc/group");
    case R::ACCOUNTS_RULE_UNIQUE_USER_NAMES:
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      return uniqueField(db.passwd, 0, "user names", "/etc/passwd");
    case R::ACCOUNTS_RULE_UNIQUE_GROUP_NAMES:
      if (auto e = need(db.group, "/etc/group")) return *e;
      return uniqueField(db.group, 0, "group names", "/etc/group");
    case R::ACCOUNTS_RULE_GROUPS_EXIST: {
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      std::set<std::string> gids;
      for (const auto& g : db.group) gids.insert(field(g, 2));
      return offendingLines(
          db.passwd, "/etc/passwd, /etc/group",
          [&](const DatabaseLine& l) { return gids.count(field(l, 3)) == 0; },
          [](const DatabaseLine& l) { return field(l, 0) + " (gid " + field(l, 3) + ")"; },
          "every primary group exists", "missing groups: ", "every passwd gid in /etc/group");
    }
    case R::ACCOUNTS_RULE_SHADOW_GROUP_EMPTY: {
      if (auto e = need(db.group, "/etc/group")) return *e;
      std::string shadow_gid;
      for (const auto& g : db.group) {
        if (field(g, 0) != "shadow") continue;
        shadow_gid = field(g, 2);
        if (!field(g, 3).empty())
          return CheckOutcome::fail("shadow members: " + field(g, 3), "no members", g.source);
      }
      for (const auto& l : db.passwd) {
        if (!shadow_gid.empty() && field(l, 3) == shadow_gid) {
          return CheckOutcome::fail(field(l, 0) + " has shadow as primary group", "no members",
                                    l.source);
        }
      }
      return CheckOutcome::pass("shadow group has no members", "no members", "/etc/group");
    }
    case R::ACCOUNTS_RULE_ROOT_GID_ZERO: {
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      for (const auto& l : db.passwd) {
        if (field(l, 0) != "root") continue;
        if (field(l, 3) == "0") return CheckOutcome::pass("root gid 0", "root gid 0", l.source);
        return CheckOutcome::fail("root gid " + field(l, 3), "root gid 0", l.source);
      }
      return CheckOutcome::fail("no root account", "root gid 0", "/etc/passwd");
    }
    case R::ACCOUNTS_RULE_ONLY_ROOT_GROUP_GID_ZERO:
      if (auto e = need(db.group, "/etc/group")) return *e;
      return offendingLines(
          db.group, "/etc/group",
          [](const DatabaseLine& g) { return field(g, 2) == "0" && field(g, 0) != "root"; },
          [](const DatabaseLine& g) { return field(g, 0); }, "only group root has gid 0",
          "gid 0: ", "only root has gid 0");
    case R::ACCOUNTS_RULE_SYSTEM_ACCOUNTS_NO_SHELL:
      if (auto e = need(db.passwd, "/etc/passwd")) return *e;
      return offendingLines(
          db.passwd, "/etc/passwd",
          [&](const DatabaseLine& l) {
            std::string name = field(l, 0);
            unsigned long uid = std::strtoul(field(l, 2).c_str(), nullptr, 10);
            bool exempt = name == "root" || name == "sync" || name == "shutdown" ||
                          name == "halt" || name == "nfsnobody" || uid >= db.uid_min ||
                          uid == 65534;
            return !exempt && !nologinShell(field(l, 6));
          },
          [](const DatabaseLine& l) { return field(l, 0) + " (" + field(l, 6) + ")"; },
          "no system account has a login shell",
          "login shells: ", "uids below " + std::to_string(db.uid_min) + " use nologin or false");
    case R::ACCOUNTS_RULE_ROOT_ACCESS_CONTROLLED: {
      if (auto e = need(db.shadow, "/etc/shadow")) return *e;
      for (const auto& l : db.shadow) {
        if (field(l, 0) != "root") continue;
        std::string hash = field(l, 1);
        std::string state = hash.empty()                       ? "empty password"
                            : hash[0] == '!' || hash[0] == '*' ? "locked"
                                                               : "password set";
        if (hash.empty())
          return CheckOutcome::fail("root: " + state, "password set or locked", l.source);
        return CheckOutcome::pass("root: " + state, "password set or locked", l.source);
      }
      return CheckOutcome::fail("no root entry", "password set or locked", "/etc/shadow");
    }
    default:
      return CheckOutcome::error("unknown accounts rule");
  }
}

void validateAccountsCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.accounts().rule() == rules::v1::ACCOUNTS_RULE_UNSPECIFIED)
    problems.push_back("rule: required");
}

CheckOutcome runTimeSyncCheck(const rules::v1::Check& check, ScanContext& context) {
  struct Daemon {
    const char* name;
    std::vector<const char*> units;
    std::vector<const char*> configs;  // files or globs with server/pool lines
    const char* key_pattern;           // ERE on a config line
  };
  const std::vector<Daemon> daemons = {
      {"chrony",
       {"chrony.service", "chronyd.service"},
       {"/etc/chrony/chrony.conf", "/etc/chrony.conf", "/etc/chrony/conf.d/*.conf",
        "/etc/chrony/sources.d/*.sources"},
       "^[[:space:]]*(server|pool|peer|sourcedir)[[:space:]]"},
      {"systemd-timesyncd",
       {"systemd-timesyncd.service"},
       {"/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d/*.conf",
        "/usr/lib/systemd/timesyncd.conf.d/*.conf"},
       "^[[:space:]]*(NTP|FallbackNTP)=[^[:space:]]"},
      {"ntp",
       {"ntp.service", "ntpd.service", "ntpsec.service"},
       {"/etc/ntp.conf", "/etc/ntpsec/ntp.conf"},
       "^[[:space:]]*(server|pool)[[:space:]]"},
  };
  std::vector<std::string> enabled;
  std::string source;
  std::string configured_at;
  for (const auto& d : daemons) {
    bool on = false;
    for (const char* u : d.units) {
      const UnitInfo& info = context.unit(u);
      if (info.enabled && !info.masked) {
        on = true;
        source = info.path;
      }
    }
    if (!on) continue;
    enabled.push_back(d.name);
    auto regex = PosixRegex::compile(d.key_pattern, false);
    for (const char* pattern : d.configs) {
      for (const std::string& file : expandPaths(context, pattern)) {
        auto text = context.root().read(file, 1 << 20);
        if (!text.ok() || !configured_at.empty()) continue;
        forEachLine(*text, [&](std::string_view line, size_t line_no) {
          if (configured_at.empty() && regex.ok() && regex->search(line)) {
            configured_at = file + ":" + std::to_string(line_no) + " " + trimmed(line);
          }
        });
      }
    }
  }
  std::string expected = "exactly one of chrony, systemd-timesyncd, ntp enabled, with a server";
  if (enabled.empty())
    return CheckOutcome::fail("no time-sync daemon enabled", expected, "systemd unit folders");
  if (enabled.size() > 1)
    return CheckOutcome::fail("several enabled: " + joinList(enabled), expected, source);
  if (configured_at.empty()) {
    return CheckOutcome::fail(enabled.front() + " enabled, no server or pool configured", expected,
                              source);
  }
  return CheckOutcome::pass(enabled.front() + " enabled; " + configured_at, expected, source);
}

void validateTimeSyncCheck(const rules::v1::Check&, std::vector<std::string>&) {}

CheckOutcome runMacCheck(const rules::v1::Check& check, ScanContext& context) {
  const HostRoot& root = context.root();
  std::string expected = "AppArmor enabled with profiles loaded, or SELinux enforcing";
  if (context.live()) {
    if (auto enforce = root.readLine("/sys/fs/selinux/enforce"); enforce.ok()) {
      if (*enforce == "1")
        return CheckOutcome::pass("SELinux enforcing", expected, "/sys/fs/selinux/enforce");
      return CheckOutcome::fail("SELinux permissive", expected, "/sys/fs/selinux/enforce");
    }
    auto enabled = root.readLine("/sys/module/apparmor/parameters/enabled");
    if (!enabled.ok() || *enabled != "Y") {
      return CheckOutcome::fail("neither SELinux nor AppArmor is enabled in the running kernel",
                                expected, "/sys/module/apparmor/parameters/enabled");
    }
    auto profiles = root.read("/sys/kernel/security/apparmor/profiles", 8 << 20);
    if (!profiles.ok()) return CheckOutcome::error(profiles.error().message());
    size_t enforce = 0, complain = 0, other = 0;
    forEachLine(*profiles, [&](std::string_view line, size_t) {
      if (line.ends_with("(enforce)"))
        ++enforce;
      else if (line.ends_with("(complain)"))
        ++complain;
      else if (!line.empty())
        ++other;
    });
    std::string observed = "AppArmor enabled: " + std::to_string(enforce) +
                           " profiles enforcing, " + std::to_string(complain) + " complaining";
    if (enforce + complain == 0)
      return CheckOutcome::fail(observed, expected, "/sys/kernel/security/apparmor/profiles");
    return CheckOutcome::pass(observed, expected, "/sys/kernel/security/apparmor/profiles");
  }
  // An image: what the next boot will do.
  auto selinux = findSetting(context, {"/etc/selinux/config"}, "SELINUX", false, true);
  if (selinux) {
    bool ok = lowered(selinux->value) == "enforcing";
    return ok ? CheckOutcome::pass("SELINUX=" + selinux->value, expected, selinux->source)
              : CheckOutcome::fail("SELINUX=" + selinux->value, expected, selinux->source);
  }
  const auto& packages = context.installedPackages();
  bool apparmor = packages.ok() && packages->count("apparmor");
  auto grub = findSetting(context, {"/etc/default/grub", "/etc/default/grub.d/*.cfg"},
                          "GRUB_CMDLINE_LINUX", false, true);
  bool disabled_at_boot = grub && (grub->value.find("apparmor=0") != std::string::npos ||
                                   grub->value.find("security=selinux") != std::string::npos);
  if (apparmor && !disabled_at_boot) {
    return CheckOutcome::pass("apparmor installed, not disabled on the kernel command line",
                              expected, grub ? grub->source : "package database");
  }
  return CheckOutcome::fail(apparmor ? "apparmor disabled on the kernel command line"
                                     : "neither SELinux configured nor apparmor installed",
                            expected, grub ? grub->source : "package database");
}

void validateMacCheck(const rules::v1::Check&, std::vector<std::string>&) {}

}  // namespace demarc::posture
