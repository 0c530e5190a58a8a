#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/aws/aws_client.h"
#include "agent/core/result.h"

namespace demarc::aws {

// The URL of an object (or, with an empty key, of the bucket): virtual-
// hosted style on AWS's endpoints, path style on an endpoint override (VPC
// endpoints, S3-compatible servers).
std::string s3Url(const AwsClient& client, std::string_view bucket, std::string_view key);

// Every object under prefix, in key order (ListObjectsV2, page by page).
Status listS3Objects(AwsClient& client, const std::string& bucket, const std::string& prefix,
                     const std::function<Status(const std::string& key, uint64_t size)>& each);

// One object's bytes; larger than max_bytes is an error.
Result<std::string> getS3Object(AwsClient& client, const std::string& bucket,
                                const std::string& key, size_t max_bytes);

// "s3://bucket/prefix" into its parts; errors say what is wrong.
Result<std::pair<std::string, std::string>> parseS3Uri(std::string_view uri);

}  // namespace demarc::aws
