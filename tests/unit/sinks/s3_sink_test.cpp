#include "agent/sinks/s3_sink.h"

#include <openssl/evp.h>

#include <gtest/gtest.h>

#include "agent/core/decompress.h"
#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"
#include "tests/support/aws_fixture.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/http_server.h"

namespace demarc::sinks {
namespace {

using testing::storedBatch;

TEST(S3Sink, KeyIsHivePartitionedAndFollowsFromTheBatch) {
  S3SinkOptions o;
  o.bucket = "evidence";
  o.prefix = "fleet/demarc";
  EXPECT_EQ(S3Sink::objectKey(o, storedBatch(42, "x")),
            "fleet/demarc/account=123456789012/region=eu-west-1/instance=i-0abc/dt=2025-11-30/"
            "00000000000000000042-0123456789abcdef.jsonl.gz");
  auto off_ec2 = storedBatch(7, "x");
  off_ec2.header.mutable_host()->Clear();
  off_ec2.header.mutable_host()->set_machine_id("abc123");
  o.prefix = "";
  EXPECT_EQ(S3Sink::objectKey(o, off_ec2),
            "account=unknown/region=unknown/instance=host-abc123/dt=2025-11-30/"
            "00000000000000000007-0123456789abcdef.jsonl.gz");
}

TEST(S3Sink, OptionsAreCheckedByField) {
  S3SinkOptions o;
  auto error = [&] {
    auto s = validate(o);
    return s.ok() ? std::string("ok") : s.error().message();
  };
  EXPECT_EQ(error(), "sinks.s3.bucket: required when the S3 sink is enabled");
  o.bucket = "Evidence_Bucket";
  EXPECT_NE(error().find("sinks.s3.bucket: 'Evidence_Bucket' is not a bucket name"),
            std::string::npos);
  o.bucket = "evidence";
  EXPECT_EQ(error(), "ok");
  o.kms_key_id = "alias/demarc";
  EXPECT_EQ(error(), "sinks.s3.kms_key_id: set, but encryption is AES256, not aws:kms");
  o.encryption = "aws:kms";
  EXPECT_EQ(error(), "ok");
  o.object_lock_mode = "COMPLIANCE";
  EXPECT_EQ(error(),
            "sinks.s3.object_lock_days: Object Lock needs both a mode and a number of days");
  o.object_lock_days = 365;
  EXPECT_EQ(error(), "ok");
  o.storage_class = "COLD";
  EXPECT_NE(error().find("sinks.s3.storage_class"), std::string::npos);
  o.storage_class = "STANDARD";
  o.prefix = "/demarc";
  EXPECT_NE(error().find("sinks.s3.prefix"), std::string::npos);
}

class FixedClock : public Clock {
 public:
  SystemTime now() const override { return SystemTime(std::chrono::seconds(1764584400)); }
  MonoTime monotonic() const override { return MonoTime(); }
};

struct Fixture {
  explicit Fixture(testing::HttpServer::Handler handler)
      : server(std::move(handler)), chain(testing::staticCredentials(clock)) {}
  std::unique_ptr<S3Sink> sink(S3SinkOptions o) {
    return std::make_unique<S3Sink>(
        o,
        std::make_unique<aws::AwsClient>(testing::fakeEndpoint("s3", server.url()), *chain, clock),
        clock);
  }
  testing::HttpServer server;
  FixedClock clock;
  std::unique_ptr<aws::CredentialChain> chain;
};

std::string base64Digest(const EVP_MD* md, const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, md, nullptr);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(d), n));
}

TEST(S3Sink, PutsTheBatchGzippedWithChecksumsEncryptionAndLock) {
  Fixture f([](const testing::HttpExchange& ex) {
    return testing::HttpReply{
        200,
        "",
        {{"ETag", "\"e\""}, {"x-amz-checksum-sha256", ex.headers.at("x-amz-checksum-sha256")}}};
  });
  S3SinkOptions o;
  o.bucket = "evidence";
  o.encryption = "aws:kms";
  o.kms_key_id = "alias/demarc";
  o.storage_class = "STANDARD_IA";
  o.object_lock_mode = "COMPLIANCE";
  o.object_lock_days = 30;
  auto sink = f.sink(o);
  EXPECT_EQ(sink->describe(), "s3://evidence/demarc");
  std::string bytes = "{\"header\":{}}\n{\"seal\":{}}\n";
  ASSERT_TRUE(sink->deliver(storedBatch(1, bytes)).ok());
  ASSERT_TRUE(sink->deliver(storedBatch(1, bytes)).ok());  // a retry after a crash
  auto seen = f.server.requests();
  ASSERT_EQ(seen.size(), 2u);
  const auto& put = seen[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.path,
            "/evidence/demarc/account%3D123456789012/region%3Deu-west-1/instance%3Di-0abc/"
            "dt%3D2025-11-30/00000000000000000001-0123456789abcdef.jsonl.gz");
  EXPECT_EQ(*decompress(put.body, Compression::kGzip), bytes);
  EXPECT_EQ(put.headers.at("content-md5"), base64Digest(EVP_md5(), put.body));
  EXPECT_EQ(put.headers.at("x-amz-checksum-sha256"), base64Digest(EVP_sha256(), put.body));
  EXPECT_EQ(put.headers.at("x-amz-content-sha256"), toHex(sha256(put.body)));
  EXPECT_EQ(put.headers.at("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(put.headers.at("x-amz-server-side-encryption-aws-kms-key-id"), "alias/demarc");
  EXPECT_EQ(put.headers.at("x-amz-storage-class"), "STANDARD_IA");
  EXPECT_EQ(put.headers.at("x-amz-object-lock-mode"), "COMPLIANCE");
  EXPECT_EQ(put.headers.at("x-amz-object-lock-retain-until-date"), "2025-12-31T10:20:00Z");
  EXPECT_NE(put.headers.at("authorization").find("/eu-west-1/s3/aws4_request"), std::string::npos);
  // Same key, same bytes.
  EXPECT_EQ(seen[1].path, put.path);
  EXPECT_EQ(seen[1].body, put.body);
}

TEST(S3Sink, ErrorsSayWhatS3Said) {
  Fixture f([](const testing::HttpExchange&) {
    return testing::HttpReply{403,
                              "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                              "<RequestId>REQ1</RequestId></Error>"};
  });
  S3SinkOptions o;
  o.bucket = "evidence";
  auto status = f.sink(o)->deliver(storedBatch(3, "x\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("PutObject s3://evidence/demarc/account=123456789012/"),
            std::string::npos)
      << status.error().message();
  EXPECT_NE(status.error().message().find("HTTP 403 AccessDenied: Access Denied (request id REQ1)"),
            std::string::npos)
      << status.error().message();
}

// A 200 that did not come from S3 (a proxy's page) or that reports other
// bytes stored is not a delivery: the sink says so and the object goes again.
TEST(S3Sink, ASuccessWithoutS3sReceiptIsNotADelivery) {
  S3SinkOptions o;
  o.bucket = "evidence";
  Fixture page([](const testing::HttpExchange&) {
    return testing::HttpReply{200, "<html>Welcome to the proxy</html>"};
  });
  auto status = page.sink(o)->deliver(storedBatch(3, "x\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message().find("HTTP 200 without an ETag: not an S3 reply"),
            std::string::npos)
      << status.error().message();
  Fixture other([](const testing::HttpExchange&) {
    return testing::HttpReply{200, "", {{"ETag", "\"e\""}, {"x-amz-checksum-sha256", "AAAA"}}};
  });
  status = other.sink(o)->deliver(storedBatch(3, "x\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("S3 stored bytes with SHA-256 AAAA"), std::string::npos)
      << status.error().message();
}

}  // namespace
}  // namespace demarc::sinks
