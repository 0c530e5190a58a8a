#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "agent/config/config.pb.h"
#include "agent/evidence/pipeline.h"
#include "agent/telemetry/binary_hashes.h"
#include "agent/telemetry/process_cache.h"
#include "agent/telemetry/telemetry_probe.h"

namespace demarc::cli {

// Seals the telemetry probe's events as evidence records on its own thread,
// each with the exec id of its process (and an exec's ancestry) from a
// process cache seeded from /proc, and declares what the ring buffer
// dropped or the rate limit held back (per event type) in the next batch
// header through the pipeline.
struct RecorderSettings {
  std::string boot_id;
  size_t ancestry_depth = 8;
  std::chrono::nanoseconds udp_flow_interval = std::chrono::minutes(1);
  bool hash_executables = false;
};

class EventRecorder {
 public:
  EventRecorder(std::unique_ptr<telemetry::TelemetryProbe> probe, evidence::Pipeline& pipeline,
                const RecorderSettings& settings);
  ~EventRecorder();  // stops the thread; events still in the ring are read first
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

 private:
  void loop();
  void reportDrops();

  std::unique_ptr<telemetry::TelemetryProbe> probe_;
  evidence::Pipeline& pipeline_;
  telemetry::ProcessCache cache_;
  size_t ancestry_depth_;
  std::chrono::nanoseconds udp_flow_interval_;
  std::optional<telemetry::BinaryHashes> hashes_;
  std::array<uint64_t, telemetry::kEventTypes> reported_drops_{};
  std::array<uint64_t, telemetry::kEventTypes> reported_throttled_{};
  uint64_t reported_evictions_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once everything above exists
};

// The probe options config asks for: features, ring size, filters (cgroup
// paths resolved to ids under the cgroup2 mount); errors name the field.
Result<telemetry::TelemetryProbeOptions> probeOptions(const config::v1::Telemetry& config,
                                                      uint32_t self_tgid);

// Fills `record` (empty) with the evidence record of one event, already
// applied to `cache`: exec ids and ancestry (up to `depth`) come from it.
void toRecord(const telemetry::Event& event, const telemetry::ProcessCache& cache, size_t depth,
              v1::Record& record);

}  // namespace demarc::cli
