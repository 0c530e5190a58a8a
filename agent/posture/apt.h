#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"
#include "agent/core/result.h"
#include "agent/posture/updates.h"

namespace demarc::posture {

struct InstalledPackage {
  std::string name;
  std::string arch;  // as dpkg records it ("all" included)
  std::string version;
  bool held = false;           // "hold ok installed"
  std::string source;          // source package ("Source:", else the name)
  std::string source_version;  // its version ("Source: x (V)", else the version)
};

// Packages dpkg has installed, from the text of /var/lib/dpkg/status.
// Paragraphs that are not installed packages are skipped; damaged ones are
// described in *problems ("status:LINE: ...") and skipped.
std::vector<InstalledPackage> parseDpkgStatus(std::string_view text,
                                              std::vector<std::string>* problems);

// Where a version can be installed from: one apt list and its Release.
struct PackageSource {
  std::string list;   // file name under /var/lib/apt/lists
  std::string suite;  // "bookworm-security"
  std::string codename;
  std::string origin;
  std::string label;
  int priority = 500;  // apt's default pin: 500, 100 or 1 for NotAutomatic
  bool security = false;
};

// One stanza of apt_preferences(5).
struct AptPin {
  std::vector<std::string> packages;  // names, globs, /regex/; "*" for every package
  std::string pin;  // "release a=bookworm-backports", "version 1.2*", "origin host"
  int priority = 0;
  std::string source;  // "/etc/apt/preferences.d/backports:4"

  bool general() const { return packages.size() == 1 && packages.front() == "*"; }
  bool matchesPackage(std::string_view name) const;
  // Whether the pin selects this version of the package from this list.
  bool matchesVersion(std::string_view version, const PackageSource& source) const;
};

// Stanzas of /etc/apt/preferences and /etc/apt/preferences.d/* (files with no
// extension or ".pref", as apt reads them), in the order apt reads them.
std::vector<AptPin> parseAptPreferences(std::string_view text, const std::string& path,
                                        std::vector<std::string>* problems);
std::vector<AptPin> readAptPreferences(const HostRoot& root, std::vector<std::string>* problems);

struct AptState {
  std::string native_arch;
  std::vector<InstalledPackage> installed;
  std::vector<PendingUpdate> pending;  // sorted by name, arch
  std::vector<PackageSource> sources;
  std::vector<AptPin> pins;
  std::vector<std::string> problems;  // files that could not be read, with why
};

// Installed packages and pending updates as apt would compute them, read
// natively from dpkg's status and apt's lists (plain, .gz, .xz, .lz4) under
// root. Candidates follow apt's policy: each version's priority is the one
// of the first package-specific pin that selects it, else the first general
// pin, else its list's default (500, 100 or 1); the highest-priority version
// not lower than the installed one wins, ties to the highest version; a
// negative priority never wins. (Downgrades that pins of 1000 or more would
// allow are not reported: they are not pending updates.)
Result<AptState> readAptState(const HostRoot& root);

}  // namespace demarc::posture
