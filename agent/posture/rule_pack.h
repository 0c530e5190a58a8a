#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/result.h"
#include "agent/posture/platform.h"
#include "agent/posture/rules.pb.h"

namespace demarc::posture {

struct LoadedRule {
  rules::v1::Rule rule;
  std::string pack;
  std::string origin;  // "config/rules/ssh.yaml:12"
  std::vector<PlatformTerm> platforms;
};

struct RuleSet {
  std::vector<LoadedRule> rules;  // in file order, files sorted by name
  std::vector<std::string> files;
  std::string digest;  // SHA-256 over every file's name and bytes, in order
};

// Loads rule packs: files, or folders whose *.yaml files are read in name
// order. Every problem in every file is reported at once, as
// "FILE:LINE: rules[3].checks[0].file.max_mode: what is wrong".
Result<RuleSet> loadRulePacks(const std::vector<std::filesystem::path>& paths);

// One pack from text, appended to `set` (ids must stay unique across it).
Status addRulePack(RuleSet& set, std::string_view yaml, const std::string& source);

}  // namespace demarc::posture
