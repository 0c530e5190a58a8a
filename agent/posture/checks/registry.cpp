#include <algorithm>
#include <array>

#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"

namespace demarc::posture {
namespace {

using K = rules::v1::Check;

// The one list of check kinds. A new kind: a message in rules.proto, its
// run/validate functions under checks/, and one line here.
constexpr std::array kKinds = {
    CheckKind{K::kFile, "file", runFileCheck, validateFileCheck},
    CheckKind{K::kContent, "content", runContentCheck, validateContentCheck},
    CheckKind{K::kSshd, "sshd", runSshdCheck, validateSshdCheck},
    CheckKind{K::kSysctl, "sysctl", runSysctlCheck, validateSysctlCheck},
    CheckKind{K::kModule, "module", runModuleCheck, validateModuleCheck},
    CheckKind{K::kUnit, "unit", runUnitCheck, validateUnitCheck},
    CheckKind{K::kPackage, "package", runPackageCheck, validatePackageCheck},
    CheckKind{K::kMount, "mount", runMountCheck, validateMountCheck},
    CheckKind{K::kAccounts, "accounts", runAccountsCheck, validateAccountsCheck},
    CheckKind{K::kSetting, "setting", runSettingCheck, validateSettingCheck},
    CheckKind{K::kPam, "pam", runPamCheck, validatePamCheck},
    CheckKind{K::kFirewall, "firewall", runFirewallCheck, validateFirewallCheck},
    CheckKind{K::kAuditRule, "audit_rule", runAuditRuleCheck, validateAuditRuleCheck},
    CheckKind{K::kTimeSync, "time_sync", runTimeSyncCheck, validateTimeSyncCheck},
    CheckKind{K::kMac, "mac", runMacCheck, validateMacCheck},
    CheckKind{K::kEc2, "ec2", runEc2Check, validateEc2Check},
    CheckKind{K::kPatches, "patches", runPatchCheck, validatePatchCheck},
    CheckKind{K::kListeners, "listeners", runListenerCheck, validateListenerCheck},
    CheckKind{K::kEncryption, "encryption", runEncryptionCheck, validateEncryptionCheck},
};

}  // namespace

const CheckKind* findCheckKind(rules::v1::Check::KindCase kind) {
  auto it = std::find_if(kKinds.begin(), kKinds.end(),
                         [&](const CheckKind& k) { return k.kind == kind; });
  return it == kKinds.end() ? nullptr : &*it;
}

}  // namespace demarc::posture
