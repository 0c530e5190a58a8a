#include <cstdio>
#include <iostream>

#include "agent/aws/imds.h"
#include "agent/aws/s3.h"
#include "agent/cli/aws_setup.h"
#include "agent/cli/commands.h"
#include "agent/core/decompress.h"
#include "agent/core/host_root.h"
#include "agent/core/units.h"
#include "agent/evidence/signer.h"
#include "agent/evidence/verify.h"

namespace demarc::cli {
namespace {

// Batches are megabytes; an object far larger is not a demarc batch.
constexpr size_t kMaxObjectBytes = 512ULL << 20;

// The region to read a bucket in: --region, the environment, or this
// instance's.
Result<std::string> regionFor(const VerifyCommandOptions& options,
                              const std::optional<aws::InstanceIdentity>& ec2) {
  if (!options.region.empty()) return options.region;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = aws::processEnvironment()(name); v && !v->empty()) return *v;
  }
  if (ec2) return ec2->region;
  return Error(ErrorCode::kInvalidArgument,
               "the bucket's region is unknown: give --region or set AWS_REGION");
}

// Reads every batch object under s3://BUCKET/PREFIX (the same credential
// chain as the agent) and runs every check a folder gets.
Result<verify::v1::Report> verifyS3(const VerifyCommandOptions& options,
                                    const evidence::VerifyOptions& verify) {
  DEMARC_ASSIGN_OR_RETURN(auto location, aws::parseS3Uri(options.path));
  const std::string& bucket = location.first;  // (clang 14 lambdas cannot capture bindings)
  const std::string& prefix = location.second;
  RealClock clock;
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
  auto credentials = credentialChain(imds, std::chrono::seconds(1), clock);
  aws::AwsClientOptions client_options;
  client_options.region = region;
  if (!options.endpoint.empty()) client_options.endpoints["s3"] = options.endpoint;
  aws::AwsClient client(client_options, *credentials, clock);

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
                                                  : evidence::verifyDirectory(options.path, verify);
  if (!report.ok()) {
    std::fprintf(stderr, "demarc verify: %s\n", report.error().message().c_str());
    return kExitRuntime;
  }
  std::cout << (options.json ? evidence::reportJson(*report) : evidence::formatReport(*report));
  return report->ok() ? kExitOk : kExitDefects;
}

}  // namespace demarc::cli
