#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/aws/aws_client.h"
#include "agent/core/result.h"

namespace demarc::aws {

// One CloudWatch Logs call (JSON protocol): POST / with X-Amz-Target
// Logs_20140328.ACTION. Any HTTP status comes back as a response.
Result<HttpResponse> logsCall(AwsClient& client, std::string_view action, const std::string& json);

// The names of a group's log streams, page by page (DescribeLogStreams).
Status listLogStreams(AwsClient& client, const std::string& group,
                      const std::function<Status(const std::string& stream)>& each);

// Every event of a stream from its head, in the order the service stores
// them (GetLogEvents, page by page, until the forward token repeats).
Status readLogEvents(
    AwsClient& client, const std::string& group, const std::string& stream,
    const std::function<Status(std::string_view message, int64_t timestamp)>& each);

// The path of "cloudwatch://PATH": a log group, or GROUP/STREAM (group
// names may hold '/', so which one it is takes asking the service). Errors
// say what is wrong.
Result<std::string> parseLogsUri(std::string_view uri);

}  // namespace demarc::aws
