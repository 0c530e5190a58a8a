#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/batch.h"
#include "agent/evidence/journal.h"
#include "agent/evidence/sealer.h"
#include "agent/evidence/sink.h"

namespace demarc::evidence {

struct PipelineOptions {
  uint32_t batch_max_records = 10000;
  std::chrono::nanoseconds batch_max_age = std::chrono::seconds(1);
  uint32_t max_pending_records = 100000;
  // Retry backoff for a failing sink: capped exponential with full jitter.
  std::chrono::milliseconds retry_initial = std::chrono::milliseconds(200);
  std::chrono::milliseconds retry_max = std::chrono::seconds(60);
};

struct SinkStats {
  std::string name;
  uint64_t delivered = 0;
  uint64_t backlog = 0;
  uint64_t failures = 0;  // deliveries that failed (and were retried)
  // How long the oldest batch it does not have has waited; none when it has all.
  std::optional<std::chrono::nanoseconds> oldest_undelivered;
};

struct PipelineStats {
  uint64_t batches_sealed = 0;
  uint64_t records_sealed = 0;
  uint64_t records_dropped = 0;
  uint64_t pending = 0;
  uint64_t journal_batches = 0;
  uint64_t journal_bytes = 0;
  std::vector<SinkStats> sinks;
};

// Records in, sealed batches out to every sink: one sealing thread that
// batches, signs and journals; one delivery thread per sink that ships from
// its journal cursor. Loss is never silent: records that cannot be sealed are
// counted in the next header's drop counters and described by a gap record.
class Pipeline {
 public:
  Pipeline(PipelineOptions options, Sealer& sealer, Journal& journal,
           std::vector<std::unique_ptr<Sink>> sinks, const Clock& clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();
  // Thread-safe. Encodes on the caller's thread. False when the record was
  // dropped (pipeline stopping, or too many records pending); it is counted.
  bool submit(const v1::Record& record);
  // Losses found elsewhere (ring buffers, rate limits), reported in the next
  // batch header.
  void addDrops(const std::string& source, uint64_t count);
  // Seals everything pending, delivers what it can within drain_timeout,
  // then stops the threads. Records submitted after stop() are dropped.
  void stop(std::chrono::milliseconds drain_timeout);

  PipelineStats stats() const;
  // Called on the sealing thread after each batch is durable.
  void onSealed(std::function<void(const SealedBatch&)> callback) {
    on_sealed_ = std::move(callback);
  }
  // Called on a delivery thread after a sink has a batch.
  void onDelivered(std::function<void(const Sink&, const StoredBatch&)> callback) {
    on_delivered_ = std::move(callback);
  }

 private:
  struct SinkState {
    std::unique_ptr<Sink> sink;
    std::thread thread;
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> failures{0};
  };
  // Records lost while the journal was full or failing, sealed later.
  struct OpenGap {
    std::string reason;
    std::string detail;
    SystemTime from;
    SystemTime to;
    uint64_t records = 0;
    std::map<std::string, uint64_t> by_kind;
  };

  void sealLoop();
  // Seals records (after the open gap's record, if any). What is lost if
  // the batch cannot be stored is counted: the records, not the gap
  // record, which stays open and grows.
  void sealOne(const RecordBuffer& records);
  void recordLoss(const RecordBuffer& records, const std::string& reason,
                  const std::string& detail);
  void deliverLoop(SinkState& state);
  bool sleepUnlessStopped(std::chrono::milliseconds delay);

  PipelineOptions options_;
  Sealer& sealer_;
  Journal& journal_;
  const Clock& clock_;
  std::vector<std::unique_ptr<SinkState>> sinks_;
  std::function<void(const SealedBatch&)> on_sealed_;
  std::function<void(const Sink&, const StoredBatch&)> on_delivered_;

  mutable std::mutex mu_;
  std::condition_variable seal_cv_;
  std::condition_variable deliver_cv_;
  RecordBuffer pending_;
  MonoTime oldest_pending_{};
  DropCounters drops_;
  bool accepting_ = true;
  bool sealing_done_ = false;
  bool stop_delivery_ = false;
  std::thread seal_thread_;

  // Sealing thread only.
  std::optional<OpenGap> gap_;
  RecordBuffer sealing_;  // the batch being sealed; its buffers are reused
  static constexpr size_t kKeptBufferBytes = 8 << 20;

  std::atomic<uint64_t> batches_sealed_{0};
  std::atomic<uint64_t> records_sealed_{0};
  std::atomic<uint64_t> records_dropped_{0};
};

}  // namespace demarc::evidence
