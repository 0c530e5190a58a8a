#include "agent/evidence/codec.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace demarc::evidence {
namespace {

TEST(Codec, RecordRoundTripsAsOneJsonLine) {
  v1::Record r;
  *r.mutable_time() = toTimestamp(SystemTime(std::chrono::seconds(1700000000)));
  r.mutable_finding()->set_rule_id("ssh.root_login");
  r.mutable_finding()->set_observed("yes\nwith a newline");
  r.mutable_finding()->set_status(v1::CHECK_STATUS_FAIL);
  std::string line = encodeRecord(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"rule_id\":\"ssh.root_login\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"time\":\"2023-11-14T22:13:20Z\""), std::string::npos) << line;
  auto back = decodeRecord(line);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->finding().observed(), "yes\nwith a newline");
  EXPECT_EQ(recordKind(*back), "finding");
}

TEST(Codec, DecodeRejectsGarbageButToleratesNewFields) {
  EXPECT_FALSE(decodeRecord("{not json").ok());
  EXPECT_FALSE(decodeRecord("").ok());
  auto future = decodeRecord(R"({"heartbeat":{"state":"STATE_RUNNING"},"added_later":1})");
  ASSERT_TRUE(future.ok());
  EXPECT_TRUE(future->has_heartbeat());
}

TEST(Codec, ManyLinesDecodeInOrderWithTheirErrorsWhereTheyAre) {
  // Enough lines for several threads; a bad line in each thread's share.
  std::vector<std::string> text;
  for (int i = 0; i < 5000; ++i) {
    if (i % 1250 == 7) {
      text.push_back("{\"finding\":{\"rule_id\":" + std::to_string(i));  // cut short
      continue;
    }
    v1::Record r;
    r.mutable_finding()->set_rule_id("rule." + std::to_string(i));
    text.push_back(encodeRecord(r));
  }
  std::vector<std::string_view> lines(text.begin(), text.end());
  DecodedRecords decoded(lines);
  ASSERT_EQ(decoded.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i % 1250 == 7) {
      EXPECT_EQ(decoded.record(i), nullptr) << i;
      EXPECT_EQ(decoded.error(i), decodeRecord(lines[i]).error().message()) << i;
      continue;
    }
    ASSERT_NE(decoded.record(i), nullptr) << i << ": " << decoded.error(i);
    EXPECT_EQ(decoded.record(i)->finding().rule_id(), "rule." + std::to_string(i));
    EXPECT_TRUE(decoded.error(i).empty());
  }
  EXPECT_EQ(DecodedRecords({}).size(), 0u);
}

TEST(Codec, SplitsPayloadFromSeal) {
  auto view = splitBatch("h\na\nb\nseal\n");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->payload, "h\na\nb\n");
  EXPECT_EQ(view->seal_line, "seal");
  ASSERT_EQ(view->lines.size(), 3u);
  EXPECT_EQ(view->lines[1], "a");
}

TEST(Codec, SplitNamesTruncation) {
  EXPECT_TRUE(splitBatch("h\nsea").error().message().starts_with("truncated"));
  EXPECT_TRUE(splitBatch("only\n").error().message().starts_with("truncated"));
  EXPECT_FALSE(splitBatch("").ok());
}

// Found by tests/fuzz: a verified file may claim any year protobuf accepts.
TEST(Codec, OutOfRangeTimestampsClampInsteadOfOverflowing) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(-30610224000);  // year 1000
  EXPECT_LT(fromTimestamp(ts), SystemTime(std::chrono::seconds(0)));
  ts.set_seconds(253402300799);                                                // year 9999
  EXPECT_GT(fromTimestamp(ts), SystemTime(std::chrono::seconds(3786912000)));  // > 2090
}

TEST(Codec, TimestampsKeepMicroseconds) {
  SystemTime t = SystemTime(std::chrono::microseconds(1700000000123456));
  EXPECT_EQ(fromTimestamp(toTimestamp(t)), t);
  SystemTime before_epoch = SystemTime(std::chrono::microseconds(-1500000));
  EXPECT_EQ(fromTimestamp(toTimestamp(before_epoch)), before_epoch);
}

}  // namespace
}  // namespace demarc::evidence

namespace demarc::evidence {
namespace {

// The hand-written encoder must produce the protobuf JSON mapping: protobuf's
// own parser reads it back to an equal message, for every kind of field.
TEST(Json, ProtobufParsesWhatWeWrite) {
  v1::Record r;
  *r.mutable_time() = toTimestamp(SystemTime(std::chrono::microseconds(1700000000123456)));
  auto& h = *r.mutable_header();
  h.set_agent_id("a\"b\\c\n\t\x01 é ✓ 😀");
  h.set_sequence(18446744073709551615ULL);
  h.set_record_count(4294967295u);
  (*h.mutable_drops())["b"] = 2;
  (*h.mutable_drops())["a"] = 1;
  *h.mutable_first_time() = toTimestamp(SystemTime(std::chrono::seconds(0)));
  std::string line = encodeRecord(r);
  EXPECT_NE(line.find("\"sequence\":\"18446744073709551615\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"drops\":{\"a\":\"1\",\"b\":\"2\"}"), std::string::npos) << line;
  EXPECT_NE(line.find("\"time\":\"2023-11-14T22:13:20.123456Z\""), std::string::npos) << line;
  auto back = decodeRecord(line);
  ASSERT_TRUE(back.ok()) << back.error().message() << "\n" << line;
  // Maps serialize in no fixed order: compare as messages.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, r)) << line;

  v1::Record p;
  auto& e = *p.mutable_process();
  e.set_kind(v1::ProcessEvent::KIND_EXEC);
  e.add_argv("--flag");
  e.add_argv("");
  e.set_exit_code(-9);
  std::string pline = encodeRecord(p);
  EXPECT_NE(pline.find("\"kind\":\"KIND_EXEC\""), std::string::npos) << pline;
  EXPECT_NE(pline.find("\"argv\":[\"--flag\",\"\"]"), std::string::npos) << pline;
  auto pback = decodeRecord(pline);
  ASSERT_TRUE(pback.ok()) << pline;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*pback, p)) << pline;
}

TEST(Json, InvalidUtf8BecomesReplacementCharacter) {
  v1::Record r;
  r.mutable_process()->add_argv(std::string("ok\xff\xc3", 4));
  std::string line = encodeRecord(r);
  EXPECT_NE(line.find("ok\\ufffd\\ufffd"), std::string::npos) << line;
  EXPECT_TRUE(decodeRecord(line).ok());
}

TEST(Json, DefaultsAreOmitted) {
  v1::Record r;
  r.mutable_heartbeat();
  EXPECT_EQ(encodeRecord(r), "{\"heartbeat\":{}}");
}

}  // namespace
}  // namespace demarc::evidence
