#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/host_root.h"
#include "agent/core/result.h"
#include "agent/posture/rpmdb.h"
#include "agent/posture/updates.h"

namespace demarc::posture {

// One <update> of a repository's updateinfo.xml.
struct Advisory {
  std::string id;        // "ALAS2023-2024-123", "FEDORA-2024-abc"
  std::string type;      // "security", "bugfix", "enhancement", "newpackage"
  std::string severity;  // "Important"; empty when the advisory has none
  std::string title;
  std::string issued;  // the date attribute of <issued>
  std::vector<std::string> cves;
  std::vector<RpmPackage> packages;  // name, epoch, version, release, arch
};

// Advisories from the text of updateinfo.xml. Advisories or packages that
// lack a required field are skipped and described in *problems ("line N:
// ..."); XML that does not parse is an error naming the line.
Result<std::vector<Advisory>> parseUpdateInfo(std::string_view xml,
                                              std::vector<std::string>* problems);

// The href of the updateinfo entry in a repository's repomd.xml
// ("repodata/HASH-updateinfo.xml.gz"); empty when the repository has none.
Result<std::string> updateInfoLocation(std::string_view repomd_xml);

// Repositories named by *.repo files (INI: [id], enabled=...), in the order
// dnf reads them; repositories with enabled=0 are left out.
std::vector<std::string> enabledRepoIds(std::string_view repo_file_text);

// A repository's metadata as dnf cached it: /var/cache/dnf/ID-HASH (dnf 4)
// or /var/cache/libdnf5/ID-HASH (dnf 5).
struct DnfRepoCache {
  std::string repo_id;
  std::string dir;                    // host path of the cache folder
  std::string updateinfo;             // host path of its updateinfo file; empty when none
  std::optional<SystemTime> fetched;  // modification time of repodata/repomd.xml
};

// An advisory that names a newer version of an installed package: one line
// of `dnf updateinfo list`.
struct AdvisoryMatch {
  std::string advisory;
  std::string type;
  std::string severity;
  std::vector<std::string> cves;  // the advisory's CVE references
  RpmPackage package;             // the version the advisory brings
  std::string installed_version;  // the newest installed one, "[E:]V-R"
};

struct DnfState {
  std::vector<DnfRepoCache> repos;     // enabled repositories with cached metadata
  std::vector<AdvisoryMatch> matches;  // sorted by package, then advisory
  UpdateState updates;                 // one pending update per name.arch
};

// What `dnf updateinfo list` reports for the installed packages: an
// advisory applies when it names a package with the same name and arch as
// an installed one and a higher epoch:version-release than the newest
// installed version. Advisories are read from the metadata dnf cached for
// each enabled repository (dnf makecache or any dnf command refreshes it);
// when no enabled repository has cached metadata, that is an error saying so.
Result<DnfState> readDnfState(const HostRoot& root, const std::vector<RpmPackage>& installed);

}  // namespace demarc::posture
