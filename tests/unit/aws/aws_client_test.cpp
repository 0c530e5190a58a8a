#include "agent/aws/aws_client.h"
#include "agent/aws/ec2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/aws_fixture.h"
#include "tests/support/http_server.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::aws {
namespace {

using namespace std::chrono_literals;

TEST(AwsEndpoints, PublicFipsAndChina) {
  EXPECT_EQ(publicEndpoint("s3", "us-east-1", false), "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(publicEndpoint("logs", "us-gov-west-1", true),
            "https://logs-fips.us-gov-west-1.amazonaws.com");
  EXPECT_EQ(publicEndpoint("ec2", "cn-north-1", false), "https://ec2.cn-north-1.amazonaws.com.cn");
}

HttpResponse reply(long status, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(AwsErrors, XmlAndJsonReplies) {
  auto s3 =
      parseAwsError(reply(503,
                          "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please "
                          "reduce your request rate.</Message><RequestId>R1</RequestId></Error>"));
  EXPECT_EQ(s3.code, "SlowDown");
  EXPECT_TRUE(s3.throttled);
  EXPECT_TRUE(s3.retryable);
  EXPECT_EQ(s3.describe(), "HTTP 503 SlowDown: Please reduce your request rate. (request id R1)");

  auto ec2 = parseAwsError(
      reply(400,
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
            "exceeded.</Message></Error></Errors><RequestID>R2</RequestID></Response>"));
  EXPECT_EQ(ec2.code, "RequestLimitExceeded");
  EXPECT_EQ(ec2.request_id, "R2");
  EXPECT_TRUE(ec2.throttled);

  auto logs = parseAwsError(
      reply(400, R"({"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"})",
            {{"x-amzn-requestid", "R3"}}));
  EXPECT_EQ(logs.code, "ThrottlingException");
  EXPECT_EQ(logs.message, "Rate exceeded");
  EXPECT_EQ(logs.request_id, "R3");
  EXPECT_TRUE(logs.retryable);

  auto exists = parseAwsError(
      reply(400, R"({"__type":"ResourceAlreadyExistsException","message":"exists"})"));
  EXPECT_FALSE(exists.retryable);
  EXPECT_FALSE(exists.throttled);

  auto expired = parseAwsError(reply(400,
                                     "<Error><Code>ExpiredToken</Code><Message>The provided token "
                                     "has expired.</Message></Error>"));
  EXPECT_TRUE(expired.expired_credentials);
  EXPECT_FALSE(expired.retryable);

  EXPECT_TRUE(parseAwsError(reply(500, "")).retryable);
  EXPECT_FALSE(parseAwsError(reply(403, "")).retryable);
}

// Hands out "token-1", "token-2", ... one per fetch.
class SequenceSource : public CredentialSource {
 public:
  std::string name() const override { return "sequence"; }
  Result<SourcedCredentials> fetch() override {
    SourcedCredentials c;
    c.credentials = {"ASIATEST", "secret", "token-" + std::to_string(++fetches)};
    c.source = name();
    return c;
  }
  std::atomic<int> fetches{0};
};

struct ClientFixture {
  explicit ClientFixture(testing::HttpServer::Handler handler) : server(std::move(handler)) {
    auto s = std::make_unique<SequenceSource>();
    source = s.get();
    std::vector<std::unique_ptr<CredentialSource>> sources;
    sources.push_back(std::move(s));
    chain = std::make_unique<CredentialChain>(std::move(sources), clock);
    AwsClientOptions options;
    options.region = "eu-central-1";
    options.endpoints["logs"] = server.url() + "/";
    client = std::make_unique<AwsClient>(options, *chain, clock);
  }
  HttpRequest request() const {
    HttpRequest r;
    r.method = "POST";
    r.url = client->endpoint("logs") + "/";
    r.headers = {{"X-Amz-Target", "Logs_20140328.DescribeLogGroups"},
                 {"Content-Type", "application/x-amz-json-1.1"}};
    r.body = "{}";
    return r;
  }
  testing::HttpServer server;
  RealClock clock;
  SequenceSource* source = nullptr;
  std::unique_ptr<CredentialChain> chain;
  std::unique_ptr<AwsClient> client;
};

TEST(AwsClient, SignsForTheServiceAndRegion) {
  ClientFixture f([](const testing::HttpExchange&) { return testing::HttpReply{200, "{}"}; });
  EXPECT_EQ(f.client->endpoint("logs"), f.server.url());
  auto response = f.client->send("logs", f.request());
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  auto seen = f.server.requests();
  ASSERT_EQ(seen.size(), 1u);
  const std::string& auth = seen[0].headers["authorization"];
  EXPECT_NE(auth.find("Credential=ASIATEST/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/eu-central-1/logs/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(seen[0].headers["x-amz-security-token"], "token-1");
  EXPECT_EQ(seen[0].body, "{}");
}

// ExpiredToken: credentials fetched afresh and the same request sent once
// more, not in a loop.
TEST(AwsClient, ExpiredTokenRefreshesAndResendsOnce) {
  std::atomic<int> calls{0};
  ClientFixture f([&](const testing::HttpExchange& ex) {
    ++calls;
    if (ex.headers.at("x-amz-security-token") == "token-1") {
      return testing::HttpReply{400, R"({"__type":"ExpiredTokenException","message":"expired"})"};
    }
    return testing::HttpReply{200, "{\"ok\":true}"};
  });
  auto response = f.client->send("logs", f.request());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f.source->fetches, 2);
  auto seen = f.server.requests();
  EXPECT_EQ(seen[0].body, seen[1].body);

  ClientFixture always([](const testing::HttpExchange&) {
    return testing::HttpReply{400, "<Error><Code>ExpiredToken</Code></Error>"};
  });
  auto still = always.client->send("logs", always.request());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->status, 400);
  EXPECT_EQ(always.server.requests().size(), 2u);
}

// One-shot commands retry throttling and 5xx a few times; the agent's sinks
// (one attempt) leave retries to the pipeline. Client errors are final.
TEST(AwsClient, TransientFailuresAreRetriedUpToMaxAttempts) {
  std::atomic<int> calls{0};
  auto handler = [&](const testing::HttpExchange&) {
    return ++calls <= 2 ? testing::HttpReply{503, "<Error><Code>SlowDown</Code></Error>"}
                        : testing::HttpReply{200, "{}"};
  };
  ClientFixture once(handler);
  auto first = once.client->send("logs", once.request());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 503);
  EXPECT_EQ(calls, 1);

  calls = 0;
  ClientFixture thrice(handler);
  AwsClientOptions options = testing::fakeEndpoint("logs", thrice.server.url());
  options.max_attempts = 3;
  AwsClient client(options, *thrice.chain, thrice.clock);
  auto third = client.send("logs", thrice.request());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 200);
  EXPECT_EQ(calls, 3);

  ClientFixture denied([](const testing::HttpExchange&) {
    return testing::HttpReply{403, "<Error><Code>AccessDenied</Code></Error>"};
  });
  options.endpoints["logs"] = denied.server.url();
  AwsClient final_client(options, *denied.chain, denied.clock);
  auto refused = final_client.send("logs", denied.request());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(denied.server.requests().size(), 1u);
}

TEST(AwsClient, NeedsARegion) {
  RealClock clock;
  CredentialChain chain({}, clock);
  AwsClient client({}, chain, clock);
  auto r = client.send("s3", HttpRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no AWS region"), std::string::npos);
}

// Proxies come from the environment (libcurl reads http_proxy, HTTPS_PROXY
// and NO_PROXY); instance metadata never goes through one.
// A reply larger than the caller allows is cut off and refused, for uploads
// too (a PUT's reply is a few hundred bytes).
TEST(HttpClient, HugeRepliesAreRefused) {
  testing::HttpServer huge([](const testing::HttpExchange&) {
    return testing::HttpReply{200, std::string(20 << 20, 'x')};
  });
  HttpClient http;
  for (const char* method : {"GET", "PUT"}) {
    HttpRequest r;
    r.method = method;
    r.url = huge.url() + "/object";
    r.body = std::string(method) == "PUT" ? "payload" : "";
    auto reply = http.send(r);
    ASSERT_FALSE(reply.ok()) << method;
    EXPECT_NE(reply.error().message().find("response larger than 16777216 bytes"),
              std::string::npos)
        << reply.error().message();
  }
}

TEST(HttpClient, ProxyFromTheEnvironmentExceptForMetadata) {
  testing::HttpServer proxy([](const testing::HttpExchange&) {
    return testing::HttpReply{200, "via proxy"};
  });
  testing::HttpServer direct([](const testing::HttpExchange&) {
    return testing::HttpReply{200, "direct"};
  });
  ::setenv("http_proxy", proxy.url().c_str(), 1);
  HttpClient http;
  HttpRequest r;
  r.url = "http://service.example.invalid/path?q=1";
  auto via = http.send(r);
  HttpRequest metadata;
  metadata.url = direct.url() + "/latest/api/token";
  metadata.bypass_proxy = true;
  auto bypassed = http.send(metadata);
  ::setenv("no_proxy", "service.example.invalid", 1);
  auto excluded = http.send(r);
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
  ASSERT_TRUE(via.ok()) << via.error().message();
  EXPECT_EQ(via->body, "via proxy");
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].path, "http://service.example.invalid/path?q=1");
  ASSERT_TRUE(bypassed.ok()) << bypassed.error().message();
  EXPECT_EQ(bypassed->body, "direct");
  EXPECT_FALSE(excluded.ok());  // straight to a name that does not resolve
  EXPECT_EQ(proxy.requests().size(), 1u);
}

TEST(Ec2, DescribeVolumesSendsTheQueryAndReadsNestedItems) {
  testing::HttpServer ec2([](const testing::HttpExchange&) {
    return testing::HttpReply{200,
                              R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <volumeSet>
    <item>
      <volumeId>vol-0aaa</volumeId><size>8</size><status>in-use</status>
      <attachmentSet><item><volumeId>vol-0aaa</volumeId><instanceId>i-1</instanceId>
        <device>/dev/xvda</device><deleteOnTermination>true</deleteOnTermination></item></attachmentSet>
      <encrypted>true</encrypted>
      <kmsKeyId>arn:aws:kms:eu-west-1:111122223333:key/abcd</kmsKeyId>
      <tagSet><item><key>Name</key><value>root</value></item></tagSet>
    </item>
    <item>
      <volumeId>vol-0bbb</volumeId><status>in-use</status>
      <attachmentSet/>
      <encrypted>false</encrypted>
    </item>
  </volumeSet>
</DescribeVolumesResponse>)"};
  });
  RealClock clock;
  auto credentials = testing::staticCredentials(clock);
  CredentialChain& chain = *credentials;
  AwsClientOptions options = testing::fakeEndpoint("ec2", ec2.url());
  AwsClient client(options, chain, clock);
  auto volumes = describeVolumes(client, {"vol-0aaa", "vol-0bbb"});
  ASSERT_TRUE(volumes.ok()) << volumes.error().message();
  ASSERT_EQ(volumes->size(), 2u);
  EXPECT_TRUE(volumes->at("vol-0aaa").encrypted);
  EXPECT_EQ(volumes->at("vol-0aaa").kms_key_id, "arn:aws:kms:eu-west-1:111122223333:key/abcd");
  EXPECT_EQ(volumes->at("vol-0aaa").state, "in-use");
  EXPECT_FALSE(volumes->at("vol-0bbb").encrypted);
  auto seen = ec2.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body,
            "Action=DescribeVolumes&Version=2016-11-15&VolumeId.1=vol-0aaa&VolumeId.2=vol-0bbb");
  EXPECT_NE(seen[0].headers["authorization"].find("/eu-west-1/ec2/aws4_request"),
            std::string::npos);

  testing::HttpServer denied([](const testing::HttpExchange&) {
    return testing::HttpReply{403,
                              "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>"
                              "not allowed</Message></Error></Errors></Response>"};
  });
  options.endpoints["ec2"] = denied.url();
  AwsClient refused(options, chain, clock);
  auto error = describeVolumes(refused, {"vol-0aaa"});
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message().find("ec2:DescribeVolumes: HTTP 403 UnauthorizedOperation"),
            std::string::npos)
      << error.error().message();
}

TEST(Ec2, DescribeInstancesMetadataOptions) {
  testing::HttpServer ec2([](const testing::HttpExchange& ex) {
    if (ex.body.find("InstanceId.1=i-0abc") == std::string::npos)
      return testing::HttpReply{400, ""};
    return testing::HttpReply{
        200,
        "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
        "<instanceId>i-0abc</instanceId><metadataOptions><state>applied</state>"
        "<httpTokens>required</httpTokens><httpPutResponseHopLimit>2</httpPutResponseHopLimit>"
        "<httpEndpoint>enabled</httpEndpoint></metadataOptions></item></instancesSet></item>"
        "</reservationSet></DescribeInstancesResponse>"};
  });
  testing::HttpServer broken([](const testing::HttpExchange&) {
    return testing::HttpReply{200, "<DescribeInstancesResponse><reservationSet/>"};
  });
  RealClock clock;
  auto credentials = testing::staticCredentials(clock);
  CredentialChain& chain = *credentials;
  AwsClientOptions options = testing::fakeEndpoint("ec2", ec2.url());
  AwsClient client(options, chain, clock);
  auto got = describeMetadataOptions(client, "i-0abc");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->http_tokens, "required");
  EXPECT_EQ(got->http_endpoint, "enabled");
  EXPECT_EQ(got->hop_limit, 2);
  EXPECT_NE(ec2.requests()[0].body.find("Action=DescribeInstances&Version=2016-11-15"),
            std::string::npos);
  options.endpoints["ec2"] = broken.url();
  AwsClient truncated(options, chain, clock);
  auto bad = describeMetadataOptions(truncated, "i-0abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("no metadataOptions"), std::string::npos);
}

TEST(Ec2, InstanceGroupsAndTheirInboundRules) {
  testing::HttpServer ec2([](const testing::HttpExchange& ex) {
    if (ex.body.find("Action=DescribeInstances") != std::string::npos) {
      return testing::HttpReply{
          200,
          "<DescribeInstancesResponse><reservationSet><item><groupSet/><instancesSet><item>"
          "<instanceId>i-0abc</instanceId><groupSet><item><groupId>sg-1</groupId><groupName>web"
          "</groupName></item><item><groupId>sg-2</groupId></item></groupSet>"
          "<networkInterfaceSet><item><groupSet><item><groupId>sg-1</groupId></item></groupSet>"
          "</item></networkInterfaceSet></item></instancesSet></item></reservationSet>"
          "</DescribeInstancesResponse>"};
    }
    return testing::HttpReply{
        200,
        "<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-1</groupId>"
        "<groupName>web</groupName><ipPermissions><item><ipProtocol>tcp</ipProtocol>"
        "<fromPort>443</fromPort><toPort>443</toPort><groups/><ipRanges><item>"
        "<cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6>"
        "</item></ipv6Ranges></item><item><ipProtocol>-1</ipProtocol><groups><item>"
        "<groupId>sg-2</groupId></item></groups><ipRanges/></item></ipPermissions>"
        "<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol></item></ipPermissionsEgress>"
        "</item><item><groupId>sg-2</groupId><groupName>db</groupName><ipPermissions/></item>"
        "</securityGroupInfo></DescribeSecurityGroupsResponse>"};
  });
  RealClock clock;
  auto credentials = testing::staticCredentials(clock);
  AwsClient client(testing::fakeEndpoint("ec2", ec2.url()), *credentials, clock);
  auto ids = describeInstanceGroups(client, "i-0abc");
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  EXPECT_EQ(*ids, (std::vector<std::string>{"sg-1", "sg-2"}));
  auto groups = describeSecurityGroups(client, *ids);
  ASSERT_TRUE(groups.ok()) << groups.error().message();
  ASSERT_EQ(groups->size(), 2u);
  const auto& web = (*groups)[0];
  EXPECT_EQ(web.name, "web");
  ASSERT_EQ(web.ingress.size(), 2u);  // egress rules are not inbound
  EXPECT_EQ(web.ingress[0].protocol, "tcp");
  EXPECT_EQ(web.ingress[0].from_port, 443);
  EXPECT_EQ(web.ingress[0].cidrs, (std::vector<std::string>{"0.0.0.0/0", "::/0"}));
  EXPECT_EQ(web.ingress[1].protocol, "-1");
  EXPECT_EQ(web.ingress[1].source_groups, std::vector<std::string>{"sg-2"});
  EXPECT_TRUE((*groups)[1].ingress.empty());
  EXPECT_NE(ec2.requests()[1].body.find("GroupId.1=sg-1&GroupId.2=sg-2"), std::string::npos);
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// TLS is verified against the system store, or the CA bundle given for a
// private endpoint: a real TLS server (openssl s_server) with a certificate
// the system does not trust.
TEST(HttpClient, TlsIsVerifiedWithTheSystemStoreOrAGivenBundle) {
  testing::TempDir dir;
  auto made = testing::runCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", (dir / "key.pem").string(), "-out",
       (dir / "cert.pem").string(), "-days", "1", "-subj", "/CN=localhost", "-addext",
       "subjectAltName=DNS:localhost,IP:127.0.0.1"},
      dir.path());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  int port = freePort();
  testing::Subprocess server(
      {"/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
       (dir / "cert.pem").string(), "-key", (dir / "key.pem").string(), "-www"},
      dir.path());
  ASSERT_TRUE(server.waitForOut("ACCEPT", 10s)) << server.err();

  HttpClient http;
  HttpRequest r;
  r.url = "https://127.0.0.1:" + std::to_string(port) + "/";
  auto untrusted = http.send(r);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message().find("certificate"), std::string::npos)
      << untrusted.error().message();
  r.ca_bundle = (dir / "cert.pem").string();
  auto trusted = http.send(r);
  ASSERT_TRUE(trusted.ok()) << trusted.error().message();
  EXPECT_EQ(trusted->status, 200);
  server.signal(SIGTERM);
  server.wait();
}

}  // namespace
}  // namespace demarc::aws
