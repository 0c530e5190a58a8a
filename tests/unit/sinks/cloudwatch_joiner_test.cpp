// Rebuilding sealed batches from CloudWatch Logs events: the inverse of
// CloudWatchSink::eventsOf, including the copies at-least-once delivery
// leaves in a stream.
#include <gtest/gtest.h>

#include "agent/core/files.h"
#include "agent/sinks/cloudwatch_sink.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/temp_dir.h"

namespace demarc::sinks {
namespace {

using testing::storedBatch;

class Joiner : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signer = evidence::Signer::generate();
    ASSERT_TRUE(signer.ok());
    for (const auto& file : testing::writeChain(*signer, dir_.path(), {.batches = 4})) {
      auto bytes = readFile(file);
      ASSERT_TRUE(bytes.ok());
      batches_.push_back(*bytes);
    }
  }
  // The events batch i (from 1) becomes.
  std::vector<std::string> events(size_t i) const {
    return CloudWatchSink::eventsOf(storedBatch(i, batches_[i - 1]));
  }
  // Joins the events and keeps what comes out.
  CloudWatchBatchJoiner::Leftovers join(const std::vector<std::string>& stream) {
    CloudWatchBatchJoiner joiner("cloudwatch://g/s",
                                 [&](const std::string& name, std::string_view bytes) {
                                   names_.push_back(name);
                                   out_.emplace_back(bytes);
                                 });
    for (const auto& e : stream) joiner.add(e);
    return joiner.finish();
  }
  static void append(std::vector<std::string>& to, const std::vector<std::string>& events,
                     size_t n = SIZE_MAX) {
    to.insert(to.end(), events.begin(), events.begin() + std::min(n, events.size()));
  }

  testing::TempDir dir_;
  std::vector<std::string> batches_;
  std::vector<std::string> names_;
  std::vector<std::string> out_;
};

TEST_F(Joiner, EventsRejoinIntoTheSealedBatchesByteForByte) {
  std::vector<std::string> stream;
  for (size_t i = 1; i <= 4; ++i) append(stream, events(i));
  auto left = join(stream);
  EXPECT_EQ(out_, batches_);
  EXPECT_EQ(names_.front(), "cloudwatch://g/s@1");  // named by the event its header is
  EXPECT_TRUE(left.broken.empty());
  EXPECT_TRUE(left.stray.empty());
  EXPECT_FALSE(left.tail);
  EXPECT_EQ(left.redelivered + left.partial_redeliveries, 0u);
}

TEST_F(Joiner, ABatchSentAgainAfterAPartialDeliveryIsReadOnce) {
  std::vector<std::string> stream;
  append(stream, events(1));
  append(stream, events(2), 2);  // the call failed after two events were stored
  append(stream, events(2));
  append(stream, events(3));
  auto left = join(stream);
  ASSERT_EQ(out_.size(), 3u);
  EXPECT_EQ(out_[1], batches_[1]);
  EXPECT_EQ(left.partial_redeliveries, 1u);
  EXPECT_TRUE(left.broken.empty());
}

TEST_F(Joiner, IdenticalWholeCopiesArePassedOnceAndDifferentOnesBoth) {
  std::vector<std::string> stream;
  append(stream, events(1));
  append(stream, events(2));
  append(stream, events(2));  // the agent stopped before recording the delivery
  auto forged = events(3);
  append(stream, forged);
  forged[1][forged[1].size() / 2] ^= 1;  // another batch 3: the verifier's business
  append(stream, forged);
  auto left = join(stream);
  ASSERT_EQ(out_.size(), 4u);
  EXPECT_EQ(out_[2], batches_[2]);
  EXPECT_NE(out_[3], batches_[2]);
  EXPECT_EQ(left.redelivered, 1u);
  EXPECT_EQ(left.agent_id, "00000000-0000-4000-8000-000000000001");  // for the report's notes
}

TEST_F(Joiner, IncompleteBatchesAreReportedNeverPassedOn) {
  std::vector<std::string> stream = {"{\"stray\":1}"};
  append(stream, events(1));
  append(stream, events(2), 2);  // and never sent whole
  append(stream, events(3));
  append(stream, events(4), 3);  // the stream's end: perhaps under way
  auto left = join(stream);
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[1], batches_[2]);
  ASSERT_EQ(left.broken.size(), 1u);
  EXPECT_EQ(left.broken[0].sequence, 2u);
  EXPECT_FALSE(left.broken[0].agent_id.empty());
  EXPECT_NE(left.broken[0].problem.find("stops after 1 record lines"), std::string::npos)
      << left.broken[0].problem;
  ASSERT_TRUE(left.tail);
  EXPECT_EQ(left.tail->sequence, 4u);
  EXPECT_NE(left.tail->problem.find("stops after 2 of "), std::string::npos) << left.tail->problem;
  ASSERT_EQ(left.stray.size(), 1u);
  EXPECT_NE(left.stray[0].find("event 1 is outside any batch"), std::string::npos);
}

TEST_F(Joiner, LongLinesRejoinFromPartsEvenAfterACutInTheirMiddle) {
  std::string huge = "{\"process\":{\"argv\":[\"" + std::string(700'000, 'x') + "\"]}}";
  std::string bytes = "{\"header\":{\"sequence\":\"7\"}}\n" + huge + "\n{\"seal\":{}}\n";
  auto parts = CloudWatchSink::eventsOf(storedBatch(7, bytes));
  ASSERT_EQ(parts.size(), 6u);  // header, four parts, seal
  std::vector<std::string> stream;
  append(stream, parts, 3);  // header and two of four parts, then the whole batch
  append(stream, parts);
  auto left = join(stream);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0], bytes);
  EXPECT_EQ(left.partial_redeliveries, 1u);

  out_.clear();
  auto skipped = parts;
  skipped.erase(skipped.begin() + 2);  // part 2 is missing
  left = join(skipped);
  EXPECT_TRUE(out_.empty());
  ASSERT_EQ(left.broken.size(), 1u);
  EXPECT_NE(left.broken[0].problem.find("is part 3 of a long line, expected part 2"),
            std::string::npos)
      << left.broken[0].problem;

  out_.clear();
  auto garbled = parts;
  garbled[3] = "{\"demarc_part\":{\"part\":2,\"parts\":4,\"data\":\"!!\"}}";
  left = join(garbled);
  EXPECT_TRUE(out_.empty());
  ASSERT_EQ(left.broken.size(), 1u);
  EXPECT_NE(left.broken[0].problem.find("event 4 is a malformed part"), std::string::npos);
}

}  // namespace
}  // namespace demarc::sinks
