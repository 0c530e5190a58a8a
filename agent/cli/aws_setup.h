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

// Client options from the config's aws: section; region falls back to the
// given one (the instance's).
aws::AwsClientOptions awsOptions(const config::v1::Config& config, const std::string& region);

// ec2:DescribeVolumes for posture's EBS verdicts, through the credential
// chain and the instance's region; empty where there is no IMDS (off EC2,
// image scans). Each call asks afresh (scans are hours apart).
std::function<Result<std::map<std::string, aws::EbsVolume>>(const std::vector<std::string>&)>
volumeDescriber(const config::v1::Config& config);

}  // namespace demarc::cli
