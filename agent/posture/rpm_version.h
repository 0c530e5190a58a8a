#pragma once

#include <string_view>

namespace demarc::posture {

// rpm's rpmvercmp() on one version or release string: alternating numeric
// and alphabetic segments, other characters only separate; '~' sorts before
// everything (even the end), '^' after the end but before anything else.
int rpmvercmp(std::string_view a, std::string_view b);

// [epoch:]version[-release] as rpm orders packages: epoch (none = 0), then
// version, then release when both have one.
int compareRpmVersions(std::string_view a, std::string_view b);

}  // namespace demarc::posture
