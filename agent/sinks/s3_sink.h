#pragma once

#include <memory>
#include <string>

#include "agent/aws/aws_client.h"
#include "agent/evidence/sink.h"

namespace demarc::sinks {

struct S3SinkOptions {
  std::string bucket;
  std::string prefix = "demarc";      // no leading or trailing '/'
  std::string encryption = "AES256";  // "AES256" (SSE-S3) or "aws:kms" (SSE-KMS)
  std::string kms_key_id;             // SSE-KMS: key id, ARN or alias; empty: the bucket's default
  std::string storage_class = "STANDARD";
  std::string object_lock_mode;  // "", "GOVERNANCE" or "COMPLIANCE"
  uint32_t object_lock_days = 0;
};

// Checks the options; errors name the config field (sinks.s3.*).
Status validate(const S3SinkOptions& options);

// One gzip'd object per sealed batch, at a key made only of the batch
// itself, so a retry after a crash writes the same key with the same bytes:
//   PREFIX/account=A/region=R/instance=I/dt=YYYY-MM-DD/SEQUENCE-DIGEST.jsonl.gz
// (Hive-style partitions: Athena reads the records where they land). Sent
// with Content-MD5 and x-amz-checksum-sha256, server-side encryption, a
// storage class and, when configured, Object Lock retention counted from
// delivery (a batch shipped late is still kept the full period).
class S3Sink : public evidence::Sink {
 public:
  S3Sink(S3SinkOptions options, std::unique_ptr<aws::AwsClient> client, const Clock& clock);

  std::string_view name() const override { return "s3"; }
  std::string describe() const override;
  std::string where(const evidence::StoredBatch& batch) const override {
    return "s3://" + options_.bucket + "/" + objectKey(options_, batch);
  }
  Status deliver(const evidence::StoredBatch& batch) override;

  static std::string objectKey(const S3SinkOptions& options, const evidence::StoredBatch& batch);

 private:
  S3SinkOptions options_;
  std::unique_ptr<aws::AwsClient> client_;
  const Clock& clock_;
};

}  // namespace demarc::sinks
