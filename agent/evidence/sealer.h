#pragma once

#include <string>

#include "agent/core/result.h"
#include "agent/evidence/batch.h"
#include "agent/evidence/signer.h"

namespace demarc::evidence {

// Turns records into signed, chained batches. Passive and single-threaded:
// the pipeline decides when to seal and only advances the chain once a batch
// is durable, so a batch that could not be stored never consumes a sequence
// number.
class Sealer {
 public:
  Sealer(const Signer& signer, std::string agent_id, v1::HostIdentity host, ChainPosition start,
         std::string agent_version);

  // Builds and signs the next batch. The header is the first payload line,
  // the seal (DSSE signature, payload detached) the last line.
  Result<SealedBatch> seal(const RecordBuffer& records, const DropCounters& drops,
                           SystemTime now) const;
  // Moves the chain past batch (call once it is durable).
  void advance(const SealedBatch& batch);

  const ChainPosition& position() const { return position_; }
  const std::string& agentId() const { return agent_id_; }
  const v1::HostIdentity& host() const { return host_; }

 private:
  const Signer& signer_;
  std::string agent_id_;
  v1::HostIdentity host_;
  ChainPosition position_;
  std::string agent_version_;
};

}  // namespace demarc::evidence
