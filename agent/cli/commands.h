#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/cli/app.h"
#include "agent/config/loader.h"

namespace demarc::cli {

struct RunOptions {
  uint64_t load_test_rate = 0;  // synthetic records per second (testing only)
};

struct VerifyCommandOptions {
  std::string path;
  std::vector<std::string> key_files;
  bool json = false;
  std::optional<std::string> max_silence;
  std::optional<std::string> as_of;
};

int runCommand(const GlobalOptions& global, const RunOptions& options);
int verifyCommand(const GlobalOptions& global, const VerifyCommandOptions& options);
int configCheckCommand(const GlobalOptions& global, const std::string& file);
int versionCommand();

// Loads the config named by the global options and sets up logging from it
// (command line overrides win). Prints errors; nullopt means exit kExitUsage.
std::optional<config::Config> loadConfigAndLogging(const GlobalOptions& global);
// Logging before (or without) a config: terminal style, --log-level or info.
void setupDefaultLogging(const GlobalOptions& global);

std::string versionString();

}  // namespace demarc::cli
