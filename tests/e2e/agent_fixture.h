#pragma once

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::testing {

// What a test adds to the agent config: lines under sinks: and posture:
// (indented two spaces) and top-level sections.
struct ConfigParts {
  std::string sinks;
  std::string posture;
  std::string extra;
  std::string heartbeat = "200ms";
  std::string batch_age = "50ms";
  std::string rule_packs = DEMARC_SOURCE_DIR "/tests/data/rules/minimal.yaml";
};

// A config for an agent that lives in a temp folder.
inline std::filesystem::path writeAgentConfig(const TempDir& dir, const ConfigParts& parts) {
  return dir.write("demarc.yaml",
                   "agent:\n  state_dir: " + (dir / "state").string() + "\n  heartbeat_interval: " +
                       parts.heartbeat + "\nevidence:\n  batch_max_age: " + parts.batch_age +
                       "\nsinks:\n  directory:\n    path: " + (dir / "evidence").string() + "\n" +
                       parts.sinks + "posture:\n  rule_packs: [" + parts.rule_packs + "]\n" +
                       parts.posture + parts.extra);
}

inline std::filesystem::path writeAgentConfig(const TempDir& dir, const std::string& extra = "",
                                              const std::string& heartbeat = "200ms",
                                              const std::string& batch_age = "50ms") {
  return writeAgentConfig(
      dir, ConfigParts{.extra = extra, .heartbeat = heartbeat, .batch_age = batch_age});
}

// Environment variables for the processes started while it lives; the
// previous values come back after.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::pair<std::string, std::string>>& vars) {
    for (const auto& [name, value] : vars) {
      const char* old = ::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// AWS keys in the environment of the processes started while it lives.
class ScopedAwsKeys : public ScopedEnv {
 public:
  ScopedAwsKeys(const char* id, const char* secret)
      : ScopedEnv({{"AWS_ACCESS_KEY_ID", id}, {"AWS_SECRET_ACCESS_KEY", secret}}) {}
};

inline std::vector<std::string> agentArgs(const std::filesystem::path& config,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {DEMARC_BINARY,   "run",          "--config",
                                   config.string(), "--log-format", "plain"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace demarc::testing
