#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc::posture {

struct RpmPackage {
  std::string name;
  std::string epoch;  // empty when the header has none
  std::string version;
  std::string release;
  std::string arch;
  uint32_t install_time = 0;  // seconds since the epoch; 0 when not recorded

  // "[E:]V-R" as rpm and dnf print it (no epoch when it is empty or 0).
  std::string evr() const;
};

// One rpm header blob as the rpm database stores it (no lead, no magic):
// index count and data size, the index entries, then the data store, all
// big-endian. Only the fields above are read; anything that does not fit
// its bounds is an error, never a read past the blob.
Result<RpmPackage> parseRpmHeader(std::string_view blob);

// Installed packages from ROOT/var/lib/rpm/rpmdb.sqlite (rpm 4.16+, Amazon
// Linux 2023, RHEL 9, Fedora), opened read-only (its WAL included), and
// only when the file is the one inside the root. Headers that do not parse
// are skipped and counted in *problems.
Result<std::vector<RpmPackage>> readRpmDatabase(const HostRoot& root,
                                                std::vector<std::string>* problems);

}  // namespace demarc::posture
