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

// The EC2 calls posture makes about this instance; tests supply fakes.
class Ec2Queries {
 public:
  virtual ~Ec2Queries() = default;
  virtual Result<std::map<std::string, EbsVolume>> describeVolumes(
      const std::vector<std::string>& ids) = 0;
  virtual Result<InstanceMetadataOptions> metadataOptions() = 0;
};

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
