// The agent shipping to S3 as it would on an instance: identity from IMDSv2,
// credentials from the environment, objects to an S3 endpoint (a local fake
// that keeps what it is sent). Loopback only.
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include "agent/core/decompress.h"
#include "tests/e2e/agent_fixture.h"
#include "tests/support/http_server.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

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
  HttpServer s3([](const HttpExchange&) { return HttpReply{200, ""}; });
  TempDir dir;
  auto config = dir.write(
      "demarc.yaml", "agent:\n  state_dir: " + (dir / "state").string() +
                         "\n  heartbeat_interval: 200ms\nevidence:\n  batch_max_age: 50ms\n"
                         "sinks:\n  directory:\n    path: " +
                         (dir / "evidence").string() +
                         "\n  s3:\n    enabled: true\n    bucket: evidence\n    prefix: fleet\n"
                         "posture:\n  rule_packs: [" DEMARC_SOURCE_DIR
                         "/tests/data/rules/minimal.yaml]\n"
                         "  imds_endpoint: " +
                         imds.url() + "\naws:\n  s3_endpoint: " + s3.url() + "\n");
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAE2ETEST", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "e2e-secret", 1);
  Subprocess agent(agentArgs(config), dir.path());
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
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
}

}  // namespace
}  // namespace demarc::testing
