#pragma once

#include <string_view>

namespace demarc::posture {

// Compares two Debian version strings ([epoch:]upstream[-revision]) with
// dpkg's rules: epochs numerically, then upstream and revision alternating
// non-digit runs (where '~' sorts before everything, even the end of the
// string, and letters before other characters) and digit runs numerically.
// Returns <0, 0 or >0. Malformed input compares by the same rules rather
// than failing: the result is only ever used to order versions.
int compareDebianVersions(std::string_view a, std::string_view b);

}  // namespace demarc::posture
