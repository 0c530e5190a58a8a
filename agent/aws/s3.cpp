#include "agent/aws/s3.h"

#include <cctype>

#include "agent/aws/xml.h"

namespace demarc::aws {
namespace {

// Keys come URL-encoded (encoding-type=url), so no XML entities or control
// characters need decoding.
Result<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '%') {
      return Error(ErrorCode::kCorrupt, "a listed key is not URL-encoded: " + std::string(s));
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

Error s3Error(const std::string& what, const HttpResponse& r) {
  AwsError e = parseAwsError(r);
  return Error(e.retryable ? ErrorCode::kUnavailable : ErrorCode::kIo, what + ": " + e.describe());
}

}  // namespace

std::string s3Url(const AwsClient& client, std::string_view bucket, std::string_view key) {
  std::string base = client.endpoint("s3");
  std::string path = uriEncode(key, true);
  if (base.starts_with("https://s3.") || base.starts_with("https://s3-fips.")) {
    return "https://" + std::string(bucket) + "." + base.substr(8) + "/" + path;
  }
  return base + "/" + std::string(bucket) + "/" + path;
}

Status listS3Objects(AwsClient& client, const std::string& bucket, const std::string& prefix,
                     const std::function<Status(const std::string& key, uint64_t size)>& each) {
  std::string token;
  for (;;) {
    HttpRequest r;
    r.url = s3Url(client, bucket, "") +
            "?encoding-type=url&list-type=2&prefix=" + uriEncode(prefix, false);
    if (!token.empty()) r.url += "&continuation-token=" + uriEncode(token, false);
    DEMARC_ASSIGN_OR_RETURN(HttpResponse response, client.send("s3", std::move(r)));
    const std::string where = "ListObjectsV2 s3://" + bucket + "/" + prefix;
    if (response.status != 200) return s3Error(where, response);
    // A whole ListBucketResult, or the listing cannot be trusted to be complete.
    const std::string truncated = firstElement(response.body, "IsTruncated");
    if (response.body.find("</ListBucketResult>") == std::string::npos ||
        (truncated != "true" && truncated != "false")) {
      auto type = response.headers.find("content-type");
      return Error(ErrorCode::kCorrupt,
                   where + ": HTTP 200 but not a whole ListBucketResult (" +
                       std::to_string(response.body.size()) + " bytes of " +
                       (type == response.headers.end() ? "no content type" : type->second) + ")");
    }
    Status status = okStatus();
    forEachElement(response.body, "Contents", [&](std::string_view contents) {
      if (!status.ok()) return;
      auto key = percentDecode(firstElement(contents, "Key"));
      if (!key.ok()) {
        status = key.error().withContext(where);
        return;
      }
      uint64_t size = 0;
      try {
        size = std::stoull(firstElement(contents, "Size"));
      } catch (const std::exception&) {
        status = Error(ErrorCode::kCorrupt, where + ": no Size for " + *key);
        return;
      }
      status = each(*key, size);
    });
    DEMARC_TRY(status);
    if (truncated == "false") return okStatus();
    token = firstElement(response.body, "NextContinuationToken");
    if (token.empty()) {
      return Error(ErrorCode::kCorrupt, where + ": truncated listing without a continuation token");
    }
  }
}

Result<std::string> getS3Object(AwsClient& client, const std::string& bucket,
                                const std::string& key, size_t max_bytes) {
  HttpRequest r;
  r.url = s3Url(client, bucket, key);
  r.max_response_bytes = max_bytes;
  DEMARC_ASSIGN_OR_RETURN(HttpResponse response, client.send("s3", std::move(r)));
  if (response.status != 200) return s3Error("GetObject s3://" + bucket + "/" + key, response);
  return std::move(response.body);
}

Result<std::pair<std::string, std::string>> parseS3Uri(std::string_view uri) {
  if (!uri.starts_with("s3://")) {
    return Error(ErrorCode::kInvalidArgument, "not an s3:// URI: " + std::string(uri));
  }
  std::string_view rest = uri.substr(5);
  size_t slash = rest.find('/');
  std::string bucket(rest.substr(0, slash));
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  if (bucket.empty()) return Error(ErrorCode::kInvalidArgument, "no bucket in " + std::string(uri));
  return std::make_pair(bucket, prefix);
}

}  // namespace demarc::aws
