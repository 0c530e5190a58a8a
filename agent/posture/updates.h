#pragma once

#include <string>
#include <vector>

namespace demarc::posture {

// An installed package for which a newer version is known, from apt's lists
// (Debian, Ubuntu) or from dnf's updateinfo advisories (rpm systems).
struct PendingUpdate {
  std::string name;
  std::string arch;
  std::string installed_version;
  std::string candidate_version;
  std::vector<std::string> suites;      // apt: every suite offering the candidate
  std::vector<std::string> advisories;  // dnf: advisory ids naming a newer version
  std::vector<std::string> cves;        // dnf: CVEs those advisories fix
  bool security = false;                // from a security suite, or a security advisory
  bool held = false;
};

// Pending updates of the scanned system, whichever package manager it uses.
struct UpdateState {
  std::vector<PendingUpdate> pending;  // sorted by name, arch
  std::string source;                  // the files they were read from
  std::vector<std::string> problems;   // files that could not be read, with why
};

}  // namespace demarc::posture
