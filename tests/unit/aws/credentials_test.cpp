#include "agent/aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "tests/support/http_server.h"
#include "tests/support/temp_dir.h"

namespace demarc::aws {
namespace {

using namespace std::chrono_literals;

Environment envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class ManualClock : public Clock {
 public:
  SystemTime now() const override { return now_; }
  MonoTime monotonic() const override { return MonoTime(now_.time_since_epoch()); }
  void advance(std::chrono::seconds d) { now_ += d; }

 private:
  SystemTime now_ = fromUnixTime(1764584400);  // 2025-12-01T10:20:00Z
};

const char* kRoleJson = R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAROLE",
  "SecretAccessKey":"role-secret-do-not-log","Token":"role-token","Expiration":"2025-12-01T16:00:00Z"})";

TEST(Credentials, Environment) {
  auto ok = environmentSource(envOf({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                     {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                     {"AWS_SESSION_TOKEN", "env-token"}}))
                ->fetch();
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->credentials.access_key_id, "AKIAENV");
  EXPECT_EQ(ok->credentials.session_token, "env-token");
  EXPECT_EQ(ok->source, "environment");
  EXPECT_EQ(environmentSource(envOf({}))->fetch().error().code(), ErrorCode::kNotFound);
  auto half = environmentSource(envOf({{"AWS_ACCESS_KEY_ID", "AKIAENV"}}))->fetch();
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(half.error().message().find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos);
}

TEST(Credentials, SharedFilesWithProfiles) {
  testing::TempDir dir;
  dir.write(".aws/credentials",
            "# comment\n[default]\naws_access_key_id = AKIADEFAULT\n"
            "aws_secret_access_key=default-secret\n\n[ci]\n; other comment\n"
            "aws_access_key_id = AKIACI\naws_secret_access_key = ci-secret\n"
            "aws_session_token = ci-token\n");
  dir.write(".aws/config",
            "[default]\nregion = us-east-1\n[profile audit]\naws_access_key_id = AKIAAUDIT\n"
            "aws_secret_access_key = audit-secret\n[profile assumed]\n"
            "role_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n");
  std::string home = dir.path().string();
  auto fetch = [&](std::map<std::string, std::string> vars) {
    vars["HOME"] = home;
    return sharedFilesSource(envOf(std::move(vars)))->fetch();
  };
  auto def = fetch({});
  ASSERT_TRUE(def.ok()) << def.error().message();
  EXPECT_EQ(def->credentials.access_key_id, "AKIADEFAULT");
  EXPECT_EQ(def->source, home + "/.aws/credentials [default]");
  auto ci = fetch({{"AWS_PROFILE", "ci"}});
  ASSERT_TRUE(ci.ok());
  EXPECT_EQ(ci->credentials.session_token, "ci-token");
  auto audit = fetch({{"AWS_PROFILE", "audit"}});
  ASSERT_TRUE(audit.ok()) << audit.error().message();
  EXPECT_EQ(audit->credentials.access_key_id, "AKIAAUDIT");
  EXPECT_EQ(audit->source, home + "/.aws/config [profile audit]");
  auto assumed = fetch({{"AWS_PROFILE", "assumed"}});
  ASSERT_FALSE(assumed.ok());
  EXPECT_NE(assumed.error().message().find("only static keys are read"), std::string::npos);
  auto missing = fetch({{"AWS_PROFILE", "nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message().find("AWS_PROFILE=nope: no such profile"), std::string::npos);

  dir.write("broken", "[default]\naws_access_key_id AKIA\n");
  auto broken = fetch({{"AWS_SHARED_CREDENTIALS_FILE", (dir / "broken").string()}});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message().find("broken:2: expected key = value"), std::string::npos)
      << broken.error().message();
  auto none = sharedFilesSource(envOf({{"HOME", (dir / "empty").string()}}))->fetch();
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
}

TEST(Credentials, ContainerEndpoint) {
  testing::HttpServer server([](const testing::HttpExchange& ex) {
    if (ex.path != "/v2/credentials/abc") return testing::HttpReply{404, "no"};
    auto auth = ex.headers.find("authorization");
    if (auth == ex.headers.end() || auth->second != "Bearer pod-token") {
      return testing::HttpReply{401, "SecretAccessKey: leaked-if-quoted"};
    }
    return testing::HttpReply{200, kRoleJson};
  });
  testing::TempDir dir;
  dir.write("token", "Bearer pod-token\n");
  auto fromFile =
      containerSource(envOf({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", (dir / "token").string()}}),
                      server.url())
          ->fetch();
  ASSERT_TRUE(fromFile.ok()) << fromFile.error().message();
  EXPECT_EQ(fromFile->credentials.secret_access_key, "role-secret-do-not-log");
  ASSERT_TRUE(fromFile->expiration.has_value());
  EXPECT_EQ(formatTime(*fromFile->expiration), "2025-12-01T16:00:00.000000Z");

  auto full =
      containerSource(
          envOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/v2/credentials/abc"},
                 {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer pod-token"}}))
          ->fetch();
  ASSERT_TRUE(full.ok()) << full.error().message();

  auto refused =
      containerSource(
          envOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/v2/credentials/abc"}}))
          ->fetch();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(refused.error().message().find("leaked"), std::string::npos);

  auto outside =
      containerSource(envOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"}}))
          ->fetch();
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message().find("plain HTTP only to loopback"), std::string::npos);
  EXPECT_EQ(containerSource(envOf({}))->fetch().error().code(), ErrorCode::kNotFound);
}

TEST(Credentials, InstanceRoleThroughImdsV2) {
  std::atomic<bool> has_role{true};
  testing::HttpServer imds([&](const testing::HttpExchange& ex) {
    if (ex.method == "PUT" && ex.path == "/latest/api/token") return testing::HttpReply{200, "tok"};
    auto token = ex.headers.find("x-aws-ec2-metadata-token");
    if (token == ex.headers.end() || token->second != "tok") return testing::HttpReply{401, ""};
    if (!has_role) return testing::HttpReply{404, ""};
    if (ex.path == "/latest/meta-data/iam/security-credentials/") {
      return testing::HttpReply{200, "demarc-agent\n"};
    }
    if (ex.path == "/latest/meta-data/iam/security-credentials/demarc-agent") {
      return testing::HttpReply{200, kRoleJson};
    }
    return testing::HttpReply{404, ""};
  });
  auto role = instanceRoleSource(imds.url(), 1s)->fetch();
  ASSERT_TRUE(role.ok()) << role.error().message();
  EXPECT_EQ(role->credentials.access_key_id, "ASIAROLE");
  EXPECT_EQ(role->credentials.session_token, "role-token");
  EXPECT_EQ(role->source, "instance role demarc-agent");
  has_role = false;
  EXPECT_EQ(instanceRoleSource(imds.url(), 1s)->fetch().error().code(), ErrorCode::kNotFound);
  // Nothing listening: not on EC2, so not configured.
  EXPECT_EQ(instanceRoleSource("http://127.0.0.1:9", 200ms)->fetch().error().code(),
            ErrorCode::kNotFound);
}

TEST(Credentials, ReplyErrorsNeverQuoteSecrets) {
  auto bad_time = parseCredentialJson(
      R"({"AccessKeyId":"A","SecretAccessKey":"s3cr3t","Expiration":"tomorrow"})", "endpoint");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.error().message().find("Expiration 'tomorrow'"), std::string::npos);
  EXPECT_EQ(bad_time.error().message().find("s3cr3t"), std::string::npos);
  EXPECT_FALSE(parseCredentialJson(R"({"AccessKeyId":"A"})", "endpoint").ok());
  EXPECT_FALSE(parseCredentialJson("not json", "endpoint").ok());
  auto failed = parseCredentialJson(R"({"Code":"AssumeRoleUnauthorizedAccess"})", "endpoint");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("AssumeRoleUnauthorizedAccess"), std::string::npos);
}

// A source that counts its fetches and hands out credentials expiring an
// hour after each fetch.
class CountingSource : public CredentialSource {
 public:
  CountingSource(const ManualClock& clock, ErrorCode fail_with = ErrorCode::kNotFound,
                 bool configured = true)
      : clock_(clock), fail_with_(fail_with), configured_(configured) {}
  std::string name() const override { return "counting"; }
  Result<SourcedCredentials> fetch() override {
    int n = ++fetches;
    int inside = ++concurrent;
    max_concurrent = std::max(max_concurrent.load(), inside);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    --concurrent;
    if (!configured_) return Error(fail_with_, "not here");
    if (fail) return Error(ErrorCode::kUnavailable, "endpoint down");
    SourcedCredentials c;
    c.credentials = {"AKIA" + std::to_string(n), "secret", "token"};
    c.expiration = clock_.now() + std::chrono::hours(1);
    c.source = "counting";
    return c;
  }
  std::atomic<int> fetches{0};
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  std::atomic<bool> fail{false};
  int delay_ms = 0;

 private:
  const ManualClock& clock_;
  ErrorCode fail_with_;
  bool configured_;
};

TEST(Credentials, ChainTakesTheFirstConfiguredSourceAndRefreshesBeforeExpiry) {
  ManualClock clock;
  auto absent = std::make_unique<CountingSource>(clock, ErrorCode::kNotFound, false);
  auto present = std::make_unique<CountingSource>(clock);
  CountingSource* a = absent.get();
  CountingSource* p = present.get();
  std::vector<std::unique_ptr<CredentialSource>> sources;
  sources.push_back(std::move(absent));
  sources.push_back(std::move(present));
  CredentialChain chain(std::move(sources), clock, 5min);

  auto first = chain.get();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->credentials.access_key_id, "AKIA1");
  EXPECT_EQ(chain.get()->credentials.access_key_id, "AKIA1");  // cached
  clock.advance(54min);
  EXPECT_EQ(chain.get()->credentials.access_key_id, "AKIA1");
  clock.advance(2min);  // inside the last five minutes: refreshed
  EXPECT_EQ(chain.get()->credentials.access_key_id, "AKIA2");
  EXPECT_EQ(a->fetches, 1);  // asked once; the chosen source is kept
  chain.invalidate();        // ExpiredToken from a service
  EXPECT_EQ(chain.get()->credentials.access_key_id, "AKIA3");
  // A failed refresh keeps credentials that have not expired yet.
  p->fail = true;
  clock.advance(58min);
  EXPECT_EQ(chain.get()->credentials.access_key_id, "AKIA3");
  clock.advance(3min);
  EXPECT_FALSE(chain.get().ok());
}

TEST(Credentials, OneRefreshInFlight) {
  ManualClock clock;
  auto source = std::make_unique<CountingSource>(clock);
  source->delay_ms = 100;
  CountingSource* s = source.get();
  std::vector<std::unique_ptr<CredentialSource>> sources;
  sources.push_back(std::move(source));
  CredentialChain chain(std::move(sources), clock);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { ok += chain.get().ok() ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(s->fetches, 1);
  EXPECT_EQ(s->max_concurrent, 1);
}

TEST(Credentials, ChainSaysWhatItTried) {
  ManualClock clock;
  std::vector<std::unique_ptr<CredentialSource>> sources;
  sources.push_back(environmentSource(envOf({})));
  sources.push_back(containerSource(envOf({})));
  CredentialChain chain(std::move(sources), clock);
  auto none = chain.get();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("environment: AWS_ACCESS_KEY_ID is not set"),
            std::string::npos)
      << none.error().message();
  EXPECT_NE(none.error().message().find("container credentials endpoint: "), std::string::npos);
}

}  // namespace
}  // namespace demarc::aws
