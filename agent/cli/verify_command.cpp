#include <cstdio>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/evidence_source.h"
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
