#include "agent/posture/apt.h"

#include <dirent.h>
#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "agent/core/decompress.h"
#include "agent/core/posix_regex.h"
#include "agent/posture/deb822.h"
#include "agent/posture/debian_version.h"

namespace demarc::posture {
namespace {

constexpr std::string_view kListsDir = "/var/lib/apt/lists";
constexpr size_t kMaxListBytes = 512ULL << 20;

std::string key(std::string_view name, std::string_view arch, std::string_view native) {
  return std::string(name) + ":" + std::string(arch == "all" ? native : arch);
}

// The Release (or InRelease) a list file belongs to: lists are named
// SITE_PATH_dists_SUITE_COMPONENT_binary-ARCH_Packages[.ext] and releases
// SITE_PATH_dists_SUITE_[In]Release, so the release is the longest prefix.
struct ReleaseFile {
  std::string prefix;
  PackageSource info;
};

PackageSource parseRelease(std::string_view text) {
  PackageSource source;
  forEachParagraph(stripClearsign(text), [&](const Paragraph& p) {
    if (!source.suite.empty() || (p.get("Suite").empty() && p.get("Codename").empty())) return;
    source.suite = std::string(p.get("Suite"));
    source.codename = std::string(p.get("Codename"));
    source.origin = std::string(p.get("Origin"));
    source.label = std::string(p.get("Label"));
    bool not_automatic = p.get("NotAutomatic") == "yes";
    bool but_upgrades = p.get("ButAutomaticUpgrades") == "yes";
    source.priority = not_automatic ? (but_upgrades ? 100 : 1) : 500;
  });
  source.security = source.suite.ends_with("-security") || source.codename.ends_with("-security") ||
                    source.label.find("Security") != std::string::npos;
  return source;
}

struct Offer {
  std::string version;
  const PackageSource* source;
};

// The component of a list: ..._dists_SUITE_COMPONENT_binary-ARCH_Packages.
std::string componentOf(const std::string& list) {
  size_t bin = list.find("_binary-");
  if (bin == std::string::npos) return "";
  size_t start = list.rfind('_', bin - 1);
  return start == std::string::npos ? "" : list.substr(start + 1, bin - start - 1);
}

// apt matches pin values as globs, or as regular expressions between slashes.
bool pinValueMatches(const std::string& pattern, std::string_view value) {
  std::string v(value);
  if (pattern.size() >= 2 && pattern.front() == '/' && pattern.back() == '/') {
    auto regex = PosixRegex::compile(pattern.substr(1, pattern.size() - 2), false);
    return regex.ok() && regex->search(v);
  }
  return ::fnmatch(pattern.c_str(), v.c_str(), 0) == 0;
}

int priorityOf(const std::vector<AptPin>& pins, std::string_view name, std::string_view version,
               const PackageSource& source) {
  for (bool general : {false, true}) {
    for (const AptPin& pin : pins) {
      if (pin.general() != general || !pin.matchesPackage(name)) continue;
      if (pin.matchesVersion(version, source)) return pin.priority;
    }
  }
  return source.priority;
}

}  // namespace

bool AptPin::matchesPackage(std::string_view name) const {
  return std::any_of(packages.begin(), packages.end(),
                     [&](const std::string& p) { return pinValueMatches(p, name); });
}

bool AptPin::matchesVersion(std::string_view version, const PackageSource& source) const {
  std::string_view kind = std::string_view(pin).substr(0, pin.find(' '));
  std::string arg = pin.size() > kind.size() ? pin.substr(kind.size() + 1) : "";
  if (kind == "version") return pinValueMatches(arg, version);
  if (kind == "origin") {
    std::string host = arg;
    host.erase(std::remove(host.begin(), host.end(), '"'), host.end());
    return !host.empty() && source.list.starts_with(host + "_");
  }
  if (kind != "release") return false;
  // "release a=bookworm-backports, o=Debian" (every key must match) or a bare
  // "release bookworm" meaning the archive or codename.
  bool all = true;
  size_t pos = 0;
  while (pos < arg.size()) {
    size_t comma = arg.find(',', pos);
    if (comma == std::string::npos) comma = arg.size();
    std::string term = arg.substr(pos, comma - pos);
    term.erase(0, term.find_first_not_of(' '));
    term.erase(term.find_last_not_of(' ') + 1);
    pos = comma + 1;
    if (term.empty()) continue;
    size_t eq = term.find('=');
    if (eq == std::string::npos) {
      all = all && (pinValueMatches(term, source.suite) || pinValueMatches(term, source.codename));
      continue;
    }
    std::string k = term.substr(0, eq);
    std::string v = term.substr(eq + 1);
    if (k == "a") {
      all = all && pinValueMatches(v, source.suite);
    } else if (k == "n") {
      all = all && pinValueMatches(v, source.codename);
    } else if (k == "o") {
      all = all && pinValueMatches(v, source.origin);
    } else if (k == "l") {
      all = all && pinValueMatches(v, source.label);
    } else if (k == "c") {
      all = all && pinValueMatches(v, componentOf(source.list));
    } else if (k == "v" || k == "b") {
      all = false;  // release versions and architectures are not tracked
    } else {
      all = false;
    }
  }
  return all;
}

std::vector<AptPin> parseAptPreferences(std::string_view text, const std::string& path,
                                        std::vector<std::string>* problems) {
  std::vector<AptPin> pins;
  forEachParagraph(text, [&](const Paragraph& p) {
    AptPin pin;
    pin.source = path + ":" + std::to_string(p.line);
    std::string packages(p.get("Package"));
    size_t pos = 0;
    while (pos < packages.size()) {
      size_t end = packages.find_first_of(" \t", pos);
      if (end == std::string::npos) end = packages.size();
      if (end > pos) {
        std::string name = packages.substr(pos, end - pos);
        if (!name.starts_with("src:")) pin.packages.push_back(name);
      }
      pos = end + 1;
    }
    pin.pin = std::string(p.get("Pin"));
    std::string priority(p.get("Pin-Priority"));
    int value = 0;
    auto [ptr, ec] = std::from_chars(priority.data(), priority.data() + priority.size(), value);
    if (pin.packages.empty() || pin.pin.empty() || ec != std::errc() ||
        ptr != priority.data() + priority.size()) {
      if (problems) {
        problems->push_back(pin.source + ": a pin needs Package, Pin and a numeric Pin-Priority");
      }
      return;
    }
    pin.priority = value;
    pins.push_back(std::move(pin));
  });
  return pins;
}

std::vector<AptPin> readAptPreferences(const HostRoot& root, std::vector<std::string>* problems) {
  std::vector<std::string> files;
  if (root.lstat("/etc/apt/preferences").ok()) files.push_back("/etc/apt/preferences");
  if (auto entries = root.list("/etc/apt/preferences.d"); entries.ok()) {
    for (const auto& e : *entries) {
      // apt: letters, digits, '_', '-', '.'; no extension or ".pref".
      bool valid = std::all_of(e.name.begin(), e.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
      bool extension_ok = e.name.find('.') == std::string::npos || e.name.ends_with(".pref");
      if (valid && extension_ok) files.push_back("/etc/apt/preferences.d/" + e.name);
    }
  }
  std::vector<AptPin> pins;
  for (const auto& f : files) {
    auto text = root.read(f, 4 << 20);
    if (!text.ok()) {
      if (problems) problems->push_back(text.error().message());
      continue;
    }
    auto more = parseAptPreferences(*text, f, problems);
    pins.insert(pins.end(), more.begin(), more.end());
  }
  return pins;
}

std::vector<InstalledPackage> parseDpkgStatus(std::string_view text,
                                              std::vector<std::string>* problems) {
  std::vector<InstalledPackage> out;
  size_t malformed = 0;
  forEachParagraph(
      text,
      [&](const Paragraph& p) {
        std::string_view status = p.get("Status");
        // "want flag state": only the state "installed" counts.
        if (!status.ends_with(" installed")) return;
        InstalledPackage pkg;
        pkg.name = std::string(p.get("Package"));
        pkg.arch = std::string(p.get("Architecture"));
        pkg.version = std::string(p.get("Version"));
        pkg.held = status.starts_with("hold ");
        // "Source: openssl" or "Source: glibc (2.36-9+deb12u4)"; absent: same
        // name and version as the binary package.
        std::string_view source = p.get("Source");
        size_t paren = source.find(" (");
        pkg.source = std::string(source.substr(0, paren));
        if (paren != std::string_view::npos && source.ends_with(')')) {
          pkg.source_version = std::string(source.substr(paren + 2, source.size() - paren - 3));
        }
        if (pkg.source.empty()) pkg.source = pkg.name;
        if (pkg.source_version.empty()) pkg.source_version = pkg.version;
        if (pkg.name.empty() || pkg.version.empty() || pkg.arch.empty()) {
          if (problems) {
            problems->push_back("status:" + std::to_string(p.line) +
                                ": installed package without Package, Version or Architecture");
          }
          return;
        }
        out.push_back(std::move(pkg));
      },
      &malformed);
  if (malformed > 0 && problems) {
    problems->push_back("status: " + std::to_string(malformed) + " malformed lines skipped");
  }
  return out;
}

Result<AptState> readAptState(const HostRoot& root) {
  AptState state;
  auto status = root.read("/var/lib/dpkg/status", kMaxListBytes);
  if (!status.ok()) return status.error().withContext("dpkg status");
  std::vector<std::string> problems;
  state.installed = parseDpkgStatus(*status, &problems);
  for (auto& p : problems) state.problems.push_back("/var/lib/dpkg/" + p);
  // dpkg itself is always of the native architecture.
  for (const auto& pkg : state.installed) {
    if (pkg.name == "dpkg") state.native_arch = pkg.arch;
  }

  std::vector<std::string> pin_problems;
  state.pins = readAptPreferences(root, &pin_problems);
  for (auto& p : pin_problems) state.problems.push_back(std::move(p));

  std::map<std::string, const InstalledPackage*> installed;
  for (const auto& pkg : state.installed) {
    installed[key(pkg.name, pkg.arch, state.native_arch)] = &pkg;
  }

  std::vector<ReleaseFile> releases;
  std::vector<std::string> lists;  // file names under kListsDir
  auto entries = root.list(kListsDir);
  if (!entries.ok()) state.problems.push_back(entries.error().message());
  for (const auto& entry : entries.ok() ? *entries : std::vector<HostRoot::DirEntry>{}) {
    const std::string& name = entry.name;
    if (entry.type != DT_REG && entry.type != DT_UNKNOWN) continue;
    std::string host_path = std::string(kListsDir) + "/" + name;
    if (name.ends_with("_InRelease") || name.ends_with("_Release")) {
      auto text = root.read(host_path, 64ULL << 20);
      if (!text.ok()) {
        state.problems.push_back(text.error().message());
        continue;
      }
      std::string prefix = name.substr(0, name.rfind('_') + 1);
      // InRelease wins over Release for the same suite.
      auto same = std::find_if(releases.begin(), releases.end(),
                               [&](const ReleaseFile& r) { return r.prefix == prefix; });
      if (same != releases.end() && !name.ends_with("_InRelease")) continue;
      ReleaseFile release{prefix, parseRelease(*text)};
      if (same != releases.end()) {
        *same = std::move(release);
      } else {
        releases.push_back(std::move(release));
      }
    } else if (name.find("_Packages") != std::string::npos) {
      std::string stem = name.substr(0, name.find("_Packages") + 9);
      if (stem.size() == name.size() || compressionOf(name) != Compression::kNone) {
        lists.push_back(name);
      }
    }
  }
  std::sort(lists.begin(), lists.end());
  state.sources.reserve(lists.size());  // Offers point into it

  std::map<std::string, std::vector<Offer>> offers;
  for (const std::string& name : lists) {
    const ReleaseFile* best = nullptr;
    for (const auto& r : releases) {
      if (name.starts_with(r.prefix) && (!best || r.prefix.size() > best->prefix.size())) best = &r;
    }
    PackageSource source = best ? best->info : PackageSource{};
    source.list = name;
    state.sources.push_back(source);
    const PackageSource* src = &state.sources.back();
    // Kept apart until the whole list has read well: apt ignores a damaged list.
    std::vector<std::pair<std::string, Offer>> found;
    auto offer = [&](const Paragraph& p) {
      auto it = installed.find(key(p.get("Package"), p.get("Architecture"), state.native_arch));
      if (it == installed.end() || p.get("Version").empty()) return;
      found.push_back({it->first, {std::string(p.get("Version")), src}});
    };
    // Lists are large (Debian's main: ~45 MB once decompressed): parse the
    // complete paragraphs of each piece as it comes and keep only the tail.
    std::string pending;
    auto status = readMaybeCompressedChunks(
        root, std::string(kListsDir) + "/" + name,
        [&](std::string_view piece) {
          pending.append(piece);
          size_t end = pending.rfind("\n\n");
          if (end != std::string::npos) {
            forEachParagraph(std::string_view(pending).substr(0, end + 1), offer);
            pending.erase(0, end + 2);
          }
          return true;
        },
        kMaxListBytes);
    if (!status.ok()) {
      state.problems.push_back(status.error().message());
      continue;
    }
    forEachParagraph(pending, offer);
    for (auto& [package, o] : found) offers[package].push_back(std::move(o));
  }

  for (const auto& entry : installed) {
    const InstalledPackage* pkg = entry.second;
    auto it = offers.find(entry.first);
    if (it == offers.end()) continue;
    // apt's default policy: the installed version has priority 100 (more if
    // a list offers it too); versions below it are never candidates at
    // these priorities; the highest priority wins, then the highest version.
    auto prio_of = [&](const Offer& o) {
      return priorityOf(state.pins, pkg->name, o.version, *o.source);
    };
    // dpkg's status is a source of its own (archive "now", priority 100),
    // which version pins can raise.
    PackageSource status_source;
    status_source.suite = "now";
    status_source.priority = 100;
    int installed_priority = priorityOf(state.pins, pkg->name, pkg->version, status_source);
    std::string candidate = pkg->version;
    for (const Offer& offer : it->second) {
      if (compareDebianVersions(offer.version, pkg->version) == 0) {
        installed_priority = std::max(installed_priority, prio_of(offer));
      }
    }
    int best = installed_priority;
    for (const Offer& offer : it->second) {
      int cmp = compareDebianVersions(offer.version, pkg->version);
      if (cmp <= 0) continue;
      int prio = prio_of(offer);
      // Priority of a version: the highest among the lists offering it.
      for (const Offer& other : it->second) {
        if (compareDebianVersions(other.version, offer.version) == 0) {
          prio = std::max(prio, prio_of(other));
        }
      }
      if (prio < 0) continue;  // pinned away: never a candidate
      if (prio > best || (prio == best && compareDebianVersions(offer.version, candidate) > 0)) {
        best = prio;
        candidate = offer.version;
      }
    }
    if (compareDebianVersions(candidate, pkg->version) <= 0) continue;
    PendingUpdate update;
    update.name = pkg->name;
    update.arch = pkg->arch;
    update.installed_version = pkg->version;
    update.candidate_version = candidate;
    update.held = pkg->held;
    std::set<std::string> suites;
    for (const Offer& offer : it->second) {
      if (compareDebianVersions(offer.version, candidate) != 0) continue;
      suites.insert(offer.source->suite);
      update.security = update.security || offer.source->security;
    }
    update.suites.assign(suites.begin(), suites.end());
    state.pending.push_back(std::move(update));
  }
  std::sort(state.pending.begin(), state.pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.arch) < std::tie(b.name, b.arch);
  });
  return state;
}

}  // namespace demarc::posture
