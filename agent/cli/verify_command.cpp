#include <cstdio>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/evidence_source.h"
#include "agent/core/units.h"
#include "agent/evidence/signer.h"
#include "agent/evidence/verify.h"

namespace demarc::cli {
namespace {

// Adds a note to the report of the agent it concerns (or of the only one).
void noteFor(verify::v1::Report& report, const std::string& agent_id, const std::string& note) {
  for (auto& agent : *report.mutable_agents()) {
    if (agent.agent_id() == agent_id || report.agents_size() == 1) {
      agent.add_notes(note);
      return;
    }
  }
}

}  // namespace

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

int verifyCommand(const GlobalOptions& global, const VerifyCommandOptions& options) {
  setupDefaultLogging(global);
  auto verify = verifyOptionsFrom(options.key_files, options.max_silence, options.as_of);
  if (!verify.ok()) {
    std::fprintf(stderr, "demarc verify: %s\n", verify.error().message().c_str());
    return kExitUsage;
  }
  evidence::Verifier verifier(*verify);
  auto notes = readEvidence({options.path, options.region, options.endpoint}, verifier);
  if (!notes.ok()) {
    std::fprintf(stderr, "demarc verify: %s\n", notes.error().message().c_str());
    return kExitRuntime;
  }
  verify::v1::Report report = verifier.finish(options.path);
  for (const auto& note : *notes) noteFor(report, note.agent_id, note.text);
  std::cout << (options.json ? evidence::reportJson(report) : evidence::formatReport(report));
  return report.ok() ? kExitOk : kExitDefects;
}

}  // namespace demarc::cli
