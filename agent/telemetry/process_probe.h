#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "agent/core/result.h"
#include "agent/telemetry/libbpf_util.h"
#include "agent/telemetry/process_events.h"

struct process_bpf;
struct ring_buffer;

namespace demarc::telemetry {

struct ProcessProbeOptions {
  uint32_t ring_buffer_bytes = 4u << 20;  // rounded up to a power of two, at least a page
  uint32_t self_tgid = 0;                 // activity of this process is not reported
  std::optional<Hook> only_hook;          // try just this set of hooks (tests)
};

// Events the ring buffer could not take, by CPU and event type (index:
// 1 exec, 2 argument chunk, 3 fork, 4 exit).
struct DropCounters {
  std::vector<std::array<uint64_t, 5>> per_cpu;
  uint64_t total() const;
};

// The process probe (probes/process.bpf.c): exec with arguments and working
// directory, fork and exit. Owns its skeleton and ring buffer; decodes
// records through ProcessDecoder.
class ProcessProbe {
 public:
  static Result<std::unique_ptr<ProcessProbe>> open(const ProcessProbeOptions& options);
  ~ProcessProbe();
  ProcessProbe(const ProcessProbe&) = delete;
  ProcessProbe& operator=(const ProcessProbe&) = delete;

  Hook hook() const { return hook_; }
  // Waits up to timeout for records and hands out the events they complete.
  Result<int> poll(std::chrono::milliseconds timeout, const ProcessDecoder::Sink& sink);
  Result<DropCounters> drops() const;
  uint64_t malformed() const { return decoder_.malformed(); }

 private:
  struct SkeletonDeleter {
    void operator()(process_bpf* skel) const;
  };
  struct RingBufferDeleter {
    void operator()(ring_buffer* rb) const;
  };
  ProcessProbe();
  static int onSample(void* ctx, void* data, size_t size);

  std::unique_ptr<process_bpf, SkeletonDeleter> skel_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
  Hook hook_ = Hook::kTpBtf;
  const ProcessDecoder::Sink* sink_ = nullptr;
  ProcessDecoder decoder_;
};

}  // namespace demarc::telemetry
