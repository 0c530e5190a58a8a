#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "agent/core/result.h"

namespace demarc {

enum class LogStyle {
  kAuto,      // journal under systemd, colours on a terminal, plain otherwise
  kTerminal,  // short time, coloured level
  kPlain,     // full UTC timestamp and level, one line each
  kJournal,   // "<N>message" so journald keeps the priority and adds the time
};

// Parses "trace", "debug", "info", "warn", "error", "off".
Result<spdlog::level::level_enum> parseLogLevel(std::string_view text);

// Installs the process-wide logger on stderr. Safe to call again (SIGHUP,
// --log-level after config load): the last call wins.
void setupLogging(LogStyle style, spdlog::level::level_enum level);

}  // namespace demarc
