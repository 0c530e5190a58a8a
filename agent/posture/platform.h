#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc::posture {

// The distribution, from /etc/os-release (or /usr/lib/os-release).
struct OsRelease {
  std::string id;                    // "debian", "ubuntu", "amzn"
  std::vector<std::string> id_like;  // "rhel fedora" -> {"rhel", "fedora"}
  std::string version_id;            // "12", "22.04", "2023"
  std::string version_codename;      // "bookworm", "jammy"; empty when not given
  std::string pretty_name;
  std::string source;  // the file it was read from
};

OsRelease parseOsRelease(std::string_view text);
Result<OsRelease> readOsRelease(const HostRoot& root);

// A rule's platform term: "debian", "ubuntu>=22.04", "amzn>=2023".
struct PlatformTerm {
  std::string family;
  std::string min_version;  // empty: any
};
Result<PlatformTerm> parsePlatformTerm(std::string_view text);

// True when the OS is the family (by ID or ID_LIKE) at the minimum version
// or newer (versions compare numerically, dot by dot). Version minimums
// apply to the ID only: "debian>=12" does not match Ubuntu.
bool matchesPlatform(const OsRelease& os, const PlatformTerm& term);

// Package manager family of the OS.
enum class PackageFamily { kDpkg, kRpm, kUnknown };
PackageFamily packageFamilyOf(const OsRelease& os);

}  // namespace demarc::posture
