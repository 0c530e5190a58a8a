#include "agent/evidence/journal.h"

#include <gtest/gtest.h>

#include "agent/core/files.h"
#include "agent/evidence/sealer.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

using namespace std::chrono_literals;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = std::make_unique<Signer>(std::move(*Signer::generate()));
    sealer_ = std::make_unique<Sealer>(*signer_, "a", v1::HostIdentity(), ChainPosition{}, "v");
  }
  Result<std::unique_ptr<Journal>> open(std::vector<std::string> sinks = {"s1", "s2"},
                                        uint64_t max_bytes = 1 << 20) {
    return Journal::open({.path = dir_ / "journal", .max_bytes = max_bytes, .fsync = true}, sinks);
  }
  SealedBatch next() {
    RecordBuffer records = testing::encoded(
        {testing::heartbeatRecord(SystemTime(1700000000s), v1::Heartbeat::STATE_RUNNING, 1)});
    auto b = sealer_->seal(records, {}, SystemTime(1700000000s));
    sealer_->advance(*b);
    return std::move(*b);
  }
  testing::TempDir dir_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<Sealer> sealer_;
};

TEST_F(JournalTest, AppendReadAndCursorPerSink) {
  auto j = open();
  ASSERT_TRUE(j.ok()) << j.error().message();
  SealedBatch b1 = next(), b2 = next();
  ASSERT_TRUE((*j)->append(b1).ok());
  ASSERT_TRUE((*j)->append(b2).ok());
  EXPECT_EQ((*j)->nextFor("s1"), 1u);
  auto read = (*j)->read(1);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ((*read)->bytes, b1.bytes);
  EXPECT_EQ((*read)->digest, b1.digest);
  EXPECT_EQ((*read)->header.sequence(), 1u);
  ASSERT_TRUE((*j)->acknowledge("s1", 1).ok());
  EXPECT_EQ((*j)->nextFor("s1"), 2u);
  EXPECT_EQ((*j)->nextFor("s2"), 1u);
  EXPECT_EQ((*j)->backlog("s1"), 1u);
  EXPECT_EQ((*j)->backlog("s2"), 2u);
}

// Sinks that keep up ship the batch just written from memory; an older one
// is read from disk and checked against its seal, so damage there shows.
TEST_F(JournalTest, NewestBatchComesFromMemoryOlderOnesFromDiskChecked) {
  auto j = open();
  SealedBatch b1 = next(), b2 = next();
  ASSERT_TRUE((*j)->append(b1).ok());
  (*j)->keepNewest(SealedBatch(b1));
  std::filesystem::path file1 = dir_ / "journal" / "00000000000000000001.batch";
  std::string damaged = b1.bytes;
  damaged[damaged.find("heartbeat")] = 'H';
  ASSERT_TRUE(writeFileAtomic(file1, damaged, {.mode = 0600, .fsync = false}).ok());
  auto newest = (*j)->read(1);
  ASSERT_TRUE(newest.ok()) << newest.error().message();
  EXPECT_EQ((*newest)->bytes, b1.bytes);
  EXPECT_EQ((*newest)->digest, b1.digest);
  EXPECT_EQ((*newest)->header.sequence(), 1u);

  ASSERT_TRUE((*j)->append(b2).ok());
  (*j)->keepNewest(SealedBatch(b2));
  auto older = (*j)->read(1);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(older.error().message().find("does not match its seal"), std::string::npos)
      << older.error().message();
  EXPECT_EQ((*(*j)->read(2))->bytes, b2.bytes);
  // Once every sink has the newest batch, memory lets it go.
  ASSERT_TRUE((*j)->acknowledge("s1", 2).ok());
  ASSERT_TRUE((*j)->acknowledge("s2", 2).ok());
  ASSERT_TRUE(writeFileAtomic(dir_ / "journal" / "00000000000000000002.batch", "damaged\n",
                              {.mode = 0600, .fsync = false})
                  .ok());
  EXPECT_FALSE((*j)->read(2).ok());
}

TEST_F(JournalTest, OldestUndeliveredPerSinkSurvivesARestart) {
  {
    auto j = open();
    SealedBatch b1 = next(), b2 = next();
    b1.sealed_time = SystemTime(1700000000s);
    b2.sealed_time = SystemTime(1700000100s);
    ASSERT_TRUE((*j)->append(b1).ok());
    ASSERT_TRUE((*j)->append(b2).ok());
    EXPECT_EQ((*j)->oldestUndelivered("s1"), SystemTime(1700000000s));
    ASSERT_TRUE((*j)->acknowledge("s1", 1).ok());
    EXPECT_EQ((*j)->oldestUndelivered("s1"), SystemTime(1700000100s));
    ASSERT_TRUE((*j)->acknowledge("s1", 2).ok());
    EXPECT_FALSE((*j)->oldestUndelivered("s1").has_value());
    EXPECT_FALSE((*j)->oldestUndelivered("nobody").has_value());
  }
  // After a restart the file's time stands in for the sealing time.
  auto reopened = open();
  ASSERT_TRUE(reopened.ok());
  auto oldest = (*reopened)->oldestUndelivered("s2");
  ASSERT_TRUE(oldest.has_value());
  EXPECT_LT(std::chrono::system_clock::now() - *oldest, 1min);
}

TEST_F(JournalTest, RemovesBatchesOnlyWhenEverySinkHasThem) {
  auto j = open();
  SealedBatch b1 = next(), b2 = next(), b3 = next();
  for (auto* b : {&b1, &b2, &b3}) ASSERT_TRUE((*j)->append(*b).ok());
  ASSERT_TRUE((*j)->acknowledge("s1", 3).ok());
  EXPECT_EQ((*j)->batchCount(), 3u);  // s2 has none yet
  ASSERT_TRUE((*j)->acknowledge("s2", 2).ok());
  EXPECT_EQ((*j)->batchCount(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "journal/00000000000000000001.batch"));
  ASSERT_TRUE((*j)->acknowledge("s2", 3).ok());
  // The newest batch stays as the chain anchor.
  EXPECT_EQ((*j)->batchCount(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "journal/00000000000000000003.batch"));
}

TEST_F(JournalTest, RecoversChainAndCursorsAfterRestart) {
  SealedBatch b1 = next(), b2 = next();
  {
    auto j = open();
    ASSERT_TRUE((*j)->append(b1).ok());
    ASSERT_TRUE((*j)->append(b2).ok());
    ASSERT_TRUE((*j)->acknowledge("s1", 2).ok());
    ASSERT_TRUE((*j)->acknowledge("s2", 2).ok());
  }
  auto j = open();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->chainPosition().last_sequence, 2u);
  EXPECT_EQ((*j)->chainPosition().last_digest, b2.digest);
  EXPECT_FALSE((*j)->nextFor("s1").has_value());
  // A sink added later gets what the journal still holds.
  auto with_new_sink = open({"s1", "s2", "s3"});
  EXPECT_EQ((*with_new_sink)->nextFor("s3"), 2u);
}

TEST_F(JournalTest, RecoveryRemovesUnfinishedWritesAndReusesTheirSequence) {
  SealedBatch b1 = next();
  {
    auto j = open();
    ASSERT_TRUE((*j)->append(b1).ok());
  }
  // A write killed before its rename leaves a temp file behind.
  dir_.write("journal/.00000000000000000002.batch.tmp", "half a batch");
  auto j = open();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->chainPosition().last_sequence, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "journal/.00000000000000000002.batch.tmp"));
  ASSERT_EQ((*j)->recoveryNotes().size(), 1u);
  EXPECT_NE((*j)->recoveryNotes()[0].find("unfinished"), std::string::npos);
  ASSERT_TRUE((*j)->append(next()).ok());
}

TEST_F(JournalTest, CorruptNewestBatchIsSetAsideNotReused) {
  SealedBatch b1 = next(), b2 = next();
  {
    auto j = open();
    ASSERT_TRUE((*j)->append(b1).ok());
    ASSERT_TRUE((*j)->append(b2).ok());
  }
  std::string damaged = b2.bytes;
  damaged[damaged.size() / 2] ^= 0x20;
  ASSERT_TRUE(writeFileAtomic(dir_ / "journal/00000000000000000002.batch", damaged).ok());
  auto j = open();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->corruptAnchor(), 2u);
  EXPECT_EQ((*j)->chainPosition().last_sequence, 2u);  // never reused
  EXPECT_EQ((*j)->chainPosition().last_digest, "");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "journal/corrupt/00000000000000000002.batch"));
}

TEST_F(JournalTest, CapCountsOnlyUndeliveredBatches) {
  SealedBatch b1 = next();
  auto j = open({"s1"}, b1.bytes.size() * 2 + 10);
  ASSERT_TRUE((*j)->hasRoom(b1.bytes.size()));
  ASSERT_TRUE((*j)->append(b1).ok());
  SealedBatch b2 = next();
  ASSERT_TRUE((*j)->append(b2).ok());
  EXPECT_FALSE((*j)->hasRoom(b1.bytes.size()));
  ASSERT_TRUE((*j)->acknowledge("s1", 2).ok());
  EXPECT_TRUE((*j)->hasRoom(b1.bytes.size()));  // the anchor does not count
}

TEST_F(JournalTest, RejectsOutOfOrderAppend) {
  auto j = open();
  next();
  SealedBatch b2 = next();
  auto st = (*j)->append(b2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("expected sequence 1"), std::string::npos);
}

TEST_F(JournalTest, CursorAheadOfJournalIsReset) {
  {
    auto j = open({"s1"});
    ASSERT_TRUE((*j)->append(next()).ok());
  }
  dir_.write("journal/cursors/s1", "99\n");
  auto j = open({"s1"});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->nextFor("s1"), 1u);
  ASSERT_FALSE((*j)->recoveryNotes().empty());
  EXPECT_NE((*j)->recoveryNotes()[0].find("ahead"), std::string::npos);
}

}  // namespace
}  // namespace demarc::evidence
