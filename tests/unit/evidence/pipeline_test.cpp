#include "agent/evidence/pipeline.h"

#include <gtest/gtest.h>

#include <thread>

#include "agent/evidence/codec.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

using namespace std::chrono_literals;

// Keeps what it is given; can be told to fail.
class MemorySink : public Sink {
 public:
  std::string_view name() const override { return "memory"; }
  std::string describe() const override { return "memory"; }
  std::string where(const StoredBatch& batch) const override {
    return "memory/" + std::to_string(batch.sequence);
  }
  Status deliver(const StoredBatch& batch) override {
    std::lock_guard lock(mu);
    ++attempts;
    if (fail_next > 0 || fail_always) {
      --fail_next;
      return Error(ErrorCode::kUnavailable, "sink down");
    }
    delivered.push_back(batch);
    if (refuse_next > 0) {
      // Like a destination refusing events for good (CloudWatch's "too old").
      reportLoss({.reason = "memory_refused",
                  .detail = "batch " + std::to_string(batch.sequence) + " refused",
                  .records = refuse_next,
                  .from = SystemTime(std::chrono::seconds(1700000000)),
                  .to = SystemTime(std::chrono::seconds(1700000001))});
      refuse_next = 0;
    }
    return okStatus();
  }
  uint64_t refuse_next = 0;
  std::vector<StoredBatch> snapshot() {
    std::lock_guard lock(mu);
    return delivered;
  }
  std::mutex mu;
  std::vector<StoredBatch> delivered;
  int fail_next = 0;
  std::atomic<bool> fail_always{false};
  int attempts = 0;
};

class PipelineTest : public ::testing::Test {
 protected:
  void build(PipelineOptions options, uint64_t journal_max = 64 << 20) {
    signer_ = std::make_unique<Signer>(std::move(*Signer::generate()));
    sealer_ = std::make_unique<Sealer>(*signer_, "a", v1::HostIdentity(), ChainPosition{}, "v");
    journal_ = std::move(*Journal::open(
        {.path = dir_ / "journal", .max_bytes = journal_max, .fsync = false}, {"memory"}));
    auto sink = std::make_unique<MemorySink>();
    sink_ = sink.get();
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::move(sink));
    options.retry_initial = 1ms;
    options.retry_max = 5ms;
    pipeline_ = std::make_unique<Pipeline>(options, *sealer_, *journal_, std::move(sinks), clock_);
    pipeline_->start();
  }
  static v1::Record item(int i) {
    v1::Record r;
    r.mutable_inventory()->set_kind("test");
    r.mutable_inventory()->set_name("item-" + std::to_string(i));
    return r;
  }
  // All records the sink received, decoded, with the batch headers checked.
  std::vector<v1::Record> deliveredRecords() {
    std::vector<v1::Record> out;
    uint64_t expected_seq = 1;
    for (const auto& batch : sink_->snapshot()) {
      EXPECT_EQ(batch.sequence, expected_seq++);
      auto view = splitBatch(batch.bytes);
      EXPECT_TRUE(view.ok());
      for (size_t i = 1; i < view->lines.size(); ++i) out.push_back(*decodeRecord(view->lines[i]));
    }
    return out;
  }
  template <typename Pred>
  bool eventually(Pred pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  testing::TempDir dir_;
  RealClock clock_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<Sealer> sealer_;
  std::unique_ptr<Journal> journal_;
  MemorySink* sink_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, SealsWhenBatchIsFull) {
  build({.batch_max_records = 10, .batch_max_age = 1h});
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(pipeline_->submit(item(i)));
  ASSERT_TRUE(eventually([&] { return sink_->snapshot().size() == 2; }));
  EXPECT_EQ(pipeline_->stats().pending, 5u);
  pipeline_->stop(5s);
  auto records = deliveredRecords();
  ASSERT_EQ(records.size(), 25u);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(records[i].inventory().name(), "item-" + std::to_string(i));
}

TEST_F(PipelineTest, SealsWhenOldestRecordIsOld) {
  build({.batch_max_records = 1000, .batch_max_age = 20ms});
  ASSERT_TRUE(pipeline_->submit(item(1)));
  ASSERT_TRUE(eventually([&] { return sink_->snapshot().size() == 1; }));
  EXPECT_EQ(sink_->snapshot()[0].header.record_count(), 1u);
  pipeline_->stop(5s);
}

TEST_F(PipelineTest, StopSealsPendingAndDelivers) {
  build({.batch_max_records = 1000, .batch_max_age = 1h});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pipeline_->submit(item(i)));
  pipeline_->stop(5s);
  EXPECT_EQ(deliveredRecords().size(), 3u);
  EXPECT_FALSE(pipeline_->submit(item(9)));  // closed now, and counted
  EXPECT_EQ(pipeline_->stats().records_dropped, 1u);
}

TEST_F(PipelineTest, FailingSinkGetsTheSameBytesAgain) {
  build({.batch_max_records = 2, .batch_max_age = 1h});
  sink_->fail_next = 3;
  ASSERT_TRUE(pipeline_->submit(item(1)));
  EXPECT_EQ(pipeline_->stats().pending, 1u);  // the queue depth heartbeats report
  ASSERT_TRUE(pipeline_->submit(item(2)));
  ASSERT_TRUE(eventually([&] { return sink_->snapshot().size() == 1; }));
  auto stored = journal_->read(1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(sink_->snapshot()[0].bytes, (*stored)->bytes);
  EXPECT_EQ(pipeline_->stats().sinks[0].failures, 3u);
  // The sink holds the batch a moment before the pipeline moves its cursor
  // past it (a CI run caught the stats in between).
  EXPECT_TRUE(
      eventually([&] { return !pipeline_->stats().sinks[0].oldest_undelivered.has_value(); }));
  pipeline_->stop(5s);
}

// While a sink fails, how long its oldest batch has waited grows.
TEST_F(PipelineTest, StatsSayHowLongTheOldestUndeliveredBatchWaited) {
  build({.batch_max_records = 1, .batch_max_age = 1h});
  sink_->fail_always = true;
  ASSERT_TRUE(pipeline_->submit(item(1)));
  ASSERT_TRUE(eventually([&] { return pipeline_->stats().sinks[0].failures >= 1; }));
  auto first = pipeline_->stats().sinks[0].oldest_undelivered;
  ASSERT_TRUE(first.has_value());
  std::this_thread::sleep_for(50ms);
  auto later = pipeline_->stats().sinks[0].oldest_undelivered;
  ASSERT_TRUE(later.has_value());
  EXPECT_GE(*later - *first, 50ms);
  EXPECT_EQ(pipeline_->stats().sinks[0].backlog, 1u);
  pipeline_->stop(0ms);
}

// At the journal cap records are dropped, counted in the next header and
// declared by a gap record; submitted = sealed + declared lost, exactly.
// What a sink's destination refuses for good is declared in a gap record in
// a later batch.
TEST_F(PipelineTest, SinkLossBecomesAGapRecord) {
  build({.batch_max_records = 1, .batch_max_age = 1h});
  sink_->refuse_next = 7;
  ASSERT_TRUE(pipeline_->submit(item(1)));
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : deliveredRecords()) {
      if (r.has_gap()) return true;
    }
    return false;
  }));
  for (const auto& r : deliveredRecords()) {
    if (!r.has_gap()) continue;
    EXPECT_EQ(r.gap().reason(), "memory_refused");
    EXPECT_EQ(r.gap().detail(), "sink memory: batch 1 refused");
    EXPECT_EQ(r.gap().records_lost(), 7u);
  }
  pipeline_->stop(5s);
}

TEST_F(PipelineTest, JournalFullLossIsCountedAndDeclared) {
  build({.batch_max_records = 20, .batch_max_age = 1h}, 8 * 1024);
  sink_->fail_always = true;
  const int total = 400;
  for (int i = 0; i < total; ++i) ASSERT_TRUE(pipeline_->submit(item(i)));
  ASSERT_TRUE(eventually([&] { return pipeline_->stats().pending == 0; }));
  EXPECT_GT(pipeline_->stats().records_dropped, 0u);
  sink_->fail_always = false;
  ASSERT_TRUE(eventually([&] { return journal_->backlog("memory") == 0; }));
  ASSERT_TRUE(pipeline_->submit(item(total)));  // one more batch carries the gap
  pipeline_->stop(5s);

  uint64_t items = 0, lost = 0, header_drops = 0;
  for (const auto& batch : sink_->snapshot()) {
    auto it = batch.header.drops().find("pipeline.journal_full");
    if (it != batch.header.drops().end()) header_drops += it->second;
  }
  for (const auto& r : deliveredRecords()) {
    if (r.has_inventory()) ++items;
    if (r.has_gap()) {
      EXPECT_EQ(r.gap().reason(), "journal_full");
      EXPECT_EQ(r.gap().lost_by_kind().at("inventory"), r.gap().records_lost());
      lost += r.gap().records_lost();
    }
  }
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(items + lost, static_cast<uint64_t>(total) + 1);
  EXPECT_EQ(header_drops, lost);
}

TEST_F(PipelineTest, PendingCapDropsAreCountedInTheHeader) {
  build({.batch_max_records = 1000, .batch_max_age = 1h, .max_pending_records = 5});
  int accepted = 0;
  for (int i = 0; i < 8; ++i) accepted += pipeline_->submit(item(i)) ? 1 : 0;
  EXPECT_EQ(accepted, 5);
  pipeline_->stop(5s);
  auto batches = sink_->snapshot();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].header.drops().at("pipeline.pending_full"), 3u);
}

TEST_F(PipelineTest, AddDropsReachTheNextHeader) {
  build({.batch_max_records = 1, .batch_max_age = 1h});
  pipeline_->addDrops("probe.exec.ringbuf_full", 12);
  ASSERT_TRUE(pipeline_->submit(item(1)));
  pipeline_->stop(5s);
  ASSERT_EQ(sink_->snapshot().size(), 1u);
  EXPECT_EQ(sink_->snapshot()[0].header.drops().at("probe.exec.ringbuf_full"), 12u);
}

TEST_F(PipelineTest, ConcurrentProducersLoseNothing) {
  build({.batch_max_records = 50, .batch_max_age = 5ms});
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) ASSERT_TRUE(pipeline_->submit(item(t * 1000 + i)));
    });
  }
  for (auto& p : producers) p.join();
  pipeline_->stop(10s);
  std::set<std::string> names;
  for (const auto& r : deliveredRecords()) names.insert(r.inventory().name());
  EXPECT_EQ(names.size(), 2000u);
}

}  // namespace
}  // namespace demarc::evidence
