#include "tests/support/evidence_fixture.h"

#include <stdexcept>

#include "agent/evidence/codec.h"
#include "agent/evidence/identity.h"
#include "agent/evidence/sealer.h"
#include "agent/sinks/directory_sink.h"

namespace demarc::testing {

evidence::RecordBuffer encoded(const std::vector<v1::Record>& records) {
  evidence::RecordBuffer out;
  for (const auto& r : records) {
    out.add(evidence::encodeRecord(r), evidence::fromTimestamp(r.time()), evidence::recordKind(r));
  }
  return out;
}

v1::Record heartbeatRecord(SystemTime t, v1::Heartbeat::State state, uint64_t interval_ms) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(t);
  r.mutable_heartbeat()->set_state(state);
  r.mutable_heartbeat()->set_interval_ms(interval_ms);
  return r;
}

std::vector<std::filesystem::path> writeChain(const evidence::Signer& signer,
                                              const std::filesystem::path& root,
                                              const ChainSpec& spec) {
  v1::HostIdentity host;
  host.set_hostname("test-host");
  host.set_machine_id("0123456789abcdef0123456789abcdef");
  evidence::Sealer sealer(signer, spec.agent_id, host, {}, "test");
  sinks::DirectorySink sink(root, false);
  std::vector<std::filesystem::path> files;
  for (int i = 0; i < spec.batches; ++i) {
    SystemTime t = spec.start + i * spec.spacing;
    std::vector<v1::Record> records;
    if (i == 0) records.push_back(evidence::makeEnrollment(signer, spec.agent_id, host, t));
    bool last = i + 1 == spec.batches;
    auto state = last && spec.clean_stop
                     ? v1::Heartbeat::STATE_STOPPING
                     : (i == 0 ? v1::Heartbeat::STATE_STARTED : v1::Heartbeat::STATE_RUNNING);
    records.push_back(heartbeatRecord(t, state, 60000));
    for (int k = 1; k < spec.records_per_batch; ++k) {
      v1::Record r;
      *r.mutable_time() = evidence::toTimestamp(t);
      r.mutable_inventory()->set_kind("test");
      r.mutable_inventory()->set_name("item-" + std::to_string(i) + "-" + std::to_string(k));
      records.push_back(r);
    }
    auto batch = sealer.seal(encoded(records), {}, t);
    if (!batch.ok()) throw std::runtime_error(batch.error().message());
    sealer.advance(*batch);
    evidence::StoredBatch stored{batch->sequence, batch->bytes, batch->digest, batch->header};
    auto st = sink.deliver(stored);
    if (!st.ok()) throw std::runtime_error(st.error().message());
    files.push_back(root / sinks::DirectorySink::relativePath(stored));
  }
  return files;
}

evidence::StoredBatch storedBatch(uint64_t sequence, const std::string& bytes) {
  evidence::StoredBatch b;
  b.sequence = sequence;
  b.bytes = bytes;
  b.digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  b.header.set_sequence(sequence);
  auto& host = *b.header.mutable_host();
  host.set_instance_id("i-0abc");
  host.set_account_id("123456789012");
  host.set_region("eu-west-1");
  *b.header.mutable_last_time() =
      evidence::toTimestamp(SystemTime(std::chrono::seconds(1764539225)));  // 2025-11-30
  return b;
}

}  // namespace demarc::testing
