#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "agent/evidence/pipeline.h"
#include "agent/telemetry/process_probe.h"

namespace demarc::cli {

// Seals the process probe's events as evidence records on its own thread,
// and declares what the ring buffer dropped (per event type) in the next
// batch header through the pipeline.
class ProcessRecorder {
 public:
  ProcessRecorder(std::unique_ptr<telemetry::ProcessProbe> probe, evidence::Pipeline& pipeline,
                  std::string boot_id);
  ~ProcessRecorder();  // stops the thread; events still in the ring are read first
  ProcessRecorder(const ProcessRecorder&) = delete;
  ProcessRecorder& operator=(const ProcessRecorder&) = delete;

 private:
  void loop();
  void reportDrops();

  std::unique_ptr<telemetry::ProcessProbe> probe_;
  evidence::Pipeline& pipeline_;
  std::string boot_id_;
  std::array<uint64_t, 5> reported_drops_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once everything above exists
};

// The evidence record of one event; exec ids are BOOT_ID-PID-NS_SINCE_BOOT.
v1::Record toRecord(const telemetry::ProcessEvent& event, const std::string& boot_id);

}  // namespace demarc::cli
