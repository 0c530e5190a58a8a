#include "agent/cli/evidence_source.h"

#include "agent/aws/imds.h"
#include "agent/aws/logs.h"
#include "agent/aws/s3.h"
#include "agent/cli/aws_setup.h"
#include "agent/core/decompress.h"
#include "agent/core/host_root.h"
#include "agent/core/units.h"
#include "agent/evidence/signer.h"
#include "agent/sinks/cloudwatch_sink.h"

namespace demarc::cli {
namespace {

// Batches are megabytes; an object far larger is not a demarc batch.
constexpr size_t kMaxObjectBytes = 512ULL << 20;

// The region to read evidence in: --region, the environment, or this
// instance's.
Result<std::string> regionFor(const EvidenceSource& options,
                              const std::optional<aws::InstanceIdentity>& ec2) {
  if (!options.region.empty()) return options.region;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = aws::processEnvironment()(name); v && !v->empty()) return *v;
  }
  if (ec2) return ec2->region;
  return Error(ErrorCode::kInvalidArgument,
               "the evidence's region is unknown: give --region or set AWS_REGION");
}

// A client for the auditor: the agent's credential chain (with the instance
// role when run on EC2), in the evidence's region.
struct AuditorClient {
  RealClock clock;
  std::unique_ptr<aws::CredentialChain> credentials;
  std::unique_ptr<aws::AwsClient> client;
};

Result<std::unique_ptr<AuditorClient>> auditorClient(const EvidenceSource& options,
                                                     const std::string& service) {
  auto out = std::make_unique<AuditorClient>();
  std::optional<aws::InstanceIdentity> ec2;
  std::string imds;
  if (auto endpoint = aws::imdsEndpointFor(HostRoot("/"), ""); endpoint.ok()) {
    aws::ImdsClient client(*endpoint, std::chrono::seconds(1));
    if (auto id = client.instanceIdentity(); id.ok()) {
      ec2 = std::move(*id);
      imds = *endpoint;
    }
  }
  DEMARC_ASSIGN_OR_RETURN(std::string region, regionFor(options, ec2));
  out->credentials = credentialChain(imds, std::chrono::seconds(1), out->clock);
  aws::AwsClientOptions client_options;
  client_options.region = region;
  client_options.max_attempts = 4;  // throttling and 5xx are retried a few times
  if (!options.endpoint.empty()) client_options.endpoints[service] = options.endpoint;
  out->client = std::make_unique<aws::AwsClient>(client_options, *out->credentials, out->clock);
  return out;
}

// Every batch object under s3://BUCKET/PREFIX, in key order.
Status readS3(const EvidenceSource& options, evidence::EvidenceConsumer& consumer) {
  DEMARC_ASSIGN_OR_RETURN(auto location, aws::parseS3Uri(options.path));
  const std::string& bucket = location.first;  // (clang 14 lambdas cannot capture bindings)
  const std::string& prefix = location.second;
  DEMARC_ASSIGN_OR_RETURN(auto aws, auditorClient(options, "s3"));
  aws::AwsClient& client = *aws->client;

  return aws::listS3Objects(client, bucket, prefix, [&](const std::string& key, uint64_t) {
    const bool gz = key.ends_with(".jsonl.gz");
    if (!gz && !key.ends_with(".jsonl")) return okStatus();
    const std::string name = "s3://" + bucket + "/" + key;
    auto object = aws::getS3Object(client, bucket, key, kMaxObjectBytes);
    if (!object.ok()) {
      // Listing and reading use the same credentials: an error on one
      // object is reported with it, the rest are still checked.
      consumer.addUnreadable(name, object.error().message());
      return okStatus();
    }
    if (!gz) {
      consumer.add(name, *object);
      return okStatus();
    }
    auto bytes = decompress(*object, Compression::kGzip, kMaxObjectBytes);
    if (!bytes.ok()) {
      consumer.addUnreadable(name, "gzip: " + bytes.error().message());
    } else {
      consumer.add(name, *bytes);
    }
    return okStatus();
  });
}

// The events of cloudwatch://GROUP (every stream) or GROUP/STREAM, rejoined
// into batches. Copies that at-least-once delivery leaves (a batch's first
// events sent twice, a whole batch sent twice) are passed once and counted in
// the notes.
Status readCloudWatch(const EvidenceSource& options, evidence::EvidenceConsumer& consumer,
                      std::vector<EvidenceNote>& notes) {
  DEMARC_ASSIGN_OR_RETURN(std::string path, aws::parseLogsUri(options.path));
  DEMARC_ASSIGN_OR_RETURN(auto aws, auditorClient(options, "logs"));
  aws::AwsClient& client = *aws->client;
  // A log group, or else GROUP/STREAM split at the last '/'.
  std::string group = path;
  std::vector<std::string> streams;
  Status listed = aws::listLogStreams(client, group, [&](const std::string& stream) {
    streams.push_back(stream);
    return okStatus();
  });
  const size_t slash = path.rfind('/');
  if (!listed.ok() && listed.error().code() == ErrorCode::kNotFound && slash != std::string::npos &&
      slash > 0) {
    group = path.substr(0, slash);
    streams = {path.substr(slash + 1)};
  } else if (!listed.ok()) {
    return listed.error();
  }

  for (const std::string& stream : streams) {
    const std::string name = "cloudwatch://" + group + "/" + stream;
    sinks::CloudWatchBatchJoiner joiner(
        name,
        [&](const std::string& batch, std::string_view bytes) { consumer.add(batch, bytes); });
    Status read = aws::readLogEvents(client, group, stream, [&](std::string_view message, int64_t) {
      joiner.add(message);
      return okStatus();
    });
    if (!read.ok()) {
      if (read.error().code() == ErrorCode::kNotFound && streams.size() == 1) {
        return Error(ErrorCode::kNotFound,
                     "no log group '" + path + "' and no stream '" + stream + "' in log group '" +
                         group + "' (" + read.error().message() +
                         "); a group whose name starts with '/' is written cloudwatch:///GROUP");
      }
      consumer.addUnreadable(name, read.error().message());
      continue;
    }
    auto left = joiner.finish();
    for (const auto& broken : left.broken) {
      consumer.addUnreadable(broken.name, "batch " + std::to_string(broken.sequence) + " " +
                                              broken.problem + ", and no whole copy follows");
    }
    for (const auto& stray : left.stray) consumer.addUnreadable(name, stray);
    if (left.tail) {
      notes.push_back(
          {left.tail->agent_id, name + " ends inside batch " + std::to_string(left.tail->sequence) +
                                    " (it " + left.tail->problem +
                                    "): a delivery under way or interrupted; not counted"});
    }
    if (left.redelivered + left.partial_redeliveries > 0) {
      notes.push_back({left.agent_id, name + ": at-least-once delivery left " +
                                          std::to_string(left.redelivered) +
                                          " identical batch copies and " +
                                          std::to_string(left.partial_redeliveries) +
                                          " partial copies, each read once"});
    }
  }
  return okStatus();
}

}  // namespace

Result<std::vector<EvidenceNote>> readEvidence(const EvidenceSource& source,
                                               evidence::EvidenceConsumer& consumer) {
  std::vector<EvidenceNote> notes;
  if (source.path.starts_with("s3://")) {
    DEMARC_TRY(readS3(source, consumer));
  } else if (source.path.starts_with("cloudwatch://")) {
    DEMARC_TRY(readCloudWatch(source, consumer, notes));
  } else {
    DEMARC_TRY(evidence::readEvidenceDirectory(source.path, consumer));
  }
  return notes;
}

Result<evidence::VerifyOptions> verifyOptionsFrom(const std::vector<std::string>& key_files,
                                                  const std::optional<std::string>& max_silence,
                                                  const std::optional<std::string>& as_of) {
  evidence::VerifyOptions verify;
  for (const std::string& file : key_files) {
    auto raw = evidence::loadPublicKeyFile(file);
    if (!raw.ok()) return Error(ErrorCode::kInvalidArgument, "--key " + raw.error().message());
    verify.pinned_keys.push_back({file, *raw});
  }
  if (max_silence) {
    auto d = parseDuration(*max_silence);
    if (!d.ok()) return Error(ErrorCode::kInvalidArgument, "--max-silence: " + d.error().message());
    verify.max_silence = *d;
  }
  if (as_of) {
    auto t = parseTime(*as_of);
    if (!t) {
      return Error(
          ErrorCode::kInvalidArgument,
          "--as-of: expected an RFC 3339 time such as 2026-11-30T12:00:00Z, got '" + *as_of + "'");
    }
    verify.as_of = *t;
  }
  return verify;
}

}  // namespace demarc::cli
