#include "agent/cli/aws_setup.h"

#include "agent/aws/imds.h"
#include "agent/config/loader.h"
#include "agent/core/host_root.h"

#include <optional>

namespace demarc::cli {

std::unique_ptr<aws::CredentialChain> credentialChain(const std::string& imds_endpoint,
                                                      std::chrono::milliseconds imds_timeout,
                                                      const Clock& clock) {
  std::vector<std::unique_ptr<aws::CredentialSource>> sources;
  sources.push_back(aws::environmentSource(aws::processEnvironment()));
  sources.push_back(aws::sharedFilesSource(aws::processEnvironment()));
  sources.push_back(aws::containerSource(aws::processEnvironment()));
  if (!imds_endpoint.empty())
    sources.push_back(aws::instanceRoleSource(imds_endpoint, imds_timeout));
  return std::make_unique<aws::CredentialChain>(std::move(sources), clock);
}

aws::AwsClientOptions awsOptions(const config::v1::Config& config, const std::string& region) {
  aws::AwsClientOptions o;
  o.region = config.aws().region().empty() ? region : config.aws().region();
  o.fips = config.aws().fips();
  o.ca_bundle = config.aws().ca_bundle();
  o.total_timeout = config::toMillis(config.aws().request_timeout());
  for (const auto& [service, url] : {std::pair{"s3", config.aws().s3_endpoint()},
                                     {"logs", config.aws().logs_endpoint()},
                                     {"ec2", config.aws().ec2_endpoint()}}) {
    if (!url.empty()) o.endpoints[service] = url;
  }
  return o;
}

namespace {

class InstanceEc2 : public aws::Ec2Queries {
 public:
  InstanceEc2(config::v1::Config config, std::string imds, std::chrono::milliseconds timeout)
      : config_(std::move(config)),
        imds_(std::move(imds)),
        timeout_(timeout),
        credentials_(credentialChain(imds_, timeout_, clock_)) {}

  Result<std::map<std::string, aws::EbsVolume>> describeVolumes(
      const std::vector<std::string>& ids) override {
    DEMARC_ASSIGN_OR_RETURN(auto client, ec2Client());
    return aws::describeVolumes(*client, ids);
  }
  Result<aws::InstanceMetadataOptions> metadataOptions() override {
    DEMARC_ASSIGN_OR_RETURN(auto client, ec2Client());
    return aws::describeMetadataOptions(*client, identity_->instance_id);
  }
  Result<std::vector<aws::SecurityGroup>> securityGroups() override {
    DEMARC_ASSIGN_OR_RETURN(auto client, ec2Client());
    DEMARC_ASSIGN_OR_RETURN(std::vector<std::string> groups,
                            aws::describeInstanceGroups(*client, identity_->instance_id));
    return aws::describeSecurityGroups(*client, groups);
  }

 private:
  // A client in the instance's region (its identity document, read once;
  // the credentials are the chain's, cached and refreshed across scans).
  Result<std::unique_ptr<aws::AwsClient>> ec2Client() {
    if (!identity_) {
      aws::ImdsClient imds(imds_, timeout_);
      DEMARC_ASSIGN_OR_RETURN(aws::InstanceIdentity id, imds.instanceIdentity());
      identity_ = std::move(id);
    }
    return std::make_unique<aws::AwsClient>(awsOptions(config_, identity_->region), *credentials_,
                                            clock_);
  }

  config::v1::Config config_;
  std::string imds_;
  std::chrono::milliseconds timeout_;
  RealClock clock_;
  std::unique_ptr<aws::CredentialChain> credentials_;
  std::optional<aws::InstanceIdentity> identity_;
};

}  // namespace

std::shared_ptr<aws::Ec2Queries> ec2Queries(const config::v1::Config& config) {
  auto endpoint = aws::imdsEndpointFor(HostRoot("/"), config.posture().imds_endpoint());
  if (!endpoint.ok()) return nullptr;
  return std::make_shared<InstanceEc2>(config, *endpoint,
                                       config::toMillis(config.posture().imds_timeout()));
}

}  // namespace demarc::cli
