#pragma once

#include <optional>
#include <string>

namespace demarc::cli {

// Exit codes, the same for every subcommand (documented in --help and README).
enum ExitCode : int {
  kExitOk = 0,
  kExitDefects = 1,  // verify found defects; scan found failing checks
  kExitUsage = 2,    // bad command line or invalid config
  kExitRuntime = 3,  // the environment failed: unreadable files, refused key, kernel refused probes
};

inline constexpr const char* kDefaultConfigPath = "/etc/demarc/demarc.yaml";

struct GlobalOptions {
  std::string config_path = kDefaultConfigPath;
  std::optional<std::string> log_level;   // overrides logging.level
  std::optional<std::string> log_format;  // overrides logging.format
};

int main(int argc, char** argv);

}  // namespace demarc::cli
