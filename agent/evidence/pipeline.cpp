#include "agent/evidence/pipeline.h"

#include <spdlog/spdlog.h>

#include <random>

#include "agent/evidence/codec.h"
#include "agent/evidence/json.h"

namespace demarc::evidence {

Pipeline::Pipeline(PipelineOptions options, Sealer& sealer, Journal& journal,
                   std::vector<std::unique_ptr<Sink>> sinks, const Clock& clock)
    : options_(options), sealer_(sealer), journal_(journal), clock_(clock) {
  for (auto& sink : sinks) {
    // What a destination refuses for good is declared in a gap record,
    // sealed like any other record.
    sink->onLoss([this, name = std::string(sink->name())](const SinkLoss& loss) {
      v1::Record record;
      *record.mutable_time() = toTimestamp(clock_.now());
      v1::Gap& gap = *record.mutable_gap();
      gap.set_reason(loss.reason);
      gap.set_detail("sink " + name + ": " + loss.detail);
      *gap.mutable_from() = toTimestamp(loss.from);
      *gap.mutable_to() = toTimestamp(loss.to);
      gap.set_records_lost(loss.records);
      spdlog::warn("sink {}: {} records refused ({}): {}", name, loss.records, loss.reason,
                   loss.detail);
      submit(record);
    });
    auto state = std::make_unique<SinkState>();
    state->sink = std::move(sink);
    sinks_.push_back(std::move(state));
  }
  if (auto corrupt = journal_.corruptAnchor()) {
    gap_ = OpenGap{.reason = "journal_corrupt",
                   .detail = "journal batch " + std::to_string(*corrupt) +
                             " was damaged on disk and set aside; the chain restarts after it",
                   .from = clock_.now(),
                   .to = clock_.now(),
                   .records = 0,
                   .by_kind = {}};
  }
}

Pipeline::~Pipeline() { stop(std::chrono::milliseconds(0)); }

void Pipeline::start() {
  seal_thread_ = std::thread([this] { sealLoop(); });
  for (auto& state : sinks_) {
    SinkState* s = state.get();
    s->thread = std::thread([this, s] { deliverLoop(*s); });
  }
}

bool Pipeline::submit(const v1::Record& record) {
  // Encoded on the caller's thread into a buffer that thread keeps, then
  // copied in under the lock: no allocation per record.
  thread_local std::string line;
  line.clear();
  SystemTime time;
  if (record.has_time()) {
    time = fromTimestamp(record.time());
    appendJson(record, line);
  } else {
    v1::Record timed = record;
    *timed.mutable_time() = toTimestamp(clock_.now());
    time = fromTimestamp(timed.time());
    appendJson(timed, line);
  }
  std::lock_guard lock(mu_);
  if (!accepting_ || pending_.size() >= options_.max_pending_records) {
    drops_[std::string("pipeline.") + (accepting_ ? "pending_full" : "stopping")] += 1;
    records_dropped_ += 1;
    return false;
  }
  bool was_empty = pending_.empty();
  if (was_empty) oldest_pending_ = clock_.monotonic();
  pending_.add(line, time, recordKind(record));
  // The sealing thread sleeps until the first record arrives (to start the
  // age timer) or a batch is full.
  if (was_empty || pending_.size() >= options_.batch_max_records) seal_cv_.notify_one();
  return true;
}

void Pipeline::addDrops(const std::string& source, uint64_t count) {
  if (count == 0) return;
  std::lock_guard lock(mu_);
  drops_[source] += count;
}

void Pipeline::sealLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (pending_.empty()) {
      if (!accepting_) break;
      seal_cv_.wait(lock, [&] { return !pending_.empty() || !accepting_; });
      continue;
    }
    bool full = pending_.size() >= options_.batch_max_records;
    bool due = clock_.monotonic() - oldest_pending_ >= options_.batch_max_age;
    if (!full && !due && accepting_) {
      seal_cv_.wait_until(lock, oldest_pending_ + options_.batch_max_age, [&] {
        return pending_.size() >= options_.batch_max_records || !accepting_;
      });
      continue;
    }
    // The records change hands by swapping buffers: the recording threads
    // go on filling the one the last batch was built from.
    if (pending_.size() <= options_.batch_max_records) {
      sealing_.swap(pending_);
    } else {
      pending_.moveFront(options_.batch_max_records, sealing_);
      oldest_pending_ = clock_.monotonic();
    }
    lock.unlock();
    sealOne(sealing_);
    sealing_.clear();
    // A buffer grown by a burst is not kept for ever.
    if (sealing_.capacityBytes() > kKeptBufferBytes) sealing_ = RecordBuffer();
    lock.lock();
  }
  sealing_done_ = true;
  deliver_cv_.notify_all();
}

void Pipeline::sealOne(const RecordBuffer& records) {
  DropCounters drops;
  {
    std::lock_guard lock(mu_);
    drops.swap(drops_);
  }
  auto restore_drops = [&] {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : drops) drops_[k] += v;
  };
  SystemTime now = clock_.now();
  // A loss not yet declared goes first into the next batch that is stored.
  RecordBuffer with_gap;
  if (gap_) {
    v1::Record record;
    *record.mutable_time() = toTimestamp(now);
    v1::Gap& gap = *record.mutable_gap();
    gap.set_reason(gap_->reason);
    gap.set_detail(gap_->detail);
    *gap.mutable_from() = toTimestamp(gap_->from);
    *gap.mutable_to() = toTimestamp(gap_->to);
    gap.set_records_lost(gap_->records);
    for (const auto& [kind, count] : gap_->by_kind) (*gap.mutable_lost_by_kind())[kind] = count;
    with_gap.add(encodeRecord(record), now, "gap");
    with_gap.addAll(records);
  }
  const RecordBuffer& sealed = gap_ ? with_gap : records;

  auto batch = sealer_.seal(sealed, drops, now);
  if (!batch.ok()) {
    restore_drops();
    recordLoss(records, "seal_failed", batch.error().message());
    spdlog::error("sealing failed, {} records lost (counted): {}", records.size(),
                  batch.error().message());
    return;
  }
  if (!journal_.hasRoom(batch->bytes.size())) {
    restore_drops();
    recordLoss(records, "journal_full",
               "the journal reached its cap of " + std::to_string(journal_.maxBytes()) +
                   " bytes because sinks are behind");
    return;
  }
  auto stored = journal_.append(*batch);
  if (!stored.ok()) {
    restore_drops();
    recordLoss(records, "journal_write_failed", stored.error().message());
    spdlog::error("journal write failed, {} records lost (counted): {}", records.size(),
                  stored.error().message());
    return;
  }
  sealer_.advance(*batch);
  if (gap_) {
    spdlog::warn("sealed a gap record: {} records lost ({}) between {} and {}", gap_->records,
                 gap_->reason, formatTime(gap_->from), formatTime(gap_->to));
    gap_.reset();
  }
  batches_sealed_ += 1;
  records_sealed_ += sealed.size();
  if (on_sealed_) on_sealed_(*batch);
  journal_.keepNewest(std::move(*batch));
  deliver_cv_.notify_all();
}

void Pipeline::recordLoss(const RecordBuffer& records, const std::string& reason,
                          const std::string& detail) {
  SystemTime now = clock_.now();
  if (!gap_) {
    gap_ = OpenGap{
        .reason = reason, .detail = detail, .from = now, .to = now, .records = 0, .by_kind = {}};
    spdlog::warn("evidence is being lost ({}): {}", reason, detail);
  }
  for (const auto& r : records.entries()) {
    gap_->from = std::min(gap_->from, r.time);
    gap_->by_kind[std::string(r.kind)] += 1;
  }
  gap_->to = now;
  gap_->records += records.size();
  records_dropped_ += records.size();
  std::lock_guard lock(mu_);
  drops_["pipeline." + reason] += records.size();
}

bool Pipeline::sleepUnlessStopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return !deliver_cv_.wait_for(lock, delay, [&] { return stop_delivery_; });
}

void Pipeline::deliverLoop(SinkState& state) {
  const std::string name(state.sink->name());
  std::mt19937_64 rng(std::random_device{}());
  std::chrono::milliseconds backoff = options_.retry_initial;
  for (;;) {
    auto next = journal_.nextFor(name);
    if (!next) {
      std::unique_lock lock(mu_);
      if (stop_delivery_ || sealing_done_) break;
      deliver_cv_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (stop_delivery_) break;
    }
    auto batch = journal_.read(*next);
    Status delivered = batch.ok() ? state.sink->deliver(**batch) : Status(batch.error());
    if (delivered.ok()) delivered = journal_.acknowledge(name, *next);
    if (!delivered.ok()) {
      state.failures += 1;
      // Full jitter: a random wait in [0, backoff], so a fleet of agents does
      // not retry in step.
      std::uniform_int_distribution<int64_t> jitter(0, backoff.count());
      auto wait = std::chrono::milliseconds(jitter(rng));
      spdlog::warn("sink {}: batch {} not delivered, retrying in {} ms: {}", name, *next,
                   wait.count(), delivered.error().message());
      backoff = std::min(backoff * 2, options_.retry_max);
      if (!sleepUnlessStopped(wait)) break;
      continue;
    }
    backoff = options_.retry_initial;
    state.delivered += 1;
    if (on_delivered_) on_delivered_(*state.sink, **batch);
  }
}

void Pipeline::stop(std::chrono::milliseconds drain_timeout) {
  {
    std::lock_guard lock(mu_);
    accepting_ = false;
  }
  seal_cv_.notify_all();
  if (seal_thread_.joinable()) seal_thread_.join();
  // Deliver what is journaled, within the drain time; the rest stays in the
  // journal and goes out on the next start.
  auto deadline = std::chrono::steady_clock::now() + drain_timeout;
  for (auto& state : sinks_) {
    while (state->thread.joinable() && journal_.nextFor(std::string(state->sink->name())) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  {
    std::lock_guard lock(mu_);
    stop_delivery_ = true;
    sealing_done_ = true;
  }
  deliver_cv_.notify_all();
  for (auto& state : sinks_) {
    if (state->thread.joinable()) state->thread.join();
  }
}

PipelineStats Pipeline::stats() const {
  PipelineStats out;
  out.batches_sealed = batches_sealed_;
  out.records_sealed = records_sealed_;
  out.records_dropped = records_dropped_;
  {
    std::lock_guard lock(mu_);
    out.pending = pending_.size();
  }
  out.journal_batches = journal_.batchCount();
  out.journal_bytes = journal_.byteCount();
  for (const auto& state : sinks_) {
    std::string name(state->sink->name());
    SinkStats sink{name, state->delivered, journal_.backlog(name), state->failures, std::nullopt};
    if (auto oldest = journal_.oldestUndelivered(name)) {
      sink.oldest_undelivered = std::max(clock_.now() - *oldest, SystemTime::duration::zero());
    }
    out.sinks.push_back(std::move(sink));
  }
  return out;
}

}  // namespace demarc::evidence
