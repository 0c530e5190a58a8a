#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/aws/aws_client.h"
#include "agent/aws/credentials.h"
#include "agent/config/config.pb.h"
#include "agent/core/clock.h"

namespace demarc::cli {

// The standard credential chain: environment, shared files, container
// endpoint, and the instance role where IMDS is (imds_endpoint non-empty).
std::unique_ptr<aws::CredentialChain> credentialChain(const std::string& imds_endpoint,
                                                      std::chrono::milliseconds imds_timeout,
                                                      const Clock& clock);

// Client options from the config's aws: section; region falls back to the
// given one (the instance's).
aws::AwsClientOptions awsOptions(const config::v1::Config& config, const std::string& region);

}  // namespace demarc::cli
