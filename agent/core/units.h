#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc {

// "500ms", "30s", "5m", "1h30m", "2d". A unit is required so that "60" is
// never silently read as seconds where minutes were meant.
Result<std::chrono::nanoseconds> parseDuration(std::string_view text);
// The shortest exact form: 1s, 1500ms, 90s -> "90s", 3600s -> "1h".
std::string formatDuration(std::chrono::nanoseconds d);

// "1048576", "64KiB", "256MiB", "1GiB", "10MB" (powers of 1000 for SI units).
Result<uint64_t> parseSize(std::string_view text);
// "256MiB" when exact, otherwise the byte count.
std::string formatSize(uint64_t bytes);

}  // namespace demarc
