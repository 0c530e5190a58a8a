#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/aws/aws_client.h"
#include "agent/core/result.h"

namespace demarc::aws {

struct EbsVolume {
  std::string id;
  bool encrypted = false;
  std::string kms_key_id;  // ARN of the key, when encrypted
  std::string state;       // "in-use", ...
};

// An instance's metadata options (ec2:DescribeInstances).
struct InstanceMetadataOptions {
  std::string http_tokens;    // "required" (IMDSv2 only) or "optional"
  std::string http_endpoint;  // "enabled" or "disabled"
  int hop_limit = 0;          // HttpPutResponseHopLimit
};

// One inbound rule of a security group: protocol ("tcp", "udp", "-1" for
// all), port range (all ports when the protocol is "-1"), sources.
struct IngressRule {
  std::string protocol;
  int from_port = 0;
  int to_port = 0;
  std::vector<std::string> cidrs;          // IPv4 and IPv6 ranges
  std::vector<std::string> source_groups;  // other groups allowed in
};

struct SecurityGroup {
  std::string id;
  std::string name;
  std::vector<IngressRule> ingress;
};

// The EC2 calls posture makes about this instance; tests supply fakes.
class Ec2Queries {
 public:
  virtual ~Ec2Queries() = default;
  virtual Result<std::map<std::string, EbsVolume>> describeVolumes(
      const std::vector<std::string>& ids) = 0;
  virtual Result<InstanceMetadataOptions> metadataOptions() = 0;
  // The security groups of the instance's network interfaces.
  virtual Result<std::vector<SecurityGroup>> securityGroups() = 0;
};

// The security group ids of an instance (ec2:DescribeInstances).
Result<std::vector<std::string>> describeInstanceGroups(AwsClient& client,
                                                        const std::string& instance_id);
// ec2:DescribeSecurityGroups for these ids, with their inbound rules.
Result<std::vector<SecurityGroup>> describeSecurityGroups(AwsClient& client,
                                                          const std::vector<std::string>& ids);

// ec2:DescribeInstances for one instance's metadata options.
Result<InstanceMetadataOptions> describeMetadataOptions(AwsClient& client,
                                                        const std::string& instance_id);

// ec2:DescribeVolumes for these volume ids (query protocol), by id.
Result<std::map<std::string, EbsVolume>> describeVolumes(AwsClient& client,
                                                         const std::vector<std::string>& ids);

// The text of each top-level <item> directly inside <set>...</set> of an EC2
// reply (items nest: attachments and tags are items too).
std::vector<std::string_view> ec2Items(std::string_view xml, std::string_view set);

}  // namespace demarc::aws
