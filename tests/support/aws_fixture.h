#pragma once

#include <memory>
#include <string>

#include "agent/aws/aws_client.h"
#include "agent/aws/credentials.h"
#include "agent/core/clock.h"

namespace demarc::testing {

// A credential chain holding one pair of static keys (AKIATEST / secret).
std::unique_ptr<aws::CredentialChain> staticCredentials(const Clock& clock);

// Client options that send `service` to a local fake at url, in eu-west-1.
aws::AwsClientOptions fakeEndpoint(const std::string& service, const std::string& url);

}  // namespace demarc::testing
