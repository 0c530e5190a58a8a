#include "agent/sinks/s3_sink.h"

#include <openssl/evp.h>

#include <cstdio>

#include "agent/aws/s3.h"
#include "agent/core/decompress.h"
#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"

namespace demarc::sinks {
namespace {

std::string md5Base64(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string sha256Base64(std::string_view data) {
  Sha256Digest d = sha256(data);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// A partition value: what the batch says, or "unknown" off EC2.
std::string partition(const std::string& value) {
  return value.empty() ? "unknown" : aws::uriEncode(value, false);
}

bool oneOf(const std::string& value, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (value == a) return true;
  }
  return false;
}

}  // namespace

Status validate(const S3SinkOptions& o) {
  auto bad = [](const std::string& field, const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "sinks.s3." + field + ": " + why);
  };
  if (o.bucket.empty()) return bad("bucket", "required when the S3 sink is enabled");
  if (o.bucket.size() < 3 || o.bucket.size() > 63 ||
      o.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return bad("bucket", "'" + o.bucket + "' is not a bucket name (3 to 63 of a-z 0-9 . -)");
  }
  if (o.prefix.starts_with('/') || o.prefix.ends_with('/')) {
    return bad("prefix", "'" + o.prefix + "' must not start or end with '/'");
  }
  if (!oneOf(o.encryption, {"AES256", "aws:kms"})) {
    return bad("encryption", "'" + o.encryption + "': AES256 (SSE-S3) or aws:kms (SSE-KMS)");
  }
  if (!o.kms_key_id.empty() && o.encryption != "aws:kms") {
    return bad("kms_key_id", "set, but encryption is " + o.encryption + ", not aws:kms");
  }
  if (!oneOf(o.storage_class, {"STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                               "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "REDUCED_REDUNDANCY"})) {
    return bad("storage_class", "'" + o.storage_class + "' is not an S3 storage class");
  }
  if (!oneOf(o.object_lock_mode, {"", "GOVERNANCE", "COMPLIANCE"})) {
    return bad("object_lock_mode", "'" + o.object_lock_mode + "': GOVERNANCE, COMPLIANCE or empty");
  }
  if (o.object_lock_mode.empty() != (o.object_lock_days == 0)) {
    return bad("object_lock_days", "Object Lock needs both a mode and a number of days");
  }
  return okStatus();
}

S3Sink::S3Sink(S3SinkOptions options, std::unique_ptr<aws::AwsClient> client, const Clock& clock)
    : options_(std::move(options)), client_(std::move(client)), clock_(clock) {}

std::string S3Sink::describe() const {
  return "s3://" + options_.bucket + (options_.prefix.empty() ? "" : "/" + options_.prefix);
}

std::string S3Sink::objectKey(const S3SinkOptions& options, const evidence::StoredBatch& batch) {
  const v1::HostIdentity& host = batch.header.host();
  char name[96];
  std::snprintf(name, sizeof(name), "%020llu-%s.jsonl.gz",
                static_cast<unsigned long long>(batch.sequence),
                batch.digest.substr(0, 16).c_str());
  // The instance, or the host's machine id off EC2, as the local folder does.
  std::string instance =
      host.instance_id().empty() ? "host-" + host.machine_id() : host.instance_id();
  std::string key = options.prefix.empty() ? "" : options.prefix + "/";
  key += "account=" + partition(host.account_id()) + "/region=" + partition(host.region()) +
         "/instance=" + partition(instance) +
         "/dt=" + formatDate(evidence::fromTimestamp(batch.header.last_time())) + "/" + name;
  return key;
}

Status S3Sink::deliver(const evidence::StoredBatch& batch) {
  const std::string key = objectKey(options_, batch);
  aws::HttpRequest r;
  r.method = "PUT";
  r.url = aws::s3Url(*client_, options_.bucket, key);
  r.body = gzipCompress(batch.bytes);
  const std::string checksum = sha256Base64(r.body);
  r.headers = {{"Content-Type", "application/gzip"},
               {"Content-MD5", md5Base64(r.body)},
               {"x-amz-checksum-sha256", checksum},
               {"x-amz-server-side-encryption", options_.encryption},
               {"x-amz-storage-class", options_.storage_class}};
  if (!options_.kms_key_id.empty()) {
    r.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.kms_key_id);
  }
  if (!options_.object_lock_mode.empty()) {
    SystemTime until = clock_.now() + std::chrono::hours(24) * options_.object_lock_days;
    std::string text = formatTime(until);  // 2026-12-01T10:00:00.000000Z
    r.headers.emplace_back("x-amz-object-lock-mode", options_.object_lock_mode);
    r.headers.emplace_back("x-amz-object-lock-retain-until-date", text.substr(0, 19) + "Z");
  }
  DEMARC_ASSIGN_OR_RETURN(aws::HttpResponse response, client_->send("s3", std::move(r)));
  const std::string where = "PutObject s3://" + options_.bucket + "/" + key + ": ";
  if (response.status != 200) {
    aws::AwsError e = aws::parseAwsError(response);
    return Error(e.retryable ? ErrorCode::kUnavailable : ErrorCode::kIo, where + e.describe());
  }
  // S3 answers a stored object with its ETag (and the checksum it checked);
  // a 200 without one came from something else on the way (a proxy's page),
  // so the object is sent again.
  if (response.headers.count("etag") == 0) {
    return Error(ErrorCode::kUnavailable,
                 where + "HTTP 200 without an ETag: not an S3 reply; sending the object again");
  }
  if (auto it = response.headers.find("x-amz-checksum-sha256");
      it != response.headers.end() && it->second != checksum) {
    return Error(ErrorCode::kUnavailable, where + "S3 stored bytes with SHA-256 " + it->second +
                                              ", not the " + checksum + " sent; sending again");
  }
  return okStatus();
}

}  // namespace demarc::sinks
