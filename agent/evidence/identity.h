#pragma once

#include <filesystem>
#include <string>

#include "agent/core/clock.h"
#include "agent/core/host_root.h"
#include "agent/core/result.h"
#include "agent/evidence/record.pb.h"
#include "agent/evidence/signer.h"

namespace demarc::evidence {

// Hostname, machine id and boot id from the host root. Fields that cannot be
// read stay empty (a container may have no machine-id); EC2 fields are filled
// by the aws component when IMDS answers.
v1::HostIdentity readHostIdentity(const HostRoot& root);

// The folder name a host's evidence is filed under: the instance id on EC2,
// otherwise "host-" and the machine id (or hostname), made safe for paths.
std::string hostKey(const v1::HostIdentity& host);

// The agent id: a random UUID created with the signing key, stored at path.
Result<std::string> loadOrCreateAgentId(const std::filesystem::path& path);

v1::Record makeEnrollment(const Signer& signer, const std::string& agent_id,
                          const v1::HostIdentity& host, SystemTime now);

}  // namespace demarc::evidence
