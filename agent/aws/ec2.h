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

// ec2:DescribeVolumes for these volume ids (query protocol), by id.
Result<std::map<std::string, EbsVolume>> describeVolumes(AwsClient& client,
                                                         const std::vector<std::string>& ids);

// The text of each top-level <item> directly inside <set>...</set> of an EC2
// reply (items nest: attachments and tags are items too).
std::vector<std::string_view> ec2Items(std::string_view xml, std::string_view set);

}  // namespace demarc::aws
