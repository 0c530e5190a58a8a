#include "agent/evidence/sealer.h"

#include <gtest/gtest.h>

#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"
#include "tests/support/evidence_fixture.h"

namespace demarc::evidence {
namespace {

using namespace std::chrono_literals;

class SealerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Signer::generate();
    ASSERT_TRUE(s.ok());
    signer_ = std::make_unique<Signer>(std::move(*s));
    host_.set_hostname("h1");
  }
  std::unique_ptr<Signer> signer_;
  v1::HostIdentity host_;
  SystemTime t0_ = SystemTime(1700000000s);
};

TEST_F(SealerTest, HeaderCarriesContractFields) {
  Sealer sealer(*signer_, "agent-1", host_, {}, "1.2.3");
  std::vector<EncodedRecord> records = {
      testing::encoded(testing::heartbeatRecord(t0_ + 2s, v1::Heartbeat::STATE_RUNNING, 1000)),
      testing::encoded(testing::heartbeatRecord(t0_ + 1s, v1::Heartbeat::STATE_RUNNING, 1000))};
  auto batch = sealer.seal(records, {{"probe.exec", 7}, {"zero", 0}}, t0_ + 3s);
  ASSERT_TRUE(batch.ok());
  const v1::BatchHeader& h = batch->header;
  EXPECT_EQ(h.agent_id(), "agent-1");
  EXPECT_EQ(h.key_id(), signer_->keyId());
  EXPECT_EQ(h.host().hostname(), "h1");
  EXPECT_EQ(h.sequence(), 1u);
  EXPECT_EQ(h.prev_digest(), "");
  EXPECT_EQ(h.record_count(), 2u);
  EXPECT_EQ(fromTimestamp(h.first_time()), t0_ + 1s);
  EXPECT_EQ(fromTimestamp(h.last_time()), t0_ + 2s);
  EXPECT_EQ(h.drops().at("probe.exec"), 7u);
  EXPECT_EQ(h.drops().count("zero"), 0u);  // only real losses are listed
  EXPECT_EQ(h.agent_version(), "1.2.3");
}

TEST_F(SealerTest, BytesAreHeaderRecordsSealAndSignatureVerifies) {
  Sealer sealer(*signer_, "agent-1", host_, {}, "v");
  std::vector<EncodedRecord> records = {
      testing::encoded(testing::heartbeatRecord(t0_, v1::Heartbeat::STATE_RUNNING, 1000))};
  auto batch = sealer.seal(records, {}, t0_);
  ASSERT_TRUE(batch.ok());
  auto view = splitBatch(batch->bytes);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->lines.size(), 2u);
  EXPECT_EQ(view->lines[1], records[0].line);
  EXPECT_EQ(view->payload.size(), batch->payload_size);
  EXPECT_EQ(batch->digest, toHex(sha256(view->payload)));
  auto seal = decodeRecord(view->seal_line);
  ASSERT_TRUE(seal.ok() && seal->has_seal());
  EXPECT_EQ(seal->seal().payload_sha256(), batch->digest);
  EXPECT_EQ(seal->seal().payload_type(), kBatchPayloadType);
  auto sig = base64Decode(seal->seal().signatures(0).sig());
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(verifyEd25519(signer_->publicKeyRaw(),
                            preAuthEncoding(kBatchPayloadType, view->payload), *sig));
}

TEST_F(SealerTest, ChainAdvancesOnlyWhenTold) {
  Sealer sealer(*signer_, "a", host_, {}, "v");
  auto b1 = sealer.seal({}, {}, t0_);
  auto again = sealer.seal({}, {}, t0_ + 1s);
  EXPECT_EQ(again->sequence, 1u);  // not advanced: same sequence reused
  sealer.advance(*b1);
  auto b2 = sealer.seal({}, {}, t0_ + 2s);
  EXPECT_EQ(b2->sequence, 2u);
  EXPECT_EQ(b2->header.prev_digest(), b1->digest);
}

TEST_F(SealerTest, ContinuesFromRecoveredPosition) {
  Sealer sealer(*signer_, "a", host_, {41, "abcd"}, "v");
  auto b = sealer.seal({}, {}, t0_);
  EXPECT_EQ(b->sequence, 42u);
  EXPECT_EQ(b->header.prev_digest(), "abcd");
}

TEST_F(SealerTest, SameInputsGiveSameBytes) {
  // Ed25519 is deterministic: a batch rebuilt from the same records is
  // byte-identical, which is what makes retries idempotent.
  Sealer sealer(*signer_, "a", host_, {}, "v");
  std::vector<EncodedRecord> records = {
      testing::encoded(testing::heartbeatRecord(t0_, v1::Heartbeat::STATE_RUNNING, 1000))};
  EXPECT_EQ(sealer.seal(records, {}, t0_)->bytes, sealer.seal(records, {}, t0_)->bytes);
}

}  // namespace
}  // namespace demarc::evidence
