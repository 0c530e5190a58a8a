#include "agent/posture/rule_pack.h"

#include <algorithm>
#include <set>

#include "agent/config/yaml_message.h"
#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/posture/checks/check.h"

namespace demarc::posture {
namespace {

bool validId(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// "debian12 5.1.20": a benchmark name, one space, a dotted section number.
bool validCisReference(std::string_view ref) {
  size_t space = ref.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  std::string_view name = ref.substr(0, space);
  std::string_view section = ref.substr(space + 1);
  bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  bool section_ok = !section.empty() && section.front() != '.' && section.back() != '.' &&
                    section.find("..") == std::string_view::npos &&
                    std::all_of(section.begin(), section.end(),
                                [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  return name_ok && section_ok;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

Status addRulePack(RuleSet& set, std::string_view yaml, const std::string& source) {
  rules::v1::RulePack pack;
  config::YamlLoad load = config::loadYamlMessage(yaml, source, &pack);
  std::vector<std::string> errors = std::move(load.errors);
  if (errors.empty() && pack.rules_size() == 0) {
    errors.push_back(source + ":1: rules: a pack needs at least one rule");
  }
  std::set<std::string> ids;
  for (const auto& r : set.rules) ids.insert(r.rule.id());
  std::vector<LoadedRule> loaded;
  // Meaning is checked once the file has the right shape.
  const int to_check = errors.empty() ? pack.rules_size() : 0;
  for (int i = 0; i < to_check; ++i) {
    const rules::v1::Rule& rule = pack.rules(i);
    std::string path = "rules[" + std::to_string(i) + "]";
    std::string at = load.where(source, path);
    std::string label = path + (rule.id().empty() ? "" : " (" + rule.id() + ")");
    auto problem = [&](const std::string& key, const std::string& what) {
      errors.push_back(load.where(source, key.empty() ? path : path + "." + key) + label +
                       (key.empty() ? "" : "." + key) + ": " + what);
    };
    if (!validId(rule.id())) problem("id", "required: lower-case letters, digits, '-' and '.'");
    if (!rule.id().empty() && !ids.insert(rule.id()).second) {
      problem("id", "'" + rule.id() + "' is already used by another rule");
    }
    if (rule.title().empty()) problem("title", "required");
    if (rule.severity() == demarc::v1::SEVERITY_UNSPECIFIED) problem("severity", "required");
    if (rule.remediation().empty()) problem("remediation", "required");
    if (rule.checks_size() == 0) problem("checks", "at least one check");
    for (int r = 0; r < rule.references().cis_size(); ++r) {
      if (!validCisReference(rule.references().cis(r))) {
        problem("references.cis[" + std::to_string(r) + "]",
                "'" + rule.references().cis(r) +
                    "' is not BENCHMARK SECTION, such as \"debian12 5.1.20\"");
      }
    }
    LoadedRule lr;
    for (int p = 0; p < rule.platforms_size(); ++p) {
      auto term = parsePlatformTerm(rule.platforms(p));
      if (!term.ok()) {
        problem("platforms[" + std::to_string(p) + "]", term.error().message());
      } else {
        lr.platforms.push_back(*term);
      }
    }
    for (int c = 0; c < rule.checks_size(); ++c) {
      std::string check_key = "checks[" + std::to_string(c) + "]";
      const CheckKind* kind = findCheckKind(rule.checks(c).kind_case());
      if (kind == nullptr) {
        problem(check_key, "names no check kind (file, content, sshd, sysctl, ...)");
        continue;
      }
      std::vector<std::string> problems;
      kind->validate(rule.checks(c), problems);
      for (const auto& p : problems) problem(check_key + "." + kind->name, p);
    }
    lr.rule = rule;
    lr.pack = pack.pack().empty() ? std::filesystem::path(source).stem().string() : pack.pack();
    lr.origin = at.substr(0, at.size() - 2);  // "FILE:LINE"
    loaded.push_back(std::move(lr));
  }
  if (!errors.empty()) return Error(ErrorCode::kInvalidArgument, joinLines(errors));
  for (auto& r : loaded) set.rules.push_back(std::move(r));
  return {};
}

Result<RuleSet> loadRulePacks(const std::vector<std::filesystem::path>& paths) {
  RuleSet set;
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") {
          in_dir.push_back(e.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) {
        return Error(ErrorCode::kNotFound, p.string() + ": no rule packs (*.yaml) in this folder");
      }
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    } else {
      return Error(ErrorCode::kNotFound, p.string() + ": no such rule pack file or folder");
    }
  }
  std::vector<std::string> errors;
  std::string digest_input;
  for (const auto& f : files) {
    auto text = readFilePrefix(f, 8 << 20);
    if (!text.ok()) {
      errors.push_back(text.error().message());
      continue;
    }
    digest_input += f.filename().string() + '\0' + *text + '\0';
    Status added = addRulePack(set, *text, f.string());
    if (!added.ok()) errors.push_back(added.error().message());
    set.files.push_back(f.string());
  }
  if (!errors.empty()) return Error(ErrorCode::kInvalidArgument, joinLines(errors));
  set.digest = toHex(sha256(digest_input));
  return set;
}

}  // namespace demarc::posture
