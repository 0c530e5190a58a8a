#include "agent/sinks/cloudwatch_sink.h"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"
#include "tests/support/aws_fixture.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/http_server.h"

namespace demarc::sinks {
namespace {

using testing::storedBatch;

// CloudWatch Logs as far as the sink uses it: keeps every call; PutLogEvents
// answers with `put_reply` (200 by default).
class FakeLogs {
 public:
  FakeLogs() : server_([this](const testing::HttpExchange& ex) { return handle(ex); }) {}
  std::string url() const { return server_.url(); }
  std::vector<std::pair<std::string, nlohmann::json>> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void reply(int status, std::string body) {
    std::lock_guard lock(mu_);
    put_reply_ = {status, std::move(body)};
  }

 private:
  testing::HttpReply handle(const testing::HttpExchange& ex) {
    std::lock_guard lock(mu_);
    std::string action = ex.headers.at("x-amz-target");
    action = action.substr(action.find('.') + 1);
    calls_.emplace_back(action, nlohmann::json::parse(ex.body));
    if (action == "CreateLogGroup" || action == "CreateLogStream") {
      if (!created_.insert(ex.body).second) {
        return {400, R"({"__type":"ResourceAlreadyExistsException","message":"exists"})"};
      }
      return {200, ""};
    }
    if (action == "PutLogEvents") return put_reply_;
    return {200, "{}"};
  }

  std::mutex mu_;
  std::vector<std::pair<std::string, nlohmann::json>> calls_;
  std::set<std::string> created_;
  testing::HttpReply put_reply_{200, "{}"};
  testing::HttpServer server_;
};

struct Fixture {
  Fixture() : chain(testing::staticCredentials(clock)) {}
  std::unique_ptr<CloudWatchSink> sink(CloudWatchSinkOptions o) {
    auto s = std::make_unique<CloudWatchSink>(
        o,
        std::make_unique<aws::AwsClient>(testing::fakeEndpoint("logs", logs.url()), *chain, clock));
    s->onLoss([this](const evidence::SinkLoss& loss) { losses.push_back(loss); });
    return s;
  }
  std::vector<nlohmann::json> puts() {
    std::vector<nlohmann::json> out;
    for (auto& [action, body] : logs.calls()) {
      if (action == "PutLogEvents") out.push_back(body);
    }
    return out;
  }
  FakeLogs logs;
  RealClock clock;
  std::unique_ptr<aws::CredentialChain> chain;
  std::vector<evidence::SinkLoss> losses;
};

std::string lines(size_t n, size_t width = 20) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    std::string line = "{\"n\":" + std::to_string(i) + "}";
    line.resize(std::max(line.size(), width), ' ');
    out += line + "\n";
  }
  return out;
}

TEST(CloudWatchSink, CreatesGroupAndStreamThenOneEventPerLine) {
  Fixture f;
  CloudWatchSinkOptions o;
  o.retention_days = 365;
  o.kms_key_id = "arn:aws:kms:eu-west-1:1:key/k";
  auto sink = f.sink(o);
  std::string bytes = "{\"header\":{}}\n{\"process\":{\"argv\":[\"a b\"]}}\n{\"seal\":{}}\n";
  ASSERT_TRUE(sink->deliver(storedBatch(1, bytes)).ok());
  ASSERT_TRUE(sink->deliver(storedBatch(2, bytes)).ok());
  auto calls = f.logs.calls();
  ASSERT_GE(calls.size(), 5u);
  EXPECT_EQ(calls[0].first, "CreateLogGroup");
  EXPECT_EQ(calls[0].second["logGroupName"], "/demarc/evidence");
  EXPECT_EQ(calls[0].second["kmsKeyId"], "arn:aws:kms:eu-west-1:1:key/k");
  EXPECT_EQ(calls[1].first, "PutRetentionPolicy");
  EXPECT_EQ(calls[1].second["retentionInDays"], 365);
  EXPECT_EQ(calls[2].first, "CreateLogStream");
  EXPECT_EQ(calls[2].second["logStreamName"], "i-0abc");
  EXPECT_EQ(calls[3].first, "PutLogEvents");
  EXPECT_EQ(calls[4].first, "PutLogEvents");  // created once
  auto put = f.puts()[0];
  ASSERT_EQ(put["logEvents"].size(), 3u);
  std::string rejoined;
  for (const auto& e : put["logEvents"]) {
    rejoined += e["message"].get<std::string>() + "\n";
    EXPECT_EQ(e["timestamp"], 1764539225000);  // the batch's newest record, for every event
  }
  EXPECT_EQ(rejoined, bytes);
  EXPECT_EQ(sink->where(storedBatch(1, bytes)), "cloudwatch:///demarc/evidence/i-0abc (batch 1)");
}

TEST(CloudWatchSink, CallsStayWithinTheServiceLimits) {
  Fixture f;
  auto sink = f.sink({});
  ASSERT_TRUE(sink->deliver(storedBatch(1, lines(25'000))).ok());
  auto by_count = f.puts();
  ASSERT_EQ(by_count.size(), 3u);
  EXPECT_EQ(by_count[0]["logEvents"].size(), 10'000u);
  EXPECT_EQ(by_count[2]["logEvents"].size(), 5'000u);

  Fixture g;
  auto big = g.sink({});
  ASSERT_TRUE(big->deliver(storedBatch(1, lines(9, 250'000))).ok());
  auto by_size = g.puts();
  ASSERT_EQ(by_size.size(), 3u);  // four 250 kB events and their overhead per MiB
  size_t events = 0;
  for (const auto& call : by_size) {
    size_t bytes = 0;
    for (const auto& e : call["logEvents"]) bytes += e["message"].get<std::string>().size() + 26;
    EXPECT_LE(bytes, 1'048'576u);
    events += call["logEvents"].size();
  }
  EXPECT_EQ(events, 9u);
}

// A line longer than an event can hold goes in numbered parts, never cut.
TEST(CloudWatchSink, LongLinesGoInPartsThatRejoin) {
  std::string huge = "{\"process\":{\"argv\":[\"" + std::string(700'000, 'x') + "\"]}}";
  auto events = CloudWatchSink::eventsOf(storedBatch(5, "{\"header\":{}}\n" + huge + "\n"));
  ASSERT_EQ(events.size(), 5u);
  std::string rejoined;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(events[i].size(), CloudWatchSink::kMaxMessageBytes);
    auto part = nlohmann::json::parse(events[i])["demarc_part"];
    EXPECT_EQ(part["sequence"], 5);
    EXPECT_EQ(part["line"], 2);
    EXPECT_EQ(part["part"], i);
    EXPECT_EQ(part["parts"], 4);
    rejoined += *base64Decode(part["data"].get<std::string>());
  }
  EXPECT_EQ(rejoined, huge);
}

TEST(CloudWatchSink, RejectedEventsAreReportedNotRetried) {
  Fixture f;
  auto sink = f.sink({});
  f.logs.reply(200, R"({"rejectedLogEventsInfo":{"tooOldLogEventEndIndex":2}})");
  ASSERT_TRUE(sink->deliver(storedBatch(4, lines(3))).ok());
  ASSERT_EQ(f.losses.size(), 1u);
  EXPECT_EQ(f.losses[0].records, 3u);
  EXPECT_EQ(f.losses[0].reason, "cloudwatch_rejected");
  EXPECT_NE(f.losses[0].detail.find("batch 4 were refused: older than CloudWatch Logs accepts"),
            std::string::npos)
      << f.losses[0].detail;
}

TEST(CloudWatchSink, ThrottlingIsRetryableAndAMissingStreamIsMadeAgain) {
  Fixture f;
  auto sink = f.sink({});
  f.logs.reply(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  auto throttled = sink->deliver(storedBatch(1, lines(2)));
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(throttled.error().message().find("ThrottlingException: Rate exceeded"),
            std::string::npos);
  f.logs.reply(400, R"({"__type":"ResourceNotFoundException","message":"gone"})");
  EXPECT_FALSE(sink->deliver(storedBatch(1, lines(2))).ok());
  f.logs.reply(200, "{}");
  ASSERT_TRUE(sink->deliver(storedBatch(1, lines(2))).ok());
  size_t streams = 0;
  for (const auto& [action, body] : f.logs.calls()) streams += action == "CreateLogStream" ? 1 : 0;
  EXPECT_EQ(streams, 2u);
}

TEST(CloudWatchSink, OptionsAreCheckedByField) {
  CloudWatchSinkOptions o;
  EXPECT_TRUE(validate(o).ok());
  o.retention_days = 10;
  EXPECT_NE(validate(o).error().message().find("sinks.cloudwatch.retention_days: 10"),
            std::string::npos);
  o.retention_days = 30;
  o.log_group = "bad group!";
  EXPECT_NE(validate(o).error().message().find("sinks.cloudwatch.log_group"), std::string::npos);
  o.log_group = "/demarc";
  o.log_stream = "a:b";
  EXPECT_NE(validate(o).error().message().find("sinks.cloudwatch.log_stream"), std::string::npos);
}

}  // namespace
}  // namespace demarc::sinks
