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
  HttpRequest r;
  r.method = "POST";
  r.url = client.endpoint("ec2") + "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=DescribeInstances&Version=" + std::string(kApiVersion) +
           "&InstanceId.1=" + uriEncode(instance_id, false);
  DEMARC_ASSIGN_OR_RETURN(HttpResponse response, client.send("ec2", std::move(r)));
  if (response.status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "ec2:DescribeInstances: " + parseAwsError(response).describe());
  }
  std::string_view body = response.body;
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

Result<std::map<std::string, EbsVolume>> describeVolumes(AwsClient& client,
                                                         const std::vector<std::string>& ids) {
  std::map<std::string, EbsVolume> out;
  if (ids.empty()) return out;
  HttpRequest r;
  r.method = "POST";
  r.url = client.endpoint("ec2") + "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=DescribeVolumes&Version=" + std::string(kApiVersion);
  for (size_t i = 0; i < ids.size(); ++i) {
    r.body += "&VolumeId." + std::to_string(i + 1) + "=" + uriEncode(ids[i], false);
  }
  DEMARC_ASSIGN_OR_RETURN(HttpResponse response, client.send("ec2", std::move(r)));
  if (response.status != 200) {
    return Error(ErrorCode::kUnavailable,
                 "ec2:DescribeVolumes: " + parseAwsError(response).describe());
  }
  for (std::string_view item : ec2Items(response.body, "volumeSet")) {
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
