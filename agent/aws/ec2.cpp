#include "agent/aws/ec2.h"

namespace demarc::aws {
namespace {

constexpr std::string_view kApiVersion = "2016-11-15";

// The first <tag>value</tag> directly in item, outside nested sets.
std::string field(std::string_view item, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  int depth = 0;
  for (size_t i = 0; i < item.size(); ++i) {
    if (item.compare(i, 6, "<item>") == 0) ++depth;
    if (item.compare(i, 7, "</item>") == 0) --depth;
    if (depth == 0 && item.compare(i, open.size(), open) == 0) {
      size_t start = i + open.size();
      size_t end = item.find(close, start);
      if (end == std::string_view::npos) return "";
      return std::string(item.substr(start, end - start));
    }
  }
  return "";
}

// A query-protocol POST to EC2; non-200 replies become errors naming the action.
Result<std::string> ec2Call(AwsClient& client, const std::string& action,
                            const std::string& params) {
  HttpRequest r;
  r.method = "POST";
  r.url = client.endpoint("ec2") + "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=" + action + "&Version=" + std::string(kApiVersion) + params;
  DEMARC_ASSIGN_OR_RETURN(HttpResponse response, client.send("ec2", std::move(r)));
  if (response.status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "ec2:" + action + ": " + parseAwsError(response).describe());
  }
  return std::move(response.body);
}

int portOf(const std::string& text) {
  if (text.empty() || text.size() > 6) return -1;
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

std::vector<std::string_view> ec2Items(std::string_view xml, std::string_view set) {
  std::vector<std::string_view> items;
  std::string open = "<" + std::string(set) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) return items;
  std::string_view body = xml.substr(start + open.size());
  int depth = 0;
  size_t item_start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body.compare(i, 6, "<item>") == 0) {
      if (depth++ == 0) item_start = i + 6;
    } else if (body.compare(i, 7, "</item>") == 0) {
      if (--depth == 0) items.push_back(body.substr(item_start, i - item_start));
      if (depth < 0) break;
    } else if (depth == 0 && body.compare(i, 2, "</") == 0) {
      break;  // the end of the set
    }
  }
  return items;
}

Result<InstanceMetadataOptions> describeMetadataOptions(AwsClient& client,
                                                        const std::string& instance_id) {
  DEMARC_ASSIGN_OR_RETURN(
      std::string reply,
      ec2Call(client, "DescribeInstances", "&InstanceId.1=" + uriEncode(instance_id, false)));
  std::string_view body = reply;
  size_t at = body.find("<metadataOptions>");
  size_t end = body.find("</metadataOptions>");
  if (at == std::string_view::npos || end == std::string_view::npos || end < at) {
    return Error(ErrorCode::kCorrupt,
                 "ec2:DescribeInstances " + instance_id + ": no metadataOptions in the reply");
  }
  std::string_view options = body.substr(at, end - at);
  InstanceMetadataOptions out;
  out.http_tokens = field(options, "httpTokens");
  out.http_endpoint = field(options, "httpEndpoint");
  std::string hops = field(options, "httpPutResponseHopLimit");
  if (hops.empty() || hops.find_first_not_of("0123456789") != std::string::npos ||
      hops.size() > 3) {
    return Error(ErrorCode::kCorrupt, "ec2:DescribeInstances " + instance_id +
                                          ": httpPutResponseHopLimit '" + hops + "'");
  }
  out.hop_limit = std::stoi(hops);
  return out;
}

Result<std::vector<std::string>> describeInstanceGroups(AwsClient& client,
                                                        const std::string& instance_id) {
  DEMARC_ASSIGN_OR_RETURN(
      std::string body,
      ec2Call(client, "DescribeInstances", "&InstanceId.1=" + uriEncode(instance_id, false)));
  std::vector<std::string> ids;
  for (std::string_view reservation : ec2Items(body, "reservationSet")) {
    for (std::string_view instance : ec2Items(reservation, "instancesSet")) {
      for (std::string_view group : ec2Items(instance, "groupSet")) {
        std::string id = field(group, "groupId");
        if (!id.empty()) ids.push_back(id);
      }
    }
  }
  if (ids.empty()) {
    return Error(ErrorCode::kCorrupt,
                 "ec2:DescribeInstances " + instance_id + ": no security groups in the reply");
  }
  return ids;
}

Result<std::vector<SecurityGroup>> describeSecurityGroups(AwsClient& client,
                                                          const std::vector<std::string>& ids) {
  std::string params;
  for (size_t i = 0; i < ids.size(); ++i) {
    params += "&GroupId." + std::to_string(i + 1) + "=" + uriEncode(ids[i], false);
  }
  DEMARC_ASSIGN_OR_RETURN(std::string body, ec2Call(client, "DescribeSecurityGroups", params));
  std::vector<SecurityGroup> groups;
  for (std::string_view item : ec2Items(body, "securityGroupInfo")) {
    SecurityGroup g;
    g.id = field(item, "groupId");
    g.name = field(item, "groupName");
    for (std::string_view permission : ec2Items(item, "ipPermissions")) {
      IngressRule rule;
      rule.protocol = field(permission, "ipProtocol");
      rule.from_port = portOf(field(permission, "fromPort"));
      rule.to_port = portOf(field(permission, "toPort"));
      for (std::string_view range : ec2Items(permission, "ipRanges")) {
        rule.cidrs.push_back(field(range, "cidrIp"));
      }
      for (std::string_view range : ec2Items(permission, "ipv6Ranges")) {
        rule.cidrs.push_back(field(range, "cidrIpv6"));
      }
      for (std::string_view pair : ec2Items(permission, "groups")) {
        rule.source_groups.push_back(field(pair, "groupId"));
      }
      g.ingress.push_back(std::move(rule));
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

Result<std::map<std::string, EbsVolume>> describeVolumes(AwsClient& client,
                                                         const std::vector<std::string>& ids) {
  std::map<std::string, EbsVolume> out;
  if (ids.empty()) return out;
  std::string params;
  for (size_t i = 0; i < ids.size(); ++i) {
    params += "&VolumeId." + std::to_string(i + 1) + "=" + uriEncode(ids[i], false);
  }
  DEMARC_ASSIGN_OR_RETURN(std::string reply, ec2Call(client, "DescribeVolumes", params));
  for (std::string_view item : ec2Items(reply, "volumeSet")) {
    EbsVolume v;
    v.id = field(item, "volumeId");
    v.encrypted = field(item, "encrypted") == "true";
    v.kms_key_id = field(item, "kmsKeyId");
    v.state = field(item, "status");
    if (!v.id.empty()) out[v.id] = std::move(v);
  }
  return out;
}

}  // namespace demarc::aws
