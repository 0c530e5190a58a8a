#include "agent/cli/aws_setup.h"

#include "agent/aws/imds.h"
#include "agent/core/host_root.h"

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
  for (const auto& [service, url] : {std::pair{"s3", config.aws().s3_endpoint()},
                                     {"logs", config.aws().logs_endpoint()},
                                     {"ec2", config.aws().ec2_endpoint()}}) {
    if (!url.empty()) o.endpoints[service] = url;
  }
  return o;
}

std::function<Result<std::map<std::string, aws::EbsVolume>>(const std::vector<std::string>&)>
volumeDescriber(const config::v1::Config& config) {
  auto endpoint = aws::imdsEndpointFor(HostRoot("/"), config.posture().imds_endpoint());
  if (!endpoint.ok()) return {};
  const auto& t = config.posture().imds_timeout();
  std::chrono::milliseconds timeout(t.seconds() * 1000 + t.nanos() / 1'000'000);
  return [config, imds = *endpoint, timeout](
             const std::vector<std::string>& ids) -> Result<std::map<std::string, aws::EbsVolume>> {
    std::string region = config.aws().region();
    if (region.empty()) {
      aws::ImdsClient client(imds, timeout);
      DEMARC_ASSIGN_OR_RETURN(aws::InstanceIdentity id, client.instanceIdentity());
      region = id.region;
    }
    RealClock clock;
    auto chain = credentialChain(imds, timeout, clock);
    aws::AwsClient client(awsOptions(config, region), *chain, clock);
    return aws::describeVolumes(client, ids);
  };
}

}  // namespace demarc::cli
