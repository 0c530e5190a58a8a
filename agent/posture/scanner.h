#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/record.pb.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/rule_pack.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {

struct RuleResult {
  const LoadedRule* rule = nullptr;
  CheckOutcome outcome;
};

struct ScanReport {
  std::string root;
  std::string os;  // PRETTY_NAME, or why it is unknown
  bool live = true;
  SystemTime started;
  std::chrono::microseconds elapsed{0};
  std::string rules_digest;
  std::vector<RuleResult> results;  // in rule order

  size_t count(demarc::v1::CheckStatus status) const;
};

// Runs every rule that `select` accepts (all when empty) against the
// context. Rules for another platform, or whose required package is not
// installed, are NOT_APPLICABLE with that reason. A check never takes the
// scan down: anything unexpected becomes an ERROR finding.
ScanReport runScan(const RuleSet& rules, ScanContext& context,
                   const std::function<bool(const LoadedRule&)>& select = {});

// The evidence record of one result.
demarc::v1::Finding toFinding(const RuleResult& result);

// Host inventory worth sealing beside the findings: the OS, kernels,
// pending updates, listening sockets and volumes.
std::vector<demarc::v1::InventoryItem> collectInventory(ScanContext& context);

// The CVE feed the context matched, for the scan summary; empty when no
// feed was configured or it could not be read (the rule says why).
std::optional<demarc::v1::CveFeed> cveFeedRecord(ScanContext& context);

}  // namespace demarc::posture
