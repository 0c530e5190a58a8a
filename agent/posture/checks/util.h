#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/posix_regex.h"
#include "agent/core/result.h"

namespace demarc::posture {

class ScanContext;

// The files a path names: itself, or every match when it holds a wildcard.
std::vector<std::string> expandPaths(ScanContext& context, const std::string& path);

// "KEY VALUE" / "KEY=VALUE" lookup across files, later wins unless
// first_wins. Returns the value and "FILE:LINE".
struct FoundSetting {
  std::string value;
  std::string source;
};
std::optional<FoundSetting> findSetting(ScanContext& context, const std::vector<std::string>& files,
                                        std::string_view key, bool first_wins,
                                        bool case_sensitive_key);

std::string trimmed(std::string_view s);
std::string lowered(std::string_view s);
std::string joinList(const std::vector<std::string>& items, std::string_view sep = ", ");

}  // namespace demarc::posture
