#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/host_root.h"

namespace demarc::posture {

struct SshdSetting {
  std::string keyword;  // lower case: "permitrootlogin"
  std::string value;
  std::string source;  // "/etc/ssh/sshd_config.d/50-cloud.conf:3" or "sshd default"
  std::string match;   // the Match criteria the value applies under; empty = global
};

struct SshdConfig {
  // Every keyword line in the order sshd reads them (Include expanded).
  std::vector<SshdSetting> lines;
  std::vector<std::string> problems;  // unreadable includes, depth limit, bad lines

  // What sshd uses outside any Match block: the first value read wins, then
  // sshd's compiled-in default for the common keywords, else nothing.
  std::optional<SshdSetting> effective(std::string_view keyword) const;
  // Values that apply only under a Match block (worth noting in a finding).
  std::vector<SshdSetting> conditional(std::string_view keyword) const;
};

// Reads a file's text by host path; nullopt if it cannot be read.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
// Expands an Include argument (already absolute) to files, sorted.
using GlobExpander = std::function<std::vector<std::string>(const std::string& pattern)>;

// Parses sshd_config text as sshd does: keywords case-insensitive, "key
// value" or "key=value", quoted arguments, Include (relative to /etc/ssh,
// globs, nested up to 16 deep; a Match inside an included file ends with
// it), Match blocks until the next Match.
SshdConfig parseSshdConfig(std::string_view text, const std::string& path, const FileReader& read,
                           const GlobExpander& glob);

// The same from /etc/ssh/sshd_config under root.
SshdConfig readSshdConfig(const HostRoot& root);

}  // namespace demarc::posture
