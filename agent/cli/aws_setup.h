#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/aws/aws_client.h"
#include "agent/aws/credentials.h"
#include "agent/aws/ec2.h"
#include "agent/config/config.pb.h"
#include "agent/core/clock.h"

namespace demarc::cli {

// The standard credential chain: environment, shared files, container
// endpoint, and the instance role where IMDS is (imds_endpoint non-empty).
std::unique_ptr<aws::CredentialChain> credentialChain(const std::string& imds_endpoint,
                                                      std::chrono::milliseconds imds_timeout,
                                                      const Clock& clock);

// Client options from the config's aws: section (endpoints, FIPS, CA
// bundle, request timeout); region falls back to the given one (the
// instance's).
aws::AwsClientOptions awsOptions(const config::v1::Config& config, const std::string& region);

// The EC2 calls posture makes about this instance, through the credential
// chain, in the instance's region (identity document, asked on first use);
// none where there is no IMDS (off EC2). Each call asks afresh (scans are
// hours apart).
std::shared_ptr<aws::Ec2Queries> ec2Queries(const config::v1::Config& config);

}  // namespace demarc::cli
