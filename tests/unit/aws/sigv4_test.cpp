#include "agent/aws/sigv4.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/core/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::aws {
namespace {

using namespace std::chrono_literals;

const Credentials kExample = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

SystemTime at(int64_t unix_seconds) { return fromUnixTime(unix_seconds); }

std::string header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return v;
    }
  }
  return "";
}

// "get-vanilla" from AWS's SigV4 test suite.
TEST(SigV4, KnownVector) {
  HttpRequest r;
  r.method = "GET";
  r.url = "https://example.amazonaws.com/";
  SigV4Signer signer;
  ASSERT_TRUE(signer.sign(r, kExample, {"us-east-1", "service"}, at(1440938160)).ok());
  EXPECT_EQ(header(r, "x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(header(r, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, UriEncoding) {
  EXPECT_EQ(uriEncode("a-b_c.d~e/f g+h=%é", true), "a-b_c.d~e/f%20g%2Bh%3D%25%C3%A9");
  EXPECT_EQ(uriEncode("a/b", false), "a%2Fb");
}

TEST(SigV4, SigningAgainIsClean) {
  HttpRequest r;
  r.url = "https://example.amazonaws.com/";
  SigV4Signer signer;
  Credentials temporary = kExample;
  temporary.session_token = "token-1";
  ASSERT_TRUE(signer.sign(r, temporary, {"us-east-1", "s3"}, at(1440938160)).ok());
  temporary.session_token = "token-2";
  ASSERT_TRUE(signer.sign(r, temporary, {"us-east-1", "s3"}, at(1440938161)).ok());
  size_t authorizations = 0;
  for (const auto& [n, v] : r.headers) authorizations += n == "Authorization" ? 1 : 0;
  EXPECT_EQ(authorizations, 1u);
  EXPECT_EQ(header(r, "x-amz-security-token"), "token-2");
  EXPECT_EQ(header(r, "x-amz-date"), "20150830T123601Z");
  EXPECT_FALSE(signer.sign(r, Credentials{}, {"us-east-1", "s3"}, at(0)).ok());
}

struct Case {
  std::string service;
  std::string region;
  HttpRequest request;
  Credentials credentials;
  int64_t time;
};

std::string amzDate(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

HttpRequest request(std::string method, std::string url,
                    std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// The same requests, credentials and instants signed here and by botocore
// (python3-botocore): every header the signers add must be equal.
TEST(SigV4, MatchesBotocore) {
  ASSERT_TRUE(std::filesystem::exists("/usr/lib/python3/dist-packages/botocore"))
      << "python3-botocore is not installed; packaging/setup-deps.sh installs it";
  Credentials temporary = {"ASIAEXAMPLEEXAMPLE",
                           "secret/with+chars=", "FwoGZXIvYXdzEXAMPLE//token=="};
  const std::string key =
      "demarc/account=123456789012/region=us-east-1/instance=i-0abc/"
      "dt=2026-12-01/00000000000000000042-ab12cd.jsonl.gz";
  std::vector<Case> cases = {
      // EC2, query protocol.
      {"ec2", "us-east-1",
       request("POST", "https://ec2.us-east-1.amazonaws.com/",
               {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
               "Action=DescribeVolumes&Version=2016-11-15&Filter.1.Name=attachment.instance-id&"
               "Filter.1.Value.1=i-0abc"),
       kExample, 1764584430},
      // CloudWatch Logs, JSON protocol, temporary credentials.
      {"logs", "eu-west-1",
       request(
           "POST", "https://logs.eu-west-1.amazonaws.com/",
           {{"X-Amz-Target", "Logs_20140328.PutLogEvents"},
            {"Content-Type", "application/x-amz-json-1.1"}},
           R"({"logGroupName":"demarc","logStreamName":"i-0abc","logEvents":[{"timestamp":1,"message":"é ✓"}]})"),
       temporary, 1764584430},
      // S3 PutObject with checksums, SSE-KMS, Object Lock and a Hive-style key.
      {"s3", "us-east-1",
       request("PUT", "https://evidence.s3.us-east-1.amazonaws.com/" + uriEncode(key, true),
               {{"Content-Type", "application/gzip"},
                {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="},
                {"x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                {"x-amz-server-side-encryption", "aws:kms"},
                {"x-amz-server-side-encryption-aws-kms-key-id", "alias/demarc"},
                {"x-amz-object-lock-mode", "COMPLIANCE"},
                {"x-amz-object-lock-retain-until-date", "2027-12-01T00:00:00Z"},
                {"x-amz-storage-class", "STANDARD_IA"}},
               "{\"header\":{}}\n"),
       temporary, 1764584430},
      // S3 keys with blanks, pluses, percent signs and UTF-8, and a query.
      {"s3", "ap-southeast-2",
       request("GET",
               "https://s3.ap-southeast-2.amazonaws.com/bucket/" +
                   uriEncode("odd key+name/100%/é✓.jsonl", true) +
                   "?list-type=2&prefix=" + uriEncode("a b/", false),
               {}, ""),
       kExample, 1764584430},
      // Not S3: the path is normalized and encoded twice; query sorted by
      // name then value; header values trimmed; a non-default port.
      {"execute-api", "us-west-2",
       request("GET",
               "https://example.us-west-2.amazonaws.com:8443/a/./b//c/../d%20e/f~g/?z=1&a=2&a=1&"
               "empty=&flag",
               {{"X-Custom", "  several   blanks\tand tab  "}, {"User-Agent", "demarc/test"}}, ""),
       kExample, 1764584430},
      // Plain HTTP on its default port, as to a local endpoint override.
      {"logs", "us-east-1",
       request("POST", "http://localhost:80/", {{"Content-Type", "application/x-amz-json-1.1"}},
               "{}"),
       kExample, 1764584430},
      // Either side of midnight UTC: the day's signing key changes.
      {"logs", "us-east-1", request("POST", "https://logs.us-east-1.amazonaws.com/", {}, "{}"),
       temporary, 1764633599},
      {"logs", "us-east-1", request("POST", "https://logs.us-east-1.amazonaws.com/", {}, "{}"),
       temporary, 1764633601},
  };

  nlohmann::json spec = nlohmann::json::array();
  for (const Case& c : cases) {
    spec.push_back({{"method", c.request.method},
                    {"url", c.request.url},
                    {"headers", c.request.headers},
                    {"body", c.request.body},
                    {"access_key", c.credentials.access_key_id},
                    {"secret_key", c.credentials.secret_access_key},
                    {"token", c.credentials.session_token},
                    {"region", c.region},
                    {"service", c.service},
                    {"time", amzDate(c.time)}});
  }
  testing::TempDir dir;
  ASSERT_TRUE(
      writeFileAtomic(dir / "cases.json", spec.dump(), {.mode = 0600, .fsync = false}).ok());
  auto oracle = testing::runCommand(
      {"/usr/bin/python3", std::string(DEMARC_SOURCE_DIR) + "/tests/support/sigv4_oracle.py",
       (dir / "cases.json").string()},
      dir.path());
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  auto expected = nlohmann::json::parse(oracle.out);
  ASSERT_EQ(expected.size(), cases.size());

  SigV4Signer signer;  // one signer for all: its key cache must follow day and scope
  for (size_t i = 0; i < cases.size(); ++i) {
    HttpRequest r = cases[i].request;
    ASSERT_TRUE(
        signer.sign(r, cases[i].credentials, {cases[i].region, cases[i].service}, at(cases[i].time))
            .ok());
    std::string signed_headers;
    auto canonical = canonicalRequest(r, cases[i].service == "s3", &signed_headers);
    for (const char* name :
         {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}) {
      std::string want = expected[i].value(name, "");
      EXPECT_EQ(header(r, name), want)
          << "case " << i << " (" << cases[i].request.url << "), header " << name
          << "\nour canonical request:\n"
          << (canonical.ok() ? *canonical : canonical.error().message());
    }
  }
}

}  // namespace
}  // namespace demarc::aws
