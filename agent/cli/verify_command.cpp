#include <cstdio>
#include <iostream>

#include "agent/aws/imds.h"
#include "agent/aws/logs.h"
#include "agent/aws/s3.h"
#include "agent/cli/aws_setup.h"
#include "agent/cli/commands.h"
#include "agent/core/decompress.h"
#include "agent/core/host_root.h"
#include "agent/core/units.h"
#include "agent/evidence/signer.h"
#include "agent/evidence/verify.h"
#include "agent/sinks/cloudwatch_sink.h"

namespace demarc::cli {
namespace {

// Batches are megabytes; an object far larger is not a demarc batch.
constexpr size_t kMaxObjectBytes = 512ULL << 20;

// The region to read evidence in: --region, the environment, or this
// instance's.
Result<std::string> regionFor(const VerifyCommandOptions& options,
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

Result<std::unique_ptr<AuditorClient>> auditorClient(const VerifyCommandOptions& options,
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

// Reads every batch object under s3://BUCKET/PREFIX and runs every check a
// folder gets.
Result<verify::v1::Report> verifyS3(const VerifyCommandOptions& options,
                                    const evidence::VerifyOptions& verify) {
  DEMARC_ASSIGN_OR_RETURN(auto location, aws::parseS3Uri(options.path));
  const std::string& bucket = location.first;  // (clang 14 lambdas cannot capture bindings)
  const std::string& prefix = location.second;
  DEMARC_ASSIGN_OR_RETURN(auto aws, auditorClient(options, "s3"));
  aws::AwsClient& client = *aws->client;

  evidence::Verifier verifier(verify);
  DEMARC_TRY(aws::listS3Objects(client, bucket, prefix, [&](const std::string& key, uint64_t) {
    const bool gz = key.ends_with(".jsonl.gz");
    if (!gz && !key.ends_with(".jsonl")) return okStatus();
    const std::string name = "s3://" + bucket + "/" + key;
    auto object = aws::getS3Object(client, bucket, key, kMaxObjectBytes);
    if (!object.ok()) {
      // Listing and reading use the same credentials: an error on one
      // object is reported with it, the rest are still checked.
      verifier.addUnreadable(name, object.error().message());
      return okStatus();
    }
    if (!gz) {
      verifier.add(name, *object);
      return okStatus();
    }
    auto bytes = decompress(*object, Compression::kGzip, kMaxObjectBytes);
    if (!bytes.ok()) {
      verifier.addUnreadable(name, "gzip: " + bytes.error().message());
    } else {
      verifier.add(name, *bytes);
    }
    return okStatus();
  }));
  return verifier.finish(options.path);
}

// Adds a note to the report of the agent it concerns (or of the only one).
void noteFor(verify::v1::Report& report, const std::string& agent_id, const std::string& note) {
  for (auto& agent : *report.mutable_agents()) {
    if (agent.agent_id() == agent_id || report.agents_size() == 1) {
      agent.add_notes(note);
      return;
    }
  }
}

// Reads the events of cloudwatch://GROUP (every stream) or GROUP/STREAM,
// rejoins them into batches and runs every check a folder gets. Copies that
// at-least-once delivery leaves (a batch's first events sent twice, a whole
// batch sent twice) are passed once and counted in the notes.
Result<verify::v1::Report> verifyCloudWatch(const VerifyCommandOptions& options,
                                            const evidence::VerifyOptions& verify) {
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

  evidence::Verifier verifier(verify);
  std::vector<std::pair<std::string, std::string>> notes;  // agent id, note
  for (const std::string& stream : streams) {
    const std::string name = "cloudwatch://" + group + "/" + stream;
    sinks::CloudWatchBatchJoiner joiner(
        name,
        [&](const std::string& batch, std::string_view bytes) { verifier.add(batch, bytes); });
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
      verifier.addUnreadable(name, read.error().message());
      continue;
    }
    auto left = joiner.finish();
    for (const auto& broken : left.broken) {
      verifier.addUnreadable(broken.name, "batch " + std::to_string(broken.sequence) + " " +
                                              broken.problem + ", and no whole copy follows");
    }
    for (const auto& stray : left.stray) verifier.addUnreadable(name, stray);
    if (left.tail) {
      notes.emplace_back(left.tail->agent_id,
                         name + " ends inside batch " + std::to_string(left.tail->sequence) +
                             " (it " + left.tail->problem +
                             "): a delivery under way or interrupted; not counted");
    }
    if (left.redelivered + left.partial_redeliveries > 0) {
      notes.emplace_back(left.agent_id, name + ": at-least-once delivery left " +
                                            std::to_string(left.redelivered) +
                                            " identical batch copies and " +
                                            std::to_string(left.partial_redeliveries) +
                                            " partial copies, each read once");
    }
  }
  verify::v1::Report report = verifier.finish(options.path);
  for (const auto& [agent, note] : notes) noteFor(report, agent, note);
  return report;
}

}  // namespace

int verifyCommand(const GlobalOptions& global, const VerifyCommandOptions& options) {
  setupDefaultLogging(global);
  evidence::VerifyOptions verify;
  for (const std::string& file : options.key_files) {
    auto raw = evidence::loadPublicKeyFile(file);
    if (!raw.ok()) {
      std::fprintf(stderr, "demarc verify: --key %s\n", raw.error().message().c_str());
      return kExitUsage;
    }
    verify.pinned_keys.push_back({file, *raw});
  }
  if (options.max_silence) {
    auto d = parseDuration(*options.max_silence);
    if (!d.ok()) {
      std::fprintf(stderr, "demarc verify: --max-silence: %s\n", d.error().message().c_str());
      return kExitUsage;
    }
    verify.max_silence = *d;
  }
  if (options.as_of) {
    auto t = parseTime(*options.as_of);
    if (!t) {
      std::fprintf(stderr,
                   "demarc verify: --as-of: expected an RFC 3339 time such as "
                   "2026-11-30T12:00:00Z, got '%s'\n",
                   options.as_of->c_str());
      return kExitUsage;
    }
    verify.as_of = *t;
  }
  auto report = options.path.starts_with("s3://") ? verifyS3(options, verify)
                : options.path.starts_with("cloudwatch://")
                    ? verifyCloudWatch(options, verify)
                    : evidence::verifyDirectory(options.path, verify);
  if (!report.ok()) {
    std::fprintf(stderr, "demarc verify: %s\n", report.error().message().c_str());
    return kExitRuntime;
  }
  std::cout << (options.json ? evidence::reportJson(*report) : evidence::formatReport(*report));
  return report->ok() ? kExitOk : kExitDefects;
}

}  // namespace demarc::cli
