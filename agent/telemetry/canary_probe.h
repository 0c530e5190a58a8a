#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/result.h"
#include "agent/telemetry/libbpf_util.h"

struct canary_bpf;
struct ring_buffer;

namespace demarc::telemetry {

struct CanaryEvent {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  Hook hook = Hook::kTpBtf;
  std::string comm;
  std::string filename;
};

struct CanaryOptions {
  uint32_t filter_ppid = 0;       // only children of this process; 0 = all
  std::optional<Hook> only_hook;  // try just this hook (tests)
};

// The canary probe: proves the kernel loads demarc's CO-RE programs and
// delivers events through a ring buffer. Owns its skeleton and ring buffer.
class CanaryProbe {
 public:
  static Result<std::unique_ptr<CanaryProbe>> open(const CanaryOptions& options);
  ~CanaryProbe();
  CanaryProbe(const CanaryProbe&) = delete;
  CanaryProbe& operator=(const CanaryProbe&) = delete;

  Hook hook() const { return hook_; }
  // Waits up to timeout for events; returns how many were handled.
  Result<int> poll(std::chrono::milliseconds timeout,
                   const std::function<void(const CanaryEvent&)>& handler);
  // Events the ring buffer could not take, summed over CPUs.
  Result<uint64_t> drops() const;

 private:
  struct SkeletonDeleter {
    void operator()(canary_bpf* skel) const;
  };
  struct RingBufferDeleter {
    void operator()(ring_buffer* rb) const;
  };
  CanaryProbe() = default;
  static int onSample(void* ctx, void* data, size_t size);

  std::unique_ptr<canary_bpf, SkeletonDeleter> skel_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
  Hook hook_ = Hook::kTpBtf;
  const std::function<void(const CanaryEvent&)>* handler_ = nullptr;
};

}  // namespace demarc::telemetry
