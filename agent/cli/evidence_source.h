#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/core/result.h"
#include "agent/evidence/verify.h"

namespace demarc::cli {

// Where sealed evidence is read from: a folder or file, s3://BUCKET/PREFIX
// or cloudwatch://GROUP[/STREAM].
struct EvidenceSource {
  std::string path;
  std::string region;    // s3:// and cloudwatch://; default AWS_REGION, ..., the instance's
  std::string endpoint;  // s3:// and cloudwatch://: instead of the public one
};

// Something the reading saw that concerns one agent's evidence (CloudWatch
// copies left by at-least-once delivery, a stream ending mid-batch).
struct EvidenceNote {
  std::string agent_id;
  std::string text;
};

// Feeds every batch at source to consumer, in stored order. Objects that
// cannot be read go to consumer.addUnreadable; errors only when the source
// itself cannot be listed or read.
Result<std::vector<EvidenceNote>> readEvidence(const EvidenceSource& source,
                                               evidence::EvidenceConsumer& consumer);

// Verify settings from the command line (--key files, --max-silence,
// --as-of); errors name the option.
Result<evidence::VerifyOptions> verifyOptionsFrom(const std::vector<std::string>& key_files,
                                                  const std::optional<std::string>& max_silence,
                                                  const std::optional<std::string>& as_of);

}  // namespace demarc::cli
