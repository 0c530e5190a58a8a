// The agent and `demarc verify` against local fakes of S3, CloudWatch Logs,
// EC2 and IMDSv2 (tests/support/fake_aws.py) that check every request's
// SigV4 signature with botocore and the services' rules and limits: a clean
// round trip on an instance role, faults of every kind, bad replies, and
// kill -9 in the middle of uploads.
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <set>
#include <thread>

#include "agent/core/decompress.h"
#include "tests/e2e/agent_fixture.h"
#include "tests/support/fake_aws.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Only the fake's IMDS role: no keys or files from the machine running the test.
std::vector<std::pair<std::string, std::string>> noAmbientAws(const TempDir& dir) {
  return {{"AWS_SHARED_CREDENTIALS_FILE", (dir / "no-credentials").string()},
          {"AWS_CONFIG_FILE", (dir / "no-config").string()},
          {"AWS_EC2_METADATA_DISABLED", "false"}};
}

constexpr const char* kDescribeInstances = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<reservationSet><item><instancesSet><item><instanceId>i-0fa4e</instanceId>
<metadataOptions><state>applied</state><httpTokens>required</httpTokens>
<httpPutResponseHopLimit>1</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint>
</metadataOptions><groupSet><item><groupId>sg-1</groupId><groupName>web</groupName></item>
</groupSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>)";

constexpr const char* kDescribeSecurityGroups = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<securityGroupInfo><item><groupId>sg-1</groupId><groupName>web</groupName><ipPermissions>
<item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort><groups/>
<ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissions>
</item></securityGroupInfo></DescribeSecurityGroupsResponse>)";

// S3 and CloudWatch Logs on the fake, IMDS and EC2 too when `instance`.
ConfigParts awsConfig(const FakeAws& fake, bool instance, const std::string& sinks_extra = "") {
  ConfigParts parts;
  parts.sinks =
      "  retry_max_backoff: 1s\n"
      "  s3:\n    enabled: true\n    bucket: evidence\n    prefix: fleet\n" +
      sinks_extra +
      "  cloudwatch:\n    enabled: true\n    log_group: /demarc/e2e\n"
      "    retention_days: 30\n";
  parts.extra = "aws:\n  s3_endpoint: " + fake.url() + "\n  logs_endpoint: " + fake.url() +
                "\n  ec2_endpoint: " + fake.url() + "\n  request_timeout: 2s\n";
  if (instance) {
    parts.posture = "  imds_endpoint: " + fake.url() + "\n";
    parts.rule_packs = DEMARC_SOURCE_DIR "/config/rules/100-ec2.yaml";
  } else {
    parts.extra += "  region: eu-west-1\n";
  }
  // Delivery is under test, not telemetry: without the probe each start is
  // shorter.
  parts.extra +=
      "telemetry:\n  process_events: false\n  network_events: false\n"
      "  privilege_events: false\n  udp_flows: false\n";
  return parts;
}

// Every delivery is logged (the later ones at debug level).
std::vector<std::string> debugArgs(const std::filesystem::path& config) {
  return agentArgs(config, {"--log-level", "debug"});
}

// An auditor's command (verify, report) on a store on the fake, with static
// keys.
CommandResult auditOn(const FakeAws& fake, const TempDir& dir, std::vector<std::string> args) {
  ScopedAwsKeys keys("AKIATEST", "secret");
  std::vector<std::string> argv = {DEMARC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--region", "eu-west-1", "--endpoint", fake.url()});
  return runCommand(argv, dir.path());
}

CommandResult verifyOn(const FakeAws& fake, const TempDir& dir, const std::string& uri,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"verify", uri};
  args.insert(args.end(), extra.begin(), extra.end());
  return auditOn(fake, dir, args);
}

// The sequence numbers of the batch objects in the bucket.
std::vector<uint64_t> sequencesInBucket(const json& state) {
  std::vector<uint64_t> out;
  std::regex name(R"(/(\d{20})-[0-9a-f]+\.jsonl\.gz$)");
  for (const auto& [key, size] : state["objects"].items()) {
    std::smatch m;
    if (std::regex_search(key, m, name)) out.push_back(std::stoull(m[1]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AwsFakes, AnInstanceRoleSignsEveryRequestAndBothStoresVerify) {
  TempDir dir;
  dir.write("ec2/DescribeInstances.xml", kDescribeInstances);
  dir.write("ec2/DescribeSecurityGroups.xml", kDescribeSecurityGroups);
  FakeAws fake({"--ec2-dir", (dir / "ec2").string(), "--list-page", "3", "--logs-page", "7"});
  auto config = writeAgentConfig(
      dir, awsConfig(fake, true,
                     "    encryption: aws:kms\n    kms_key_id: alias/evidence\n"
                     "    storage_class: STANDARD_IA\n    object_lock_mode: GOVERNANCE\n"
                     "    object_lock_days: 1\n"));
  {
    ScopedEnv env(noAmbientAws(dir));
    Subprocess agent(debugArgs(config), dir.path());
    ASSERT_TRUE(agent.waitForErr("delivered batch 4 to s3", 30s)) << agent.err();
    ASSERT_TRUE(agent.waitForErr("delivered batch 4 to cloudwatch", 30s)) << agent.err();
    agent.signal(SIGTERM);
    EXPECT_EQ(agent.wait(), 0) << agent.err();
    EXPECT_EQ(agent.err().find("role-secret"), std::string::npos);
  }
  json state = fake.state();
  EXPECT_EQ(state["violations"], json::array()) << state.dump(1);
  EXPECT_EQ(state["conflicts"], json::array());
  for (const char* action : {"PutObject", "CreateLogGroup", "PutRetentionPolicy", "CreateLogStream",
                             "PutLogEvents", "DescribeInstances", "DescribeSecurityGroups"}) {
    EXPECT_GE(state["counts"].value(action, 0), 1) << action << ": " << state.dump(1);
  }
  // Each object is the batch the local folder holds, under the instance's key.
  size_t matched = 0;
  for (const auto& [key, size] : state["objects"].items()) {
    ASSERT_TRUE(
        key.starts_with("evidence/fleet/account=111122223333/region=eu-west-1/"
                        "instance=i-0fa4e/dt="))
        << key;
    std::string name = key.substr(key.rfind('/') + 1);
    auto local = dir / "evidence/i-0fa4e" / key.substr(key.find("dt=") + 3, 10) /
                 name.substr(0, name.size() - 3);
    if (!std::filesystem::exists(local)) continue;
    auto body =
        decompress(fake.object("evidence", key.substr(key.find('/') + 1)), Compression::kGzip);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(*body, readAll(local)) << key;
    ++matched;
  }
  EXPECT_GE(matched, 4u);

  // Verified where they landed, page by page, every request signed.
  auto s3 = verifyOn(fake, dir, "s3://evidence/fleet");
  EXPECT_EQ(s3.exit_code, 0) << s3.out << s3.err;
  EXPECT_NE(s3.out.find("enrollment record in batch 1"), std::string::npos) << s3.out;
  auto logs = verifyOn(fake, dir, "cloudwatch:///demarc/e2e");
  EXPECT_EQ(logs.exit_code, 0) << logs.out << logs.err;
  EXPECT_NE(logs.out.find("enrollment record in batch 1"), std::string::npos) << logs.out;
  auto one = verifyOn(fake, dir, "cloudwatch:///demarc/e2e/i-0fa4e", {"--json"});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  auto report = json::parse(one.out);
  ASSERT_EQ(report["agents"].size(), 1u);
  EXPECT_GE(std::stoull(report["agents"][0]["batches_verified"].get<std::string>()), 4u);
  auto missing = verifyOn(fake, dir, "cloudwatch://demarc/e2e");
  EXPECT_EQ(missing.exit_code, 3) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("written cloudwatch:///GROUP"), std::string::npos) << missing.err;

  // demarc report reads the same stores: the posture it shows from S3 and
  // from CloudWatch Logs is the one the local folder gives.
  auto posture = [](const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    json summary = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(summary.is_object() && summary["instances"].size() == 1u) << r.out;
    if (!summary.is_object() || summary["instances"].empty()) return json();
    const json& in = summary["instances"][0];
    return json{{"instance_id", in["instance_id"]},
                {"pass", in["pass"]},
                {"fail", in["fail"]},
                {"frameworks", in["frameworks"]},
                {"failing", in["failing"]}};
  };
  json local = posture(runCommand(
      {DEMARC_BINARY, "report", (dir / "evidence").string(), "--json", "-"}, dir.path()));
  EXPECT_EQ(local["instance_id"], "i-0fa4e");
  EXPECT_GT(local["pass"].get<int>() + local["fail"].get<int>(), 0) << local.dump(1);
  const int gets_before = fake.state()["counts"].value("GetObject", 0);
  EXPECT_EQ(posture(auditOn(fake, dir, {"report", "s3://evidence/fleet", "--json", "-"})), local);
  // Verified and read from one download: each object is fetched once.
  json after = fake.state();
  EXPECT_EQ(after["counts"].value("GetObject", 0) - gets_before,
            static_cast<int>(sequencesInBucket(after).size()));
  EXPECT_EQ(posture(auditOn(fake, dir, {"report", "cloudwatch:///demarc/e2e", "--json", "-"})),
            local);
  state = fake.state();
  EXPECT_EQ(state["violations"], json::array()) << state.dump(1);
  EXPECT_GE(state["counts"].value("GetLogEvents", 0), 3);
  EXPECT_GE(state["counts"].value("ListObjectsV2", 0), 2);
}

// Polls the fake until pred(state) holds.
bool waitForState(const FakeAws& fake, const std::function<bool(const json&)>& pred,
                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(fake.state())) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Waits for a heartbeat line, logged after `from`, with the sinks named all
// caught up ("s3: 0 behind[, N retries]; cloudwatch: 0 behind").
bool waitForNothingBehind(const Subprocess& agent, size_t from, const std::string& sink,
                          const std::string& next_sink = "") {
  std::regex caught_up(sink + ": 0 behind" +
                       (next_sink.empty() ? "" : "[^;\\n]*; " + next_sink + ": 0 behind"));
  for (int i = 0; i < 600; ++i) {
    if (std::regex_search(agent.err().substr(from), caught_up)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void expectContiguousFromOne(const std::vector<uint64_t>& sequences) {
  ASSERT_FALSE(sequences.empty());
  for (size_t i = 0; i < sequences.size(); ++i) {
    ASSERT_EQ(sequences[i], i + 1) << "batch " << i + 1 << " is missing from the bucket";
  }
}

json fault(const std::string& action, const std::string& kind, int times = 1, double seconds = 0) {
  return {{"action", action}, {"kind", kind}, {"times", times}, {"seconds", seconds}};
}

TEST(AwsFakes, FaultsAreRetriedAndNothingIsLostDuplicatedOrForged) {
  TempDir dir;
  dir.write("ec2/DescribeInstances.xml", kDescribeInstances);
  dir.write("ec2/DescribeSecurityGroups.xml", kDescribeSecurityGroups);
  FakeAws fake({"--ec2-dir", (dir / "ec2").string()});
  auto config = writeAgentConfig(dir, awsConfig(fake, true));
  ScopedEnv env(noAmbientAws(dir));
  Subprocess agent(debugArgs(config), dir.path());
  ASSERT_TRUE(agent.waitForErr("delivered batch 2 to s3", 30s)) << agent.err();
  ASSERT_TRUE(agent.waitForErr("delivered batch 2 to cloudwatch", 30s)) << agent.err();
  // Every fault once or more, on both sinks; expired credentials send the
  // agent back to IMDS, whose token request fails twice first.
  fake.inject(json::array(
      {fault("PutObject", "500", 2), fault("PutObject", "slowdown", 2), fault("PutObject", "reset"),
       fault("PutObject", "timeout", 1, 3), fault("PutObject", "html"),
       fault("PutObject", "truncated"), fault("PutObject", "lost-reply", 2),
       fault("PutObject", "expired"), fault("imds:token", "500", 2),
       fault("PutLogEvents", "throttle", 3), fault("PutLogEvents", "500"),
       fault("PutLogEvents", "reset"), fault("PutLogEvents", "timeout", 1, 3),
       fault("PutLogEvents", "truncated"), fault("PutLogEvents", "html"),
       fault("PutLogEvents", "lost-reply", 2), fault("PutLogEvents", "expired"),
       fault("PutObject", "huge", 1, 20), fault("PutLogEvents", "huge", 1, 20)}));
  ASSERT_TRUE(waitForState(
      fake, [](const json& s) { return s["faults_left"] == 0; }, 120s))
      << fake.state().dump(1) << agent.err();
  // Then both catch up: a heartbeat after the faults finds nothing behind.
  EXPECT_TRUE(waitForNothingBehind(agent, agent.err().size(), "s3", "cloudwatch"));
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  const std::string log = agent.err();
  for (const char* said : {"HTTP 503 SlowDown", "HTTP 500 InternalError", "ThrottlingException",
                           "HTTP 200 without an ETag", "not a JSON object", "timed out (no reply",
                           "HTTP 500 instead of a token", "response larger than"}) {
    EXPECT_NE(log.find(said), std::string::npos) << said << "\n"
                                                 << fake.state()["faults_applied"].dump() << "\n"
                                                 << log;
  }
  EXPECT_EQ(log.find("role-secret"), std::string::npos);

  json state = fake.state();
  EXPECT_EQ(state["violations"], json::array()) << state.dump(1);
  EXPECT_EQ(state["conflicts"], json::array()) << state.dump(1);
  expectContiguousFromOne(sequencesInBucket(state));
  auto s3 = verifyOn(fake, dir, "s3://evidence/fleet");
  EXPECT_EQ(s3.exit_code, 0) << s3.out << s3.err;
  auto logs = verifyOn(fake, dir, "cloudwatch:///demarc/e2e");
  EXPECT_EQ(logs.exit_code, 0) << logs.out << logs.err;
  // The replies lost after PutLogEvents stored the events left copies.
  EXPECT_NE(logs.out.find("at-least-once delivery left"), std::string::npos) << logs.out;
}

// Replies that are not what the service sends: clear errors, no crash, and
// the next clean attempt works.
TEST(AwsFakes, BadRepliesToVerifyAreClearErrors) {
  TempDir dir;
  FakeAws fake({"--list-page", "2"});
  auto config = writeAgentConfig(dir, awsConfig(fake, false));
  {
    ScopedAwsKeys keys("AKIATEST", "secret");
    Subprocess agent(debugArgs(config), dir.path());
    ASSERT_TRUE(agent.waitForErr("delivered batch 3 to s3", 30s)) << agent.err();
    ASSERT_TRUE(agent.waitForErr("delivered batch 3 to cloudwatch", 30s)) << agent.err();
    agent.signal(SIGTERM);
    EXPECT_EQ(agent.wait(), 0) << agent.err();
  }
  struct Case {
    json fault;
    std::string uri;
    std::string said;
  };
  const std::vector<Case> cases = {
      {fault("ListObjectsV2", "huge", 1, 20), "s3://evidence/fleet", "larger than"},
      {fault("ListObjectsV2", "html"), "s3://evidence/fleet", "ListObjectsV2"},
      {fault("ListObjectsV2", "truncated"), "s3://evidence/fleet", "ListObjectsV2"},
      {fault("GetObject", "html"), "s3://evidence/fleet", "gzip"},
      {fault("GetObject", "500", 8), "s3://evidence/fleet", "HTTP 500 InternalError"},
      {fault("GetLogEvents", "truncated"), "cloudwatch:///demarc/e2e", "not a JSON object"},
      {fault("GetLogEvents", "html"), "cloudwatch:///demarc/e2e", "not a JSON object"},
      {fault("DescribeLogStreams", "huge", 1, 20), "cloudwatch:///demarc/e2e", "larger than"},
      {fault("GetLogEvents", "throttle", 5), "cloudwatch:///demarc/e2e", "ThrottlingException"},
  };
  // A few throttled or failed calls are retried: verification goes through.
  fake.inject(
      json::array({fault("GetLogEvents", "throttle", 2), fault("ListObjectsV2", "500"),
                   fault("GetObject", "slowdown", 2), fault("DescribeLogStreams", "reset")}));
  EXPECT_EQ(verifyOn(fake, dir, "s3://evidence/fleet").exit_code, 0);
  EXPECT_EQ(verifyOn(fake, dir, "cloudwatch:///demarc/e2e").exit_code, 0);
  EXPECT_EQ(fake.state()["faults_left"], 0);
  for (const auto& c : cases) {
    fake.inject(json::array({c.fault}));
    auto bad = verifyOn(fake, dir, c.uri);
    EXPECT_TRUE(bad.exit_code == 1 || bad.exit_code == 3) << c.fault.dump() << bad.out << bad.err;
    EXPECT_NE((bad.out + bad.err).find(c.said), std::string::npos) << c.fault.dump() << "\n"
                                                                   << bad.out << bad.err;
    fake.inject(json::array());  // drops what is left
    auto good = verifyOn(fake, dir, c.uri);
    EXPECT_EQ(good.exit_code, 0) << c.fault.dump() << good.out << good.err;
  }
  EXPECT_EQ(fake.state()["violations"], json::array());
}

// kill -9 while objects are on their way (the fake holds each PUT's reply a
// moment after storing it): afterwards every batch is in the bucket once,
// no key ever got other bytes than its first write, and it all verifies.
TEST(AwsFakes, KillNineDuringUploadsFiftyTimesLosesAndChangesNothing) {
  TempDir dir;
  FakeAws fake;
  fake.inject(json::array({fault("PutObject", "delay", 100000, 0.15)}));
  auto parts = awsConfig(fake, false);
  parts.sinks = "  s3:\n    enabled: true\n    bucket: evidence\n    prefix: fleet\n";
  parts.batch_age = "100ms";
  auto config = writeAgentConfig(dir, parts);
  ScopedAwsKeys keys("AKIATEST", "secret");
  std::mt19937 rng(777);
  std::uniform_int_distribution<int> extra_ms(0, 120);
  for (int i = 0; i < 50; ++i) {
    const int puts = fake.state()["counts"].value("PutObject", 0);
    Subprocess agent(agentArgs(config, {"--load-test", "2000"}), dir.path());
    // This run's next PUT has reached the fake, which holds its reply
    // 150 ms: the kill lands before the agent hears back.
    bool uploading = waitForState(
        fake, [&](const json& s) { return s["counts"].value("PutObject", 0) > puts; }, 20s);
    std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms(rng)));
    agent.signal(SIGKILL);
    ASSERT_EQ(agent.wait(), 128 + SIGKILL);
    ASSERT_TRUE(uploading) << "no upload started in run " << i << ": " << agent.err();
  }
  // A last run delivers what the journal holds.
  fake.inject(json::array());
  Subprocess agent(debugArgs(config), dir.path());
  ASSERT_TRUE(agent.waitForErr("delivered batch", 30s)) << agent.err();
  ASSERT_TRUE(waitForNothingBehind(agent, 0, "s3")) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();

  json state = fake.state();
  EXPECT_EQ(state["violations"], json::array()) << state.dump(1);
  EXPECT_EQ(state["conflicts"], json::array()) << state.dump(1);
  auto sequences = sequencesInBucket(state);
  expectContiguousFromOne(sequences);
  // Most kills catch a batch whose PUT was stored but not answered: the next
  // run sends the same key again, which must carry the same bytes.
  EXPECT_GE(sequences.size(), 5u);
  EXPECT_GE(state["counts"].value("PutObject", 0), static_cast<int>(sequences.size()) + 40);
  auto s3 = verifyOn(fake, dir, "s3://evidence/fleet");
  EXPECT_EQ(s3.exit_code, 0) << s3.out << s3.err;
  auto local = runCommand({DEMARC_BINARY, "verify", (dir / "evidence").string()}, dir.path());
  EXPECT_EQ(local.exit_code, 0) << local.out;
}

}  // namespace
}  // namespace demarc::testing
