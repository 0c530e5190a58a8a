// The tamper suite: one test per way of tampering with sealed evidence. Each
// builds a real chain, tampers with it as an attacker with file access would,
// and runs the demarc binary's verify, which must exit 1 and name the defect.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/sealer.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = std::make_unique<Signer>(std::move(*Signer::generate()));
    // Ten minutes of heartbeats, one a minute, ended by a clean shutdown.
    files_ = testing::writeChain(*signer_, dir_ / "evidence",
                                 {.batches = 10,
                                  .start = std::chrono::system_clock::now() - 10min,
                                  .spacing = 60s,
                                  .clean_stop = true});
  }
  testing::CommandResult verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {DEMARC_BINARY, "verify", (dir_ / "evidence").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::runCommand(argv, dir_.path());
  }
  // verify must fail and print "DEFECT <kind>: <text>".
  void expectDefect(const std::string& kind, const std::string& text) {
    auto r = verify();
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    std::string prefix = "DEFECT      " + kind + ": ";
    bool named = false;
    for (size_t at = r.out.find(prefix); at != std::string::npos && !named;
         at = r.out.find(prefix, at + 1)) {
      named = r.out.substr(at, r.out.find('\n', at) - at).find(text) != std::string::npos;
    }
    EXPECT_TRUE(named) << "no " << kind << " naming '" << text << "' in:\n" << r.out;
    EXPECT_NE(r.out.find("result: FAILED"), std::string::npos);
  }
  std::string read(size_t i) { return testing::readAll(files_[i]); }
  void write(size_t i, const std::string& bytes) {
    ASSERT_TRUE(writeFileAtomic(files_[i], bytes, {.mode = 0644, .fsync = false}).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<Signer> signer_;
  std::vector<fs::path> files_;
};

TEST_F(TamperTest, UntouchedChainVerifies) {
  auto r = verify();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("10 of 10 verified (sequence 1..10)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result: OK"), std::string::npos);
}

TEST_F(TamperTest, FlippedPayloadByteIsModifiedPayload) {
  std::string bytes = read(4);
  size_t at = bytes.find("item-4-1");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] = '9';  // item-4-1 -> item-9-1: still valid JSON
  write(4, bytes);
  expectDefect("modified_payload", "batch 5 was modified after sealing");
}

TEST_F(TamperTest, FlippedSignatureByteIsBadSignature) {
  std::string bytes = read(3);
  auto view = splitBatch(bytes);
  auto seal = decodeRecord(view->seal_line);
  std::string sig = *base64Decode(seal->seal().signatures(0).sig());
  sig[17] ^= 0x01;
  seal->mutable_seal()->mutable_signatures(0)->set_sig(base64Encode(sig));
  write(3, std::string(view->payload) + encodeRecord(*seal) + "\n");
  expectDefect("bad_signature", "batch 4: the signature does not match the payload");
}

TEST_F(TamperTest, FlippedSignatureCharacterIsBadSignature) {
  std::string bytes = read(3);
  size_t at = bytes.find("\"sig\":\"");
  ASSERT_NE(at, std::string::npos);
  char& c = bytes[at + 10];
  c = c == 'A' ? 'B' : 'A';
  write(3, bytes);
  expectDefect("bad_signature", "batch 4");
}

TEST_F(TamperTest, DeletedMiddleBatchIsMissing) {
  fs::remove(files_[4]);
  expectDefect("missing_batches", "batch 5 is missing");
}

TEST_F(TamperTest, DeletedRangeIsMissing) {
  fs::remove(files_[3]);
  fs::remove(files_[4]);
  fs::remove(files_[5]);
  expectDefect("missing_batches", "batches 4..6 are missing (3 batches");
}

TEST_F(TamperTest, DeletedNewestBatchesAreHeartbeatSilence) {
  for (size_t i = 7; i < 10; ++i) fs::remove(files_[i]);
  expectDefect("heartbeat_silence", "the newest batch 7 was sealed at");
}

TEST_F(TamperTest, SwappedBatchesAreReordered) {
  std::string a = read(2), b = read(3);
  write(2, b);
  write(3, a);
  expectDefect("reordered", "holds batch 4 but its name says batch 3");
}

TEST_F(TamperTest, ReplayedOldBatchIsNamed) {
  fs::path copy = files_[9].parent_path() / "00000000000000000011-0000000000000000.jsonl";
  fs::copy_file(files_[1], copy);
  expectDefect("replayed_batch", "batch 2 appears again in " + copy.string());
}

TEST_F(TamperTest, DuplicateSequenceWithOtherBytesIsNamed) {
  // A second, different batch 5 from the same key: equivocation.
  std::string prev_payload(splitBatch(read(3))->payload);
  Sealer fork(*signer_, "00000000-0000-4000-8000-000000000001", v1::HostIdentity(),
              {4, toHex(sha256(prev_payload))}, "test");
  auto forged = fork.seal({}, {}, std::chrono::system_clock::now() - 5min);
  ASSERT_TRUE(forged.ok());
  ASSERT_TRUE(writeFileAtomic(files_[9].parent_path() / "fork.jsonl", forged->bytes).ok());
  expectDefect("duplicate_sequence", "sequence 5 appears twice with different contents");
}

TEST_F(TamperTest, ResignedWithAnotherKeyIsUnknownKey) {
  // The attacker rewrites batch 6 and signs it with their own key, linking it
  // to batch 5 so that only the key gives it away on this batch.
  auto attacker = Signer::generate();
  std::string prev_payload(splitBatch(read(4))->payload);
  Sealer forger(*attacker, "00000000-0000-4000-8000-000000000001", v1::HostIdentity(),
                {5, toHex(sha256(prev_payload))}, "test");
  v1::Record fake = testing::heartbeatRecord(std::chrono::system_clock::now() - 5min,
                                             v1::Heartbeat::STATE_RUNNING, 60000);
  auto forged = forger.seal(testing::encoded({fake}), {}, std::chrono::system_clock::now() - 5min);
  ASSERT_TRUE(forged.ok());
  write(5, forged->bytes);
  expectDefect("unknown_key", "batch 6 is signed by key " + attacker->keyId().substr(0, 16));
  // And the real batch 7 no longer links to what is stored as batch 6.
  expectDefect("broken_chain", "batch 7 does not link to batch 6");
}

TEST_F(TamperTest, TruncatedFileIsTruncated) {
  std::string bytes = read(6);
  write(6, bytes.substr(0, bytes.size() / 2));
  expectDefect("truncated", "batch 7 is damaged: truncated");
}

TEST_F(TamperTest, FileCutAtALineBoundaryIsTruncated) {
  std::string bytes = read(6);
  size_t seal_start = bytes.rfind('\n', bytes.size() - 2) + 1;
  write(6, bytes.substr(0, seal_start));
  expectDefect("truncated", "batch 7 has no seal");
}

TEST_F(TamperTest, PinnedKeyCatchesAWholeForgedChain) {
  // Replace everything with a chain from another key: self-consistent, so
  // only a pinned key can tell.
  fs::remove_all(dir_ / "evidence");
  auto attacker = Signer::generate();
  testing::writeChain(*attacker, dir_ / "evidence", {.batches = 3});
  std::string pub = dir_.write("real.pub", signer_->publicKeyPem()).string();
  auto trusting = verify();
  EXPECT_EQ(trusting.exit_code, 0);
  EXPECT_NE(trusting.out.find("trusted on first use"), std::string::npos) << trusting.out;
  auto pinned = verify({"--key", pub});
  EXPECT_EQ(pinned.exit_code, 1);
  EXPECT_NE(pinned.out.find("unknown_key: batch 1 is signed by key"), std::string::npos)
      << pinned.out;
}

TEST_F(TamperTest, JsonOutputListsDefects) {
  fs::remove(files_[4]);
  auto r = verify({"--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("\"kind\": \"missing_batches\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"ok\": false"), std::string::npos);
}

}  // namespace
}  // namespace demarc::evidence
