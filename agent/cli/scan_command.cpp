#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "agent/cli/aws_setup.h"
#include "agent/cli/commands.h"
#include "agent/core/clock.h"
#include "agent/evidence/json.h"
#include "agent/posture/scanner.h"

namespace demarc::cli {
namespace {

namespace fs = std::filesystem;
using demarc::v1::CheckStatus;

constexpr const char* kPackagedRules = "/usr/share/demarc/rules";

std::string statusName(CheckStatus s) {
  switch (s) {
    case demarc::v1::CHECK_STATUS_PASS:
      return "PASS";
    case demarc::v1::CHECK_STATUS_FAIL:
      return "FAIL";
    case demarc::v1::CHECK_STATUS_NOT_APPLICABLE:
      return "N/A";
    default:
      return "ERROR";
  }
}

std::string severityName(demarc::v1::Severity s) {
  std::string name = demarc::v1::Severity_Name(s);
  name = name.substr(std::string("SEVERITY_").size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string jsonString(std::string_view s) {
  std::string out;
  evidence::appendJsonString(s, out);
  return out;
}

void printTable(const posture::ScanReport& report, bool all, bool color) {
  auto paint = [&](const std::string& text, const char* code) {
    return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  };
  std::printf("demarc scan: %s at %s (%s), %zu rules in %.2f s\n", report.os.c_str(),
              report.root.c_str(), report.live ? "live host" : "image", report.results.size(),
              static_cast<double>(report.elapsed.count()) / 1e6);
  std::printf("  %s %zu   %s %zu   %s %zu   %s %zu\n", paint("PASS", "32").c_str(),
              report.count(demarc::v1::CHECK_STATUS_PASS), paint("FAIL", "31").c_str(),
              report.count(demarc::v1::CHECK_STATUS_FAIL), "not applicable",
              report.count(demarc::v1::CHECK_STATUS_NOT_APPLICABLE), paint("ERROR", "33").c_str(),
              report.count(demarc::v1::CHECK_STATUS_ERROR));
  std::map<int, size_t, std::greater<>> by_severity;
  for (const auto& r : report.results) {
    if (r.outcome.status == demarc::v1::CHECK_STATUS_FAIL) ++by_severity[r.rule->rule.severity()];
  }
  if (!by_severity.empty()) {
    std::string line;
    for (const auto& [sev, n] : by_severity) {
      line += (line.empty() ? "" : ", ") + severityName(static_cast<demarc::v1::Severity>(sev)) +
              " " + std::to_string(n);
    }
    std::printf("  failures by severity: %s\n", line.c_str());
  }
  std::vector<const posture::RuleResult*> shown;
  for (const auto& r : report.results) {
    bool problem = r.outcome.status == demarc::v1::CHECK_STATUS_FAIL ||
                   r.outcome.status == demarc::v1::CHECK_STATUS_ERROR;
    if (all || problem) shown.push_back(&r);
  }
  auto rank = [](CheckStatus s) {
    return s == demarc::v1::CHECK_STATUS_FAIL    ? 0
           : s == demarc::v1::CHECK_STATUS_ERROR ? 1
           : s == demarc::v1::CHECK_STATUS_PASS  ? 2
                                                 : 3;
  };
  std::stable_sort(shown.begin(), shown.end(), [&](const auto* a, const auto* b) {
    if (rank(a->outcome.status) != rank(b->outcome.status)) {
      return rank(a->outcome.status) < rank(b->outcome.status);
    }
    return a->rule->rule.severity() > b->rule->rule.severity();
  });
  for (const auto* r : shown) {
    const auto& rule = r->rule->rule;
    std::string status = statusName(r->outcome.status);
    const char* code = r->outcome.status == demarc::v1::CHECK_STATUS_FAIL    ? "31"
                       : r->outcome.status == demarc::v1::CHECK_STATUS_ERROR ? "33"
                       : r->outcome.status == demarc::v1::CHECK_STATUS_PASS  ? "32"
                                                                             : "2";
    std::string padded = status + std::string(6 - std::min<size_t>(6, status.size()), ' ');
    std::printf("\n%s %-8s %s  %s\n", paint(padded, code).c_str(),
                severityName(rule.severity()).c_str(), rule.id().c_str(), rule.title().c_str());
    std::printf("       observed: %s\n", r->outcome.observed.c_str());
    if (!r->outcome.source.empty()) std::printf("       source:   %s\n", r->outcome.source.c_str());
    if (!r->outcome.expected.empty()) {
      std::printf("       expected: %s\n", r->outcome.expected.c_str());
    }
    if (r->outcome.status == demarc::v1::CHECK_STATUS_FAIL) {
      std::printf("       fix:      %s\n", rule.remediation().c_str());
    }
  }
}

void printJson(const posture::ScanReport& report, posture::ScanContext& context) {
  std::string out = "{\"root\":" + jsonString(report.root) + ",\"os\":" + jsonString(report.os) +
                    ",\"live\":" + (report.live ? "true" : "false") +
                    ",\"started\":" + jsonString(formatTime(report.started)) +
                    ",\"elapsed_ms\":" + std::to_string(report.elapsed.count() / 1000) +
                    ",\"rules_digest\":" + jsonString(report.rules_digest) + ",\"summary\":{";
  out += "\"pass\":" + std::to_string(report.count(demarc::v1::CHECK_STATUS_PASS)) +
         ",\"fail\":" + std::to_string(report.count(demarc::v1::CHECK_STATUS_FAIL)) +
         ",\"not_applicable\":" +
         std::to_string(report.count(demarc::v1::CHECK_STATUS_NOT_APPLICABLE)) +
         ",\"error\":" + std::to_string(report.count(demarc::v1::CHECK_STATUS_ERROR)) +
         "},\"findings\":[";
  for (size_t i = 0; i < report.results.size(); ++i) {
    if (i) out += ",";
    std::string finding;
    evidence::appendJson(posture::toFinding(report.results[i]), finding);
    // The pack and where the rule is defined, beside the sealed fields.
    finding.pop_back();
    out += finding + ",\"pack\":" + jsonString(report.results[i].rule->pack) +
           ",\"rule_origin\":" + jsonString(report.results[i].rule->origin) + "}";
  }
  out += "],\"inventory\":[";
  auto inventory = posture::collectInventory(context);
  for (size_t i = 0; i < inventory.size(); ++i) {
    if (i) out += ",";
    evidence::appendJson(inventory[i], out);
  }
  out += "]";
  if (auto feed = posture::cveFeedRecord(context)) {
    out += ",\"cve_feed\":";
    evidence::appendJson(*feed, out);
  }
  out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

std::optional<demarc::v1::Severity> parseSeverity(const std::string& text) {
  for (int i = demarc::v1::SEVERITY_INFO; i <= demarc::v1::SEVERITY_CRITICAL; ++i) {
    auto s = static_cast<demarc::v1::Severity>(i);
    if (severityName(s) == text) return s;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<fs::path>> rulePackPaths(const config::Config& config,
                                            const std::string& config_path,
                                            const std::vector<std::string>& overrides) {
  std::vector<fs::path> paths;
  fs::path base = fs::path(config_path).parent_path();
  const auto& listed = overrides.empty()
                           ? std::vector<std::string>(config.posture().rule_packs().begin(),
                                                      config.posture().rule_packs().end())
                           : overrides;
  for (const auto& p : listed) {
    // In the config, relative paths are relative to the config file.
    paths.push_back(overrides.empty() && fs::path(p).is_relative() ? base / p : fs::path(p));
  }
  if (!paths.empty()) return paths;
  std::error_code ec;
  if (fs::is_directory(base / "rules", ec)) return std::vector<fs::path>{base / "rules"};
  if (fs::is_directory(kPackagedRules, ec)) return std::vector<fs::path>{kPackagedRules};
  return Error(ErrorCode::kNotFound, "no rule packs: posture.rule_packs is empty, and neither " +
                                         (base / "rules").string() + " nor " + kPackagedRules +
                                         " exists");
}

posture::ScanOptions scanOptionsFrom(const config::Config& config, const std::string& config_path) {
  posture::ScanOptions options;
  if (const std::string& feed = config.posture().cve_feed(); !feed.empty()) {
    // Relative to the config file, as rule packs are.
    options.cve_feed =
        fs::path(feed).is_relative() ? (fs::path(config_path).parent_path() / feed).string() : feed;
  }
  for (const auto& a : config.posture().allowed_listeners()) {
    options.allowed_listeners.push_back({a.protocol(), a.port(), a.address(), a.process()});
  }
  options.imds_endpoint = config.posture().imds_endpoint();
  const auto& t = config.posture().imds_timeout();
  options.imds_timeout = std::chrono::milliseconds(t.seconds() * 1000 + t.nanos() / 1000000);
  options.ec2_api = ec2Queries(config);
  return options;
}

int scanCommand(const GlobalOptions& global, const ScanCommandOptions& options) {
  std::optional<config::Config> config;
  std::error_code ec;
  if (global.config_path == kDefaultConfigPath && !fs::exists(global.config_path, ec)) {
    // scan works without an installed config: defaults, and rules from
    // --rules or the packaged folder.
    setupDefaultLogging(global);
    config = config::defaultConfig();
  } else {
    config = loadConfigAndLogging(global);
    if (!config) return kExitUsage;
  }
  std::optional<demarc::v1::Severity> fail_on = parseSeverity(options.fail_on);
  {
    if (!fail_on) {
      std::fprintf(stderr,
                   "demarc scan: --fail-on: '%s' is not one of info, low, medium, high, critical\n",
                   options.fail_on.c_str());
      return kExitUsage;
    }
  }
  if (!options.root.empty() && !fs::is_directory(options.root, ec)) {
    std::fprintf(stderr, "demarc scan: --root %s: not a folder\n", options.root.c_str());
    return kExitUsage;
  }
  auto paths = rulePackPaths(*config, global.config_path, options.rule_packs);
  if (!paths.ok()) {
    std::fprintf(stderr, "demarc scan: %s\n", paths.error().message().c_str());
    return kExitUsage;
  }
  auto rules = posture::loadRulePacks(*paths);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\ndemarc scan: invalid rule packs\n", rules.error().message().c_str());
    return kExitUsage;
  }
  fs::path root = options.root.empty() ? fs::path("/") : fs::absolute(options.root);
  if (root != "/") root = root.lexically_normal();
  if (root.string().size() > 1 && root.string().back() == '/') root = root.parent_path();
  posture::ScanOptions scan_options = scanOptionsFrom(*config, global.config_path);
  if (!options.cve_feed.empty()) scan_options.cve_feed = options.cve_feed;
  // An image's volumes and settings are not this instance's.
  if (!HostRoot(root).isLive()) scan_options.ec2_api = nullptr;
  posture::ScanContext context(HostRoot(root), std::move(scan_options));
  auto select = [&](const posture::LoadedRule& r) {
    if (options.rule_ids.empty()) return true;
    return std::any_of(options.rule_ids.begin(), options.rule_ids.end(), [&](const std::string& g) {
      return ::fnmatch(g.c_str(), r.rule.id().c_str(), 0) == 0;
    });
  };
  posture::ScanReport report = posture::runScan(*rules, context, select);
  if (report.results.empty()) {
    std::fprintf(stderr, "demarc scan: no rule matches --rule\n");
    return kExitUsage;
  }
  if (options.json) {
    printJson(report, context);
  } else {
    printTable(report, options.all, ::isatty(STDOUT_FILENO) != 0);
  }
  for (const auto& r : report.results) {
    if (r.outcome.status == demarc::v1::CHECK_STATUS_FAIL && r.rule->rule.severity() >= *fail_on) {
      return kExitDefects;
    }
  }
  return kExitOk;
}

}  // namespace demarc::cli
