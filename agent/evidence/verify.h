#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/result.h"
#include "agent/evidence/verify.pb.h"

namespace demarc::evidence {

struct PinnedKey {
  std::string source;  // the file it came from
  std::string raw;     // 32-byte Ed25519 public key
};

struct VerifyOptions {
  // Trusted keys. Empty: trust the key each agent enrolled first (the
  // enrollment record in its lowest sequence), and say so.
  std::vector<PinnedKey> pinned_keys;
  // The tail silence check measures the newest batch against this time.
  SystemTime as_of = std::chrono::system_clock::now();
  // Longest allowed silence between batches. Empty: twice the heartbeat
  // interval the agent announced, plus 10 s.
  std::optional<std::chrono::nanoseconds> max_silence;
};

// Takes sealed batches one object at a time, in stored order (file path
// order for a folder, key order for S3, event order for CloudWatch).
class EvidenceConsumer {
 public:
  virtual ~EvidenceConsumer() = default;
  virtual void add(const std::string& name, std::string_view bytes) = 0;
  // An object that exists but could not be read.
  virtual void addUnreadable(const std::string& name, const std::string& error) = 0;
};

// Feeds every *.jsonl file under path (a folder, searched recursively, in
// path order, or one file) to consumer. Errors only when path itself cannot
// be read.
Status readEvidenceDirectory(const std::filesystem::path& path, EvidenceConsumer& consumer);

// Checks sealed batches, fed one object at a time in stored order (file path
// order for a folder, key order for S3, event order for CloudWatch). Keeps a
// summary per batch, not the batch, so memory grows with the number of
// batches rather than their size.
class Verifier : public EvidenceConsumer {
 public:
  explicit Verifier(VerifyOptions options);
  ~Verifier() override;

  void add(const std::string& name, std::string_view bytes) override;
  void addUnreadable(const std::string& name, const std::string& error) override;
  verify::v1::Report finish(const std::string& path);
  // After finish: the objects whose batch passed every check of its own
  // (signed by a trusted key, payload as sealed, well formed) and is the
  // copy of its sequence that stands, with the hex SHA-256 of the payload
  // that verified. Readers of evidence (report, timeline) take records from
  // these only, and only when the payload they read hashes the same.
  const std::map<std::string, std::string>& accepted() const { return accepted_; }

 private:
  struct Batch;
  void checkSignature(Batch& batch, std::string_view payload);
  void checkAgent(const std::string& agent_id, std::vector<Batch*>& batches,
                  verify::v1::AgentReport& report);

  VerifyOptions options_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::map<std::string, std::string> known_keys_;  // key id -> raw public key
  // Batches whose key was not known when they were read.
  std::vector<std::pair<Batch*, std::string>> deferred_;
  std::vector<verify::v1::Defect> unattributed_;
  uint64_t files_ = 0;
  std::map<std::string, std::string> accepted_;  // name -> payload digest
};

// Verifies every *.jsonl file under path (a folder, searched recursively, or
// one file). Errors only when path itself cannot be read.
Result<verify::v1::Report> verifyDirectory(const std::filesystem::path& path,
                                           const VerifyOptions& options);

// The report for people: per agent, what was verified and every defect.
std::string formatReport(const verify::v1::Report& report);
std::string reportJson(const verify::v1::Report& report);

}  // namespace demarc::evidence
