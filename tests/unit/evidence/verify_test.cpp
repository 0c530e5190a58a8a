#include "agent/evidence/verify.h"

#include <gtest/gtest.h>

#include "agent/core/files.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> kinds(const verify::v1::Report& report) {
  std::vector<std::string> out;
  for (const auto& a : report.agents()) {
    for (const auto& d : a.defects()) out.push_back(d.kind());
  }
  for (const auto& d : report.unattributed()) out.push_back(d.kind());
  return out;
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { signer_ = std::make_unique<Signer>(std::move(*Signer::generate())); }
  verify::v1::Report run(VerifyOptions options = {}) {
    auto r = verifyDirectory(dir_.path(), options);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  testing::TempDir dir_;
  std::unique_ptr<Signer> signer_;
};

TEST_F(VerifyTest, IntactChainVerifies) {
  testing::writeChain(*signer_, dir_.path(), {.batches = 6});
  auto report = run();
  EXPECT_TRUE(report.ok()) << formatReport(report);
  ASSERT_EQ(report.agents_size(), 1);
  const auto& a = report.agents(0);
  EXPECT_EQ(a.batches_verified(), 6u);
  EXPECT_EQ(a.batches_found(), 6u);
  EXPECT_EQ(a.first_sequence(), 1u);
  EXPECT_EQ(a.last_sequence(), 6u);
  EXPECT_EQ(a.records_verified(), 6u * 3 + 1);  // + enrollment
  ASSERT_EQ(a.keys_size(), 1);
  EXPECT_EQ(a.keys(0).key_id(), signer_->keyId());
  EXPECT_NE(a.keys(0).source().find("enrollment record in batch 1"), std::string::npos);
  EXPECT_NE(formatReport(report).find("result: OK"), std::string::npos);
}

TEST_F(VerifyTest, PinnedKeyIsSaidAndOtherKeysAreUnknown) {
  testing::writeChain(*signer_, dir_.path(), {.batches = 2});
  auto report = run({.pinned_keys = {{"my.pub", signer_->publicKeyRaw()}}});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.agents(0).keys(0).source(), "pinned (my.pub)");
  auto other = Signer::generate();
  auto wrong = run({.pinned_keys = {{"other.pub", other->publicKeyRaw()}}});
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(kinds(wrong), std::vector<std::string>(2, "unknown_key"));
}

TEST_F(VerifyTest, EmptyFolderIsNotOk) {
  auto report = run();
  EXPECT_FALSE(report.ok());
  EXPECT_NE(formatReport(report).find("no evidence found"), std::string::npos);
  EXPECT_FALSE(verifyDirectory(dir_ / "missing", {}).ok());
}

TEST_F(VerifyTest, TailSilenceWithoutCleanStopIsADefect) {
  auto start = SystemTime(1700000000s);
  testing::writeChain(*signer_, dir_.path(), {.batches = 3, .start = start, .clean_stop = false});
  // Measured right after the last batch: fine.
  EXPECT_TRUE(run({.as_of = start + 3s}).ok());
  // An hour later with no clean shutdown: the tail is missing or the agent died.
  auto late = run({.as_of = start + 1h});
  EXPECT_EQ(kinds(late), std::vector<std::string>{"heartbeat_silence"});
  // Explicit tolerance wins.
  EXPECT_TRUE(run({.as_of = start + 1h, .max_silence = 2h}).ok());
}

TEST_F(VerifyTest, SilenceBetweenBatchesIsADefectUnlessAfterCleanStop) {
  auto start = SystemTime(1700000000s);
  testing::writeChain(*signer_, dir_.path(),
                      {.batches = 3, .start = start, .spacing = 10min, .clean_stop = true});
  auto report = run({.as_of = start + 30min});
  // Heartbeats every 60s announced, 10 minutes between batches.
  EXPECT_EQ(kinds(report), std::vector<std::string>(2, "heartbeat_silence"));
  EXPECT_NE(report.agents(0).defects(0).message().find("no batch for 10m"), std::string::npos);
}

TEST_F(VerifyTest, ChainStartingLaterIsANoteNotADefect) {
  auto files = testing::writeChain(*signer_, dir_.path(), {.batches = 4});
  std::filesystem::remove(files[0]);
  // The enrollment was in batch 1, so pin the key.
  auto report = run({.pinned_keys = {{"k", signer_->publicKeyRaw()}}});
  EXPECT_TRUE(report.ok()) << formatReport(report);
  EXPECT_NE(report.agents(0).notes(0).find("starts at batch 2"), std::string::npos);
}

TEST_F(VerifyTest, GarbageFilesAreDefectsNotCrashes) {
  testing::writeChain(*signer_, dir_.path(), {.batches = 2});
  for (std::string junk : {std::string(""), std::string("\n\n\n"), std::string("{}\n{}\n"),
                           std::string("\xff\xfe\n\x00\x01\n", 6), std::string(5000, '{') + "\n"}) {
    testing::TempDir d;
    d.write("x/1-junk.jsonl", junk);
    auto report = verifyDirectory(d.path(), {});
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->ok());
    EXPECT_EQ(report->unattributed_size(), 1);
  }
}

TEST_F(VerifyTest, JsonReportHasStableFields) {
  testing::writeChain(*signer_, dir_.path(), {.batches = 2});
  std::string json = reportJson(run());
  for (const char* field : {"\"ok\": true", "\"batches_verified\": \"2\"", "\"agent_id\"",
                            "\"first_time\"", "\"keys\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << "\n" << json;
  }
}

}  // namespace
}  // namespace demarc::evidence
