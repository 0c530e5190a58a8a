#include "agent/evidence/sealer.h"

#include <algorithm>

#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"

namespace demarc::evidence {

Sealer::Sealer(const Signer& signer, std::string agent_id, v1::HostIdentity host,
               ChainPosition start, std::string agent_version)
    : signer_(signer),
      agent_id_(std::move(agent_id)),
      host_(std::move(host)),
      position_(std::move(start)),
      agent_version_(std::move(agent_version)) {}

Result<SealedBatch> Sealer::seal(const RecordBuffer& records, const DropCounters& drops,
                                 SystemTime now) const {
  SealedBatch batch;
  batch.sequence = position_.last_sequence + 1;
  batch.sealed_time = now;

  SystemTime first = now;
  SystemTime last = now;
  if (!records.empty()) {
    auto [lo, hi] =
        std::minmax_element(records.entries().begin(), records.entries().end(),
                            [](const auto& a, const auto& b) { return a.time < b.time; });
    first = lo->time;
    last = hi->time;
  }

  v1::Record header_record;
  *header_record.mutable_time() = toTimestamp(now);
  v1::BatchHeader& header = *header_record.mutable_header();
  header.set_agent_id(agent_id_);
  header.set_key_id(signer_.keyId());
  *header.mutable_host() = host_;
  header.set_sequence(batch.sequence);
  header.set_prev_digest(position_.last_digest);
  *header.mutable_first_time() = toTimestamp(first);
  *header.mutable_last_time() = toTimestamp(last);
  header.set_record_count(static_cast<uint32_t>(records.size()));
  for (const auto& [source, count] : drops) {
    if (count > 0) (*header.mutable_drops())[source] = count;
  }
  header.set_agent_version(agent_version_);

  const size_t total = records.lines().size();
  std::string header_line = encodeRecord(header_record);
  const size_t payload_size = header_line.size() + 1 + total;
  // The payload is built right after its pre-authentication prefix, signed
  // in place, and the prefix then taken off: no second copy of a batch that
  // can be megabytes.
  const std::string prefix = preAuthPrefix(kBatchPayloadType, payload_size);
  std::string& out = batch.bytes;
  out.reserve(prefix.size() + payload_size + 512);
  out += prefix;
  out += header_line;
  out += '\n';
  out += records.lines();
  batch.payload_size = payload_size;
  batch.digest = toHex(sha256(std::string_view(out).substr(prefix.size())));
  DEMARC_ASSIGN_OR_RETURN(std::string sig, signer_.sign(out));
  out.erase(0, prefix.size());

  v1::Record seal_record;
  *seal_record.mutable_time() = toTimestamp(now);
  v1::Seal& seal = *seal_record.mutable_seal();
  seal.set_payload_type(std::string(kBatchPayloadType));
  seal.set_payload_sha256(batch.digest);
  v1::Signature& signature = *seal.add_signatures();
  signature.set_keyid(signer_.keyId());
  signature.set_sig(base64Encode(sig));
  out += encodeRecord(seal_record);
  out += '\n';

  batch.header = std::move(header);
  return batch;
}

void Sealer::advance(const SealedBatch& batch) {
  position_.last_sequence = batch.sequence;
  position_.last_digest = batch.digest;
}

}  // namespace demarc::evidence
