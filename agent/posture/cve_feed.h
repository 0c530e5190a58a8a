#pragma once

#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/result.h"
#include "agent/posture/apt.h"

namespace demarc::posture {

// One CVE of one source package in one Debian release, as the Debian
// security tracker's JSON (https://security-tracker.debian.org/tracker/data/json)
// states it.
struct TrackerEntry {
  std::string cve;
  std::string status;         // "resolved", "open", "undetermined"
  std::string fixed_version;  // for "resolved"; "0": the release was never affected
  std::string urgency;        // "low", "medium", "high", "unimportant", ...
};

// Source package -> its entries for one release (a codename: "bookworm").
using TrackerEntries = std::map<std::string, std::vector<TrackerEntry>>;

// Streams the tracker JSON and keeps the entries for `release`. Other
// fields are skipped; anything that is not the tracker's shape (a value of
// the wrong type where an entry is expected) is an error naming the byte
// offset, as is JSON that does not parse.
Result<TrackerEntries> parseDebianTracker(std::istream& json, std::string_view release);

// A CVE that affects an installed package.
struct OpenCve {
  std::string cve;
  std::string source_package;
  std::vector<std::string> binaries;  // installed binary packages built from it
  std::string installed_version;      // of the source package
  std::string fixed_version;          // empty: no fixed version yet
  std::string urgency;

  bool fixable() const { return !fixed_version.empty(); }
};

// Installed packages against the entries: "resolved" with a fixed version
// newer than the installed source version, or still "open". Sorted by
// source package, then CVE.
std::vector<OpenCve> matchTracker(const TrackerEntries& entries,
                                  const std::vector<InstalledPackage>& installed);

// The feed file and what it said about this host; the digest and date go
// into the evidence so an auditor knows which data the verdict rests on.
struct CveFeedInfo {
  std::string path;
  std::string sha256;     // of the file as read
  SystemTime modified{};  // the file's modification time (the JSON carries no date)
  std::string release;
  size_t entries = 0;  // CVE entries for the release, all source packages
};

struct CveReport {
  CveFeedInfo feed;
  std::vector<OpenCve> open;
};

// Reads the feed at `path` (plain JSON, streamed, or .gz, .xz, .bz2, .zst)
// and matches it against the installed packages of a Debian `release`.
Result<CveReport> readCveFeed(const std::string& path, std::string_view release,
                              const std::vector<InstalledPackage>& installed);

}  // namespace demarc::posture
