#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/cli/app.h"
#include "agent/config/loader.h"
#include "agent/posture/scan_context.h"

namespace demarc::cli {

struct RunOptions {
  uint64_t load_test_rate = 0;  // synthetic records per second (testing only)
  // Exit 3 before sealing anything when a configured telemetry feature has
  // no hook attached at all (AMI smoke tests); a fallback counts.
  bool require_all_hooks = false;
};

struct VerifyCommandOptions {
  std::string path;
  std::vector<std::string> key_files;
  bool json = false;
  std::optional<std::string> max_silence;
  std::optional<std::string> as_of;
  std::string region;    // s3:// only; default AWS_REGION, AWS_DEFAULT_REGION, the instance's
  std::string endpoint;  // s3:// only: an endpoint instead of the public one
};

struct ScanCommandOptions {
  std::string root;
  std::vector<std::string> rule_packs;  // --rules; overrides posture.rule_packs
  std::vector<std::string> rule_ids;    // --rule GLOB
  std::string cve_feed;                 // --cve-feed; overrides posture.cve_feed
  bool json = false;
  bool all = false;
  std::string fail_on = "info";
};

int scanCommand(const GlobalOptions& global, const ScanCommandOptions& options);
// Rule packs to load: --rules, else posture.rule_packs (relative to the
// config file), else rules/ beside the config, else /usr/share/demarc/rules.
Result<std::vector<std::filesystem::path>> rulePackPaths(const config::Config& config,
                                                         const std::string& config_path,
                                                         const std::vector<std::string>& overrides);
// Scan options from the config; config_path resolves relative paths.
posture::ScanOptions scanOptionsFrom(const config::Config& config, const std::string& config_path);

struct WatchCommandOptions {
  bool json = false;
  std::vector<uint32_t> pids;      // --pid
  std::vector<std::string> comms;  // --comm
  std::vector<std::string> types;  // --type exec|fork|exit
};
int watchCommand(const GlobalOptions& global, const WatchCommandOptions& options);

// demarc report and demarc timeline read the same sources as verify.
struct EvidenceReadOptions {
  std::string path;
  std::vector<std::string> key_files;
  std::optional<std::string> max_silence;
  std::optional<std::string> as_of;
  std::string region;
  std::string endpoint;
  std::string instance;
  std::optional<std::string> since, until;
};

struct ReportCommandOptions {
  EvidenceReadOptions read;
  std::string html;  // file to write; "-" for stdout
  std::string json;  // file to write; "-" for stdout
};

struct TimelineCommandOptions {
  EvidenceReadOptions read;
  std::optional<uint32_t> pid;
  std::string exec_id;
  std::string comm;
  std::optional<uint32_t> uid;
  std::string addr;
  std::optional<uint32_t> port;
  bool around_gap = false;
  bool json = false;
  std::string html;  // file to write
};

int runCommand(const GlobalOptions& global, const RunOptions& options);
int reportCommand(const GlobalOptions& global, const ReportCommandOptions& options);
int timelineCommand(const GlobalOptions& global, const TimelineCommandOptions& options);
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
