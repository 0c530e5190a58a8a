#pragma once

// Every check kind's entry points; checks/registry.cpp lists them.
#include <string>
#include <vector>

#include "agent/posture/checks/check.h"

namespace demarc::posture {

CheckOutcome runFileCheck(const rules::v1::Check& check, ScanContext& context);
void validateFileCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runContentCheck(const rules::v1::Check& check, ScanContext& context);
void validateContentCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runSshdCheck(const rules::v1::Check& check, ScanContext& context);
void validateSshdCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runSysctlCheck(const rules::v1::Check& check, ScanContext& context);
void validateSysctlCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runModuleCheck(const rules::v1::Check& check, ScanContext& context);
void validateModuleCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runUnitCheck(const rules::v1::Check& check, ScanContext& context);
void validateUnitCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runPackageCheck(const rules::v1::Check& check, ScanContext& context);
void validatePackageCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runMountCheck(const rules::v1::Check& check, ScanContext& context);
void validateMountCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runAccountsCheck(const rules::v1::Check& check, ScanContext& context);
void validateAccountsCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runSettingCheck(const rules::v1::Check& check, ScanContext& context);
void validateSettingCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runPamCheck(const rules::v1::Check& check, ScanContext& context);
void validatePamCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runFirewallCheck(const rules::v1::Check& check, ScanContext& context);
void validateFirewallCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runAuditRuleCheck(const rules::v1::Check& check, ScanContext& context);
void validateAuditRuleCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runTimeSyncCheck(const rules::v1::Check& check, ScanContext& context);
void validateTimeSyncCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runMacCheck(const rules::v1::Check& check, ScanContext& context);
void validateMacCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runEc2Check(const rules::v1::Check& check, ScanContext& context);
void validateEc2Check(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runPatchCheck(const rules::v1::Check& check, ScanContext& context);
void validatePatchCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runListenerCheck(const rules::v1::Check& check, ScanContext& context);
void validateListenerCheck(const rules::v1::Check& check, std::vector<std::string>& problems);
CheckOutcome runEncryptionCheck(const rules::v1::Check& check, ScanContext& context);
void validateEncryptionCheck(const rules::v1::Check& check, std::vector<std::string>& problems);

}  // namespace demarc::posture
