// Checks of configuration values: sshd, sysctl, key/value settings files,
// PAM module lines and audit rules.
#include <charconv>

#include "agent/core/text.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"
#include "agent/posture/checks/util.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {
namespace {

// PAM's bracketed control ("[success=1 default=ignore]") holds blanks.
std::vector<std::string> pamWords(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    if (line[i] == '[') {
      size_t close = line.find(']', i);
      i = close == std::string_view::npos ? line.size() : close + 1;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    }
    words.emplace_back(line.substr(start, i - start));
  }
  return words;
}

struct PamLine {
  std::string type;
  std::string module;
  std::vector<std::string> args;
  std::string source;
};

void readPamFile(ScanContext& context, const std::string& path, int depth,
                 std::vector<PamLine>& out) {
  if (depth > 8) return;
  auto text = context.root().read(path, 1 << 20);
  if (!text.ok()) return;
  forEachLine(*text, [&](std::string_view line, size_t line_no) {
    std::string l = trimmed(line);
    if (l.empty() || l[0] == '#') return;
    std::vector<std::string> w = pamWords(l);
    if (w[0] == "@include" && w.size() > 1) {
      readPamFile(context, "/etc/pam.d/" + w[1], depth + 1, out);
      return;
    }
    if (w.size() < 3) return;
    std::string type = w[0];
    if (!type.empty() && type[0] == '-') type.erase(0, 1);  // "-session": optional module
    std::string module = w[2];
    size_t slash = module.rfind('/');
    if (slash != std::string::npos) module = module.substr(slash + 1);
    out.push_back(PamLine{type, module, std::vector<std::string>(w.begin() + 3, w.end()),
                          path + ":" + std::to_string(line_no)});
  });
}

// "remember>=24", "minlen>=14", "use_authtok", "retry<=3", "deny=4".
struct ArgRequirement {
  std::string name;
  std::string op;  // "", ">=", "<=", "="
  double value = 0;
  std::string text;
};

ArgRequirement parseArgRequirement(const std::string& text) {
  ArgRequirement r;
  r.text = text;
  for (const char* op : {">=", "<=", "="}) {
    size_t at = text.find(op);
    if (at == std::string::npos) continue;
    r.name = text.substr(0, at);
    r.op = op;
    std::string v = text.substr(at + std::string(op).size());
    std::from_chars(v.data(), v.data() + v.size(), r.value);
    return r;
  }
  r.name = text;
  return r;
}

bool argSatisfies(const std::vector<std::string>& args, const ArgRequirement& r) {
  for (const std::string& a : args) {
    size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (name != r.name) continue;
    if (r.op.empty()) return true;
    if (eq == std::string::npos) return false;
    double v = 0;
    std::string value = a.substr(eq + 1);
    if (std::from_chars(value.data(), value.data() + value.size(), v).ec != std::errc()) {
      return false;
    }
    if (r.op == ">=") return v >= r.value;
    if (r.op == "<=") return v <= r.value;
    return v == r.value;
  }
  return false;
}

}  // namespace

CheckOutcome runSshdCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.sshd();
  const SshdConfig& config = context.sshd();
  std::string keyword = lowered(spec.keyword());
  auto value = config.effective(keyword);
  if (!value) {
    for (const auto& p : config.problems) {
      if (p.find("cannot be read") != std::string::npos) return CheckOutcome::error(p);
    }
    return CheckOutcome::fail(spec.keyword() + " not set (sshd's built-in list applies)",
                              describeExpect(spec.expect()), "/etc/ssh/sshd_config");
  }
  ExpectVerdict verdict = evaluateExpect(spec.expect(), value->value);
  std::string observed = spec.keyword() + " " + value->value;
  for (const auto& c : config.conditional(keyword)) {
    observed += " (Match " + c.match + " sets " + c.value + " at " + c.source + ")";
  }
  return verdict.ok ? CheckOutcome::pass(observed, verdict.expected, value->source)
                    : CheckOutcome::fail(observed, verdict.expected, value->source);
}

void validateSshdCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.sshd().keyword().empty()) problems.push_back("keyword: required");
  validateExpect(check.sshd().expect(), problems);
}

CheckOutcome runSysctlCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.sysctl();
  std::string key = normalizeSysctlKey(spec.key());
  std::vector<std::string> parts;
  std::vector<std::string> sources;
  bool ok = true;
  std::string expected = describeExpect(spec.expect());
  if (context.live()) {
    auto runtime = readRuntimeSysctl(context.root(), key);
    if (runtime) {
      bool good = evaluateExpect(spec.expect(), runtime->value).ok;
      ok = ok && good;
      parts.push_back("running " + runtime->value);
      sources.push_back(runtime->source);
    } else {
      parts.push_back("not in the running kernel");
    }
  }
  const PersistedSysctl& persisted = context.persistedSysctl();
  auto it = persisted.values.find(key);
  if (it != persisted.values.end()) {
    bool good = evaluateExpect(spec.expect(), it->second.value).ok;
    ok = ok && good;
    parts.push_back("persisted " + it->second.value);
    sources.push_back(it->second.source);
  } else {
    parts.push_back("not persisted in sysctl.d or sysctl.conf");
    if (!spec.persisted_optional()) ok = false;
  }
  std::string observed = key + ": " + joinList(parts, ", ");
  std::string source = joinList(sources);
  return ok ? CheckOutcome::pass(observed, expected, source)
            : CheckOutcome::fail(observed, expected + " (running and persisted)", source);
}

void validateSysctlCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.sysctl().key().empty()) problems.push_back("key: required");
  validateExpect(check.sysctl().expect(), problems);
}

CheckOutcome runSettingCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.setting();
  std::vector<std::string> files(spec.path().begin(), spec.path().end());
  auto found =
      findSetting(context, files, spec.key(), spec.first_wins(), spec.case_sensitive_key());
  std::string expected = describeExpect(spec.expect());
  if (!found) {
    if (spec.default_value().empty()) {
      return CheckOutcome::fail(spec.key() + " not set", expected, joinList(files));
    }
    found = FoundSetting{spec.default_value(), "default (not set in " + joinList(files) + ")"};
  }
  ExpectVerdict verdict = evaluateExpect(spec.expect(), found->value);
  std::string observed = spec.key() + " " + found->value;
  return verdict.ok ? CheckOutcome::pass(observed, expected, found->source)
                    : CheckOutcome::fail(observed, expected, found->source);
}

void validateSettingCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.setting().path_size() == 0) problems.push_back("path: at least one file");
  if (check.setting().key().empty()) problems.push_back("key: required");
  validateExpect(check.setting().expect(), problems);
}

CheckOutcome runPamCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.pam();
  std::string file;
  for (const auto& p : spec.path()) {
    if (context.root().lstat(p).ok()) {
      file = p;
      break;
    }
  }
  if (file.empty()) {
    return CheckOutcome::fail(
        "none of " + joinList({spec.path().begin(), spec.path().end()}) + " exists",
        "PAM configuration", "");
  }
  std::vector<PamLine> lines;
  readPamFile(context, file, 0, lines);
  std::vector<const PamLine*> matching;
  for (const auto& l : lines) {
    if (l.module == spec.module() && (spec.type().empty() || l.type == spec.type())) {
      matching.push_back(&l);
    }
  }
  if (spec.absent()) {
    if (matching.empty()) return CheckOutcome::pass(spec.module() + " not used", "absent", file);
    return CheckOutcome::fail(spec.module() + " used", "absent", matching.front()->source);
  }
  std::string expected = spec.module();
  for (const auto& a : spec.with_args()) expected += " " + a;
  for (const auto& a : spec.without_args()) expected += " without " + a;
  if (matching.empty()) return CheckOutcome::fail(spec.module() + " not used", expected, file);
  std::vector<std::string> missing;
  for (const auto& a : spec.with_args()) {
    ArgRequirement r = parseArgRequirement(a);
    bool any = false;
    for (const PamLine* l : matching) any = any || argSatisfies(l->args, r);
    if (!any) missing.push_back(a);
  }
  std::vector<std::string> forbidden;
  std::string where = matching.front()->source;
  for (const auto& a : spec.without_args()) {
    for (const PamLine* l : matching) {
      if (argSatisfies(l->args, parseArgRequirement(a))) {
        forbidden.push_back(a);
        where = l->source;
        break;
      }
    }
  }
  const PamLine* shown = matching.front();
  std::string observed = shown->type + " " + shown->module + " " + joinList(shown->args, " ");
  if (missing.empty() && forbidden.empty()) return CheckOutcome::pass(observed, expected, where);
  std::string why;
  if (!missing.empty()) why = "missing " + joinList(missing);
  if (!forbidden.empty())
    why += std::string(why.empty() ? "" : "; ") + "has " + joinList(forbidden);
  return CheckOutcome::fail(observed + " (" + why + ")", expected, where);
}

void validatePamCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.pam().path_size() == 0) problems.push_back("path: at least one PAM file");
  if (check.pam().module().empty()) problems.push_back("module: required");
}

CheckOutcome runAuditRuleCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.audit_rule();
  std::vector<std::string> files = context.root().glob("/etc/audit/rules.d/*.rules");
  if (files.empty() && context.root().lstat("/etc/audit/audit.rules").ok()) {
    files.push_back("/etc/audit/audit.rules");
  }
  std::string expected =
      "a rule with " + joinList({spec.tokens().begin(), spec.tokens().end()}, " ");
  if (files.empty()) {
    return CheckOutcome::fail("no audit rules files", expected, "/etc/audit/rules.d");
  }
  for (const std::string& file : files) {
    auto text = context.root().read(file, 4 << 20);
    if (!text.ok()) return CheckOutcome::error(text.error().message(), file);
    std::optional<CheckOutcome> hit;
    forEachLine(*text, [&](std::string_view line, size_t line_no) {
      if (hit) return;
      // One blank between words, so "-p  wa" and "-p wa" compare equal.
      std::string normal;
      for (const std::string& w : pamWords(trimmed(line)))
        normal += (normal.empty() ? "" : " ") + w;
      if (normal.empty() || normal[0] == '#') return;
      normal = " " + normal + " ";
      for (const auto& token : spec.tokens()) {
        if (normal.find(" " + token + " ") == std::string::npos) return;
      }
      hit = CheckOutcome::pass(trimmed(line), expected, file + ":" + std::to_string(line_no));
    });
    if (hit) return *hit;
  }
  return CheckOutcome::fail("no such rule", expected, joinList(files));
}

void validateAuditRuleCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.audit_rule().tokens_size() == 0) problems.push_back("tokens: at least one");
}

}  // namespace demarc::posture
