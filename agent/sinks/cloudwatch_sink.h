#pragma once

#include <memory>
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
// the batch's newest record time, so the service keeps their order. A line
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
  Result<aws::HttpResponse> call(const std::string& action, const std::string& json);

  CloudWatchSinkOptions options_;
  std::unique_ptr<aws::AwsClient> client_;
  bool group_ready_ = false;
  std::set<std::string> streams_ready_;
};

}  // namespace demarc::sinks
