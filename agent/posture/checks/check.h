#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/evidence/record.pb.h"
#include "agent/posture/rules.pb.h"

namespace demarc::posture {

class ScanContext;

// What one check saw. `observed` and `source` are what an auditor needs to
// repeat the check by hand: the value, and the file and line (or /proc path)
// it came from.
struct CheckOutcome {
  demarc::v1::CheckStatus status = demarc::v1::CHECK_STATUS_ERROR;
  std::string observed;
  std::string expected;
  std::string source;

  static CheckOutcome pass(std::string observed, std::string expected, std::string source);
  static CheckOutcome fail(std::string observed, std::string expected, std::string source);
  static CheckOutcome notApplicable(std::string reason, std::string source = "");
  static CheckOutcome error(std::string reason, std::string source = "");
};

// One check kind: how to run it and how to validate its parameters when a
// rule pack is loaded (problems are phrased for the pack's author).
struct CheckKind {
  rules::v1::Check::KindCase kind;
  const char* name;
  CheckOutcome (*run)(const rules::v1::Check& check, ScanContext& context);
  void (*validate)(const rules::v1::Check& check, std::vector<std::string>& problems);
};

// The registry: every check kind, in one explicit list (checks/registry.cpp).
const CheckKind* findCheckKind(rules::v1::Check::KindCase kind);

// The worst of several outcomes (ERROR > FAIL > PASS > NOT_APPLICABLE), with
// the observations of all of them joined; used for rules with many checks
// and checks over many files.
CheckOutcome combineOutcomes(const std::vector<CheckOutcome>& outcomes);

// Expect: the comparisons setting-like checks share.
struct ExpectVerdict {
  bool ok = false;
  std::string expected;  // "one of no, prohibit-password", ">= 14"
};
ExpectVerdict evaluateExpect(const rules::v1::Expect& expect, std::string_view value);
std::string describeExpect(const rules::v1::Expect& expect);
void validateExpect(const rules::v1::Expect& expect, std::vector<std::string>& problems);

}  // namespace demarc::posture
