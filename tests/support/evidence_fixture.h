#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/batch.h"
#include "agent/evidence/record.pb.h"
#include "agent/evidence/signer.h"
#include "agent/evidence/sink.h"

namespace demarc::testing {

struct ChainSpec {
  int batches = 5;
  SystemTime start = std::chrono::system_clock::now() - std::chrono::seconds(30);
  std::chrono::milliseconds spacing{1000};  // time between batches
  int records_per_batch = 3;
  bool clean_stop = true;  // last batch holds a STOPPING heartbeat
  std::string agent_id = "00000000-0000-4000-8000-000000000001";
};

// Seals a chain the way the agent does (Sealer, enrollment in batch 1,
// heartbeats every batch) and files it with the directory sink under root.
// Returns the batch files in sequence order.
std::vector<std::filesystem::path> writeChain(const evidence::Signer& signer,
                                              const std::filesystem::path& root,
                                              const ChainSpec& spec = {});

// A stored batch as sinks get it, with fixed identity and digest: instance
// i-0abc of account 123456789012 in eu-west-1, newest record 2025-11-30.
evidence::StoredBatch storedBatch(uint64_t sequence, const std::string& bytes);

// Encodes records for the sealer.
// The records encoded, as the pipeline hands them to the sealer.
evidence::RecordBuffer encoded(const std::vector<v1::Record>& records);
v1::Record heartbeatRecord(SystemTime t, v1::Heartbeat::State state, uint64_t interval_ms);

}  // namespace demarc::testing
