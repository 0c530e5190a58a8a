#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/aws/aws_client.h"
#include "agent/evidence/sink.h"

namespace demarc::sinks {

struct CloudWatchSinkOptions {
  std::string log_group = "/demarc/evidence";
  std::string log_stream;       // empty: the batch's host key (instance id)
  bool create = true;           // create the group and stream (existing ones are fine)
  uint32_t retention_days = 0;  // 0: never expire
  std::string kms_key_id;       // for a group it creates
};

// Checks the options; errors name the config field (sinks.cloudwatch.*).
Status validate(const CloudWatchSinkOptions& options);

// One log event per line of a sealed batch (header, each record, seal), so
// every record is readable in Logs Insights and the batch verifiable: the
// lines rejoined are the batch, byte for byte. All events of a batch carry
// the batch's sealing time (never before the previous batch's in the
// stream), so the service, which orders by time, keeps their order. A line
// longer than an event can hold goes as numbered base64 parts
// ({"demarc_part": ...}), never cut. PutLogEvents calls stay within
// 10,000 events and 1,048,576 bytes (26 per event counted). Events the
// service rejects (too old, too new, expired) are reported as a loss.
class CloudWatchSink : public evidence::Sink {
 public:
  CloudWatchSink(CloudWatchSinkOptions options, std::unique_ptr<aws::AwsClient> client);

  std::string_view name() const override { return "cloudwatch"; }
  std::string describe() const override { return "cloudwatch://" + options_.log_group; }
  std::string where(const evidence::StoredBatch& batch) const override;
  Status deliver(const evidence::StoredBatch& batch) override;

  // The messages a batch becomes, in order.
  static std::vector<std::string> eventsOf(const evidence::StoredBatch& batch);
  static constexpr size_t kMaxMessageBytes = 256 * 1024 - 26;

 private:
  std::string streamOf(const evidence::StoredBatch& batch) const;
  Status ensureStream(const std::string& stream);
  int64_t timestampOf(const evidence::StoredBatch& batch, const std::string& stream);

  CloudWatchSinkOptions options_;
  std::unique_ptr<aws::AwsClient> client_;
  bool group_ready_ = false;
  std::set<std::string> streams_ready_;
  std::map<std::string, int64_t> last_timestamp_;  // stream -> ms
};

// Rebuilds sealed batches from the events of one stream, in stream order:
// the inverse of CloudWatchSink::eventsOf. Parts are rejoined and a batch
// runs from its header line to its seal line. Delivery is at least once, so
// a stream may hold a batch's first events twice (a call failed after some
// were stored, then the whole batch went again) or a whole batch twice (the
// agent stopped before recording the delivery): an incomplete copy followed
// by the whole batch is a redelivery, and identical whole copies are passed
// on once. Memory: the batch being rebuilt and a digest per batch.
class CloudWatchBatchJoiner {
 public:
  struct Incomplete {
    std::string name;
    std::string agent_id;  // empty when the header line was not readable
    uint64_t sequence = 0;
    uint64_t lines = 0;     // record lines seen
    uint64_t expected = 0;  // record lines its header announces
    std::string problem;
  };
  // name: "cloudwatch://GROUP/STREAM"; batches are named NAME@EVENT (the
  // index of their header event).
  CloudWatchBatchJoiner(std::string name,
                        std::function<void(const std::string& name, std::string_view bytes)> batch);

  void add(std::string_view message);
  // Ends the stream. Incomplete batches with no whole copy after them:
  // `tail` is the one the stream ends with (its delivery may be under way).
  struct Leftovers {
    std::vector<Incomplete> broken;
    std::optional<Incomplete> tail;
    uint64_t redelivered = 0;           // identical whole copies passed on once
    uint64_t partial_redeliveries = 0;  // incomplete copies a whole one followed
    std::vector<std::string> stray;     // events outside any batch
    std::string agent_id;               // of the stream's last batch header
  };
  Leftovers finish();

 private:
  void addLine(std::string_view line);
  void abandon(const std::string& problem);

  std::string name_;
  std::function<void(const std::string&, std::string_view)> batch_;
  uint64_t event_ = 0;
  // The batch being rebuilt.
  std::string bytes_;
  std::optional<Incomplete> current_;
  // A line being rebuilt from parts.
  std::string part_line_;
  uint64_t next_part_ = 1;
  std::map<std::pair<std::string, uint64_t>, std::string> delivered_;  // -> sha256
  std::vector<Incomplete> incomplete_;
  Leftovers leftovers_;
};

}  // namespace demarc::sinks
