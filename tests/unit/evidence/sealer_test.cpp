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
  RecordBuffer records =
      testing::encoded({testing::heartbeatRecord(t0_ + 2s, v1::Heartbeat::STATE_RUNNING, 1000),
                        testing::heartbeatRecord(t0_ + 1s, v1::Heartbeat::STATE_RUNNING, 1000)});
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
  RecordBuffer records =
      testing::encoded({testing::heartbeatRecord(t0_, v1::Heartbeat::STATE_RUNNING, 1000)});
  auto batch = sealer.seal(records, {}, t0_);
  ASSERT_TRUE(batch.ok());
  auto view = splitBatch(batch->bytes);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->lines.size(), 2u);
  EXPECT_EQ(view->lines[1], records.line(0));
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
  RecordBuffer records =
      testing::encoded({testing::heartbeatRecord(t0_, v1::Heartbeat::STATE_RUNNING, 1000)});
  EXPECT_EQ(sealer.seal(records, {}, t0_)->bytes, sealer.seal(records, {}, t0_)->bytes);
}

TEST(RecordBufferTest, KeepsLinesTimesAndKindsAndMovesTheFrontAcross) {
  RecordBuffer a;
  SystemTime t0(std::chrono::seconds(1700000000));
  for (int i = 0; i < 5; ++i) a.add("{\"n\":" + std::to_string(i) + "}", t0 + i * 1s, "k");
  EXPECT_EQ(a.lines(), "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
  EXPECT_EQ(a.line(0), "{\"n\":0}");
  EXPECT_EQ(a.line(4), "{\"n\":4}");

  RecordBuffer b;
  b.add("first", t0, "gap");
  a.moveFront(2, b);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.lines(), "first\n{\"n\":0}\n{\"n\":1}\n");
  EXPECT_EQ(b.line(2), "{\"n\":1}");
  EXPECT_EQ(b.entries()[2].time, t0 + 1s);
  EXPECT_EQ(b.entries()[0].kind, "gap");
  ASSERT_EQ(a.size(), 3u);  // the rest stays, its offsets moved with it
  EXPECT_EQ(a.line(0), "{\"n\":2}");
  EXPECT_EQ(a.line(2), "{\"n\":4}");
  EXPECT_EQ(a.entries()[0].time, t0 + 2s);

  a.moveFront(10, b);  // more than there is: all of it
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.lines(), "");
  EXPECT_EQ(b.size(), 6u);
  EXPECT_EQ(b.line(5), "{\"n\":4}");

  RecordBuffer c;
  c.addAll(b);
  EXPECT_EQ(c.lines(), b.lines());
  EXPECT_EQ(c.size(), b.size());
  size_t capacity = c.capacityBytes();
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.capacityBytes(), capacity);  // cleared, it keeps its buffer
  c.swap(b);
  EXPECT_EQ(c.size(), 6u);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace demarc::evidence
