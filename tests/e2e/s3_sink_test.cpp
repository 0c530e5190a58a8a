// The agent shipping to S3 as it would on an instance: identity from IMDSv2,
// credentials from the environment, objects to an S3 endpoint (a local fake
// that keeps what it is sent). Loopback only.
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <optional>

#include "agent/core/decompress.h"
#include "agent/core/text.h"
#include "tests/e2e/agent_fixture.h"
#include "tests/support/http_server.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

// Just enough of S3 for the agent and demarc verify: PutObject, GetObject
// and ListObjectsV2 (two keys a page, keys URL-encoded), path-style.
class FakeS3 {
 public:
  FakeS3() : server_([this](const HttpExchange& ex) { return handle(ex); }) {}
  std::string url() const { return server_.url(); }
  std::vector<HttpExchange> requests() const { return server_.requests(); }
  std::map<std::string, std::string> objects() {
    std::lock_guard lock(mu_);
    return objects_;
  }
  void replace(const std::string& path, std::string body) {
    std::lock_guard lock(mu_);
    objects_[path] = std::move(body);
  }

 private:
  static std::string param(const std::string& query, const std::string& name) {
    for (const auto& pair : split(query, '&')) {
      if (pair.starts_with(name + "=")) return pair.substr(name.size() + 1);
    }
    return "";
  }
  HttpReply handle(const HttpExchange& ex) {
    std::lock_guard lock(mu_);
    size_t q = ex.path.find('?');
    std::string path = ex.path.substr(0, q);
    if (ex.method == "PUT") {
      objects_[path] = ex.body;
      return {200, "", {{"ETag", "\"etag\""}}};
    }
    if (q == std::string::npos) {
      auto it = objects_.find(path);
      return it == objects_.end() ? HttpReply{404, "<Error><Code>NoSuchKey</Code></Error>"}
                                  : HttpReply{200, it->second};
    }
    std::string query = ex.path.substr(q + 1);
    std::string bucket = path.substr(1, path.find('/', 1) - 1);  // "/evidence/" or "/evidence"
    std::string prefix = "/" + bucket + "/" + unescape(param(query, "prefix"));
    size_t start = param(query, "continuation-token").empty()
                       ? 0
                       : std::stoul(param(query, "continuation-token"));
    std::vector<std::string> keys;
    for (const auto& [p, body] : objects_) {
      if (p.starts_with(prefix)) keys.push_back(p);
    }
    std::string xml = "<ListBucketResult>";
    size_t end = std::min(keys.size(), start + 2);
    for (size_t i = start; i < end; ++i) {
      // Stored paths are already percent-encoded, as S3 lists them.
      xml += "<Contents><Key>" + keys[i].substr(bucket.size() + 2) + "</Key><Size>" +
             std::to_string(objects_[keys[i]].size()) + "</Size></Contents>";
    }
    bool more = end < keys.size();
    xml += std::string("<IsTruncated>") + (more ? "true" : "false") + "</IsTruncated>";
    if (more) xml += "<NextContinuationToken>" + std::to_string(end) + "</NextContinuationToken>";
    return {200, xml + "</ListBucketResult>"};
  }
  static std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }

  std::mutex mu_;
  std::map<std::string, std::string> objects_;  // "/bucket/encoded/key" -> body
  HttpServer server_;
};

TEST(S3Delivery, BatchesLandInS3ByteForByteWithTheInstanceIdentity) {
  HttpServer imds([](const HttpExchange& ex) {
    if (ex.method == "PUT" && ex.path == "/latest/api/token") return HttpReply{200, "tok"};
    if (ex.headers.count("x-aws-ec2-metadata-token") == 0) return HttpReply{401, ""};
    if (ex.path == "/latest/dynamic/instance-identity/document") {
      return HttpReply{200, R"({"instanceId":"i-0e2e","accountId":"111122223333",
        "region":"eu-north-1","imageId":"ami-0123"})"};
    }
    if (ex.path == "/latest/dynamic/instance-identity/pkcs7") return HttpReply{200, "MIIPKCS7\n"};
    return HttpReply{404, ""};
  });
  FakeS3 s3;
  TempDir dir;
  auto config = writeAgentConfig(
      dir, {.sinks = "  s3:\n    enabled: true\n    bucket: evidence\n    prefix: fleet\n",
            .posture = "  imds_endpoint: " + imds.url() + "\n",
            .extra = "aws:\n  s3_endpoint: " + s3.url() + "\n"});
  std::optional<ScopedAwsKeys> keys(std::in_place, "AKIAE2ETEST", "e2e-secret");
  Subprocess agent(agentArgs(config), dir.path());
  keys.reset();
  ASSERT_TRUE(agent.waitForErr("delivered batch 1 to s3", 20s)) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  std::string log = agent.err();
  EXPECT_NE(log.find("EC2 instance i-0e2e in account 111122223333, region eu-north-1"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("e2e-secret"), std::string::npos);

  auto puts = s3.requests();
  ASSERT_FALSE(puts.empty());
  size_t matched = 0;
  for (const auto& put : puts) {
    EXPECT_EQ(put.method, "PUT");
    ASSERT_TRUE(
        put.path.starts_with("/evidence/fleet/account%3D111122223333/region%3Deu-north-1/"
                             "instance%3Di-0e2e/dt%3D"))
        << put.path;
    EXPECT_NE(put.headers.at("authorization").find("AKIAE2ETEST/"), std::string::npos);
    EXPECT_NE(put.headers.at("authorization").find("/eu-north-1/s3/aws4_request"),
              std::string::npos);
    // The same batch, byte for byte, as the local folder holds.
    std::string name = put.path.substr(put.path.rfind('/') + 1);
    name = name.substr(0, name.size() - 3);  // .gz
    std::string day = put.path.substr(put.path.find("dt%3D") + 5, 10);
    auto local = dir / "evidence/i-0e2e" / day / name;
    if (!std::filesystem::exists(local)) continue;  // sealed after the folder sink stopped
    auto body = decompress(put.body, Compression::kGzip);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(*body, readAll(local)) << name;
    ++matched;
    if (name.starts_with("00000000000000000001-")) {
      EXPECT_NE(body->find("\"identity_document\""), std::string::npos);
      EXPECT_NE(body->find("\"identity_signature\":\"MIIPKCS7\""), std::string::npos);
    }
  }
  EXPECT_GE(matched, 1u);
  auto verify = runCommand({DEMARC_BINARY, "verify", (dir / "evidence").string()}, dir.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  // Verified where it landed, through the same credential chain.
  keys.emplace("AKIAAUDITOR", "auditor-secret");
  auto remote = runCommand({DEMARC_BINARY, "verify", "s3://evidence/fleet", "--region",
                            "eu-north-1", "--endpoint", s3.url()},
                           dir.path());
  EXPECT_EQ(remote.exit_code, 0) << remote.out << remote.err;
  EXPECT_NE(remote.out.find("s3://evidence/fleet"), std::string::npos) << remote.out;
  EXPECT_NE(remote.out.find("enrollment record in batch 1"), std::string::npos) << remote.out;
  // An object changed in the bucket is a defect there too.
  auto objects = s3.objects();
  ASSERT_FALSE(objects.empty());
  auto [path, body] = *objects.begin();
  std::string text = *decompress(body, Compression::kGzip);
  text[text.find("\"sequence\"")] = 'X';
  s3.replace(path, gzipCompress(text));
  auto tampered = runCommand({DEMARC_BINARY, "verify", "s3://evidence/fleet", "--region",
                              "eu-north-1", "--endpoint", s3.url()},
                             dir.path());
  keys.reset();
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  auto no_region = runCommand({DEMARC_BINARY, "verify", "s3://evidence/fleet"}, dir.path());
  EXPECT_EQ(no_region.exit_code, 3) << no_region.out << no_region.err;
  EXPECT_NE(no_region.err.find("give --region or set AWS_REGION"), std::string::npos)
      << no_region.err;
}

}  // namespace
}  // namespace demarc::testing
