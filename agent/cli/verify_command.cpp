#include <cstdio>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/core/units.h"
#include "agent/evidence/signer.h"
#include "agent/evidence/verify.h"

namespace demarc::cli {

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
  auto report = evidence::verifyDirectory(options.path, verify);
  if (!report.ok()) {
    std::fprintf(stderr, "demarc verify: %s\n", report.error().message().c_str());
    return kExitRuntime;
  }
  std::cout << (options.json ? evidence::reportJson(*report) : evidence::formatReport(*report));
  return report->ok() ? kExitOk : kExitDefects;
}

}  // namespace demarc::cli
