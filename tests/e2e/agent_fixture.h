#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::testing {

// A config for an agent that lives in a temp folder.
inline std::filesystem::path writeAgentConfig(const TempDir& dir, const std::string& extra = "",
                                              const std::string& heartbeat = "200ms",
                                              const std::string& batch_age = "50ms") {
  return dir.write(
      "demarc.yaml",
      "agent:\n  state_dir: " + (dir / "state").string() + "\n  heartbeat_interval: " + heartbeat +
          "\nevidence:\n  batch_max_age: " + batch_age +
          "\nsinks:\n  directory:\n    path: " + (dir / "evidence").string() +
          "\nposture:\n  rule_packs: [" DEMARC_SOURCE_DIR "/tests/data/rules/minimal.yaml]\n" +
          extra);
}

inline std::vector<std::string> agentArgs(const std::filesystem::path& config,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {DEMARC_BINARY,   "run",          "--config",
                                   config.string(), "--log-format", "plain"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace demarc::testing
