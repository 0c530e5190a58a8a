#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/result.h"

namespace demarc::telemetry {

// How a probe attached: typed BTF tracepoints first, plain tracepoints where
// the kernel lacks them.
enum class Hook { kTpBtf, kTracepoint };
// "tp_btf" or "tracepoint".
std::string_view hookName(Hook hook);

// Routes libbpf's own messages to the agent log (debug level), once.
void routeLibbpfLogs();

// Plain tracepoints are looked up in tracefs: mounts it at
// /sys/kernel/tracing when neither it nor debugfs's tracing is there
// (needs root; says in the log what it did).
void ensureTracefs();

// libbpf's text for a negative error code.
std::string libbpfError(int err);

// While alive, keeps what libbpf says at warning level on this thread (it
// still goes to the log too): a failed load's program name and verifier log.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  const std::string& text() const { return text_; }

 private:
  friend struct LibbpfLogSink;
  std::string text_;
  LibbpfLogCapture* outer_;
};

// The program a failed object load stopped at and the kernel's reason: the
// last lines of the verifier's log, or the BTF name (a hook, a helper's
// type) the kernel lacks. Read from what libbpf logged; nullopt when it
// names no program.
struct ProgramLoadFailure {
  std::string program;
  std::string reason;
};
std::optional<ProgramLoadFailure> failedProgram(std::string_view libbpf_log);

// Whether tracing programs may call a helper (enum bpf_func_id: BPF_FUNC_loop
// arrived in 5.17), by loading a tracepoint program that calls it; cached.
bool kernelHasHelper(int func_id);

// Why no set of hooks loaded, from the reason each set gave: a guess about
// privileges only when every set was refused for them (EPERM, EACCES).
std::string noHooksLoad(std::string_view what, const std::vector<std::string>& failures,
                        bool all_refused_for_privilege);

// Loads a probe with the first set of hooks the kernel accepts: tp_btf, then
// plain tracepoints (or only `only`). attempt(hook) returns the probe, or an
// error: kUnavailable means this hook set does not load here and the next is
// tried; any other error ends the search. When none loads, the error says
// why each failed.
template <typename T>
Result<T> firstHookThatLoads(std::optional<Hook> only, std::string_view what,
                             const std::function<Result<T>(Hook)>& attempt) {
  std::vector<Hook> hooks = {Hook::kTpBtf, Hook::kTracepoint};
  if (only) hooks = {*only};
  std::vector<std::string> failures;
  bool refused = true;
  for (Hook hook : hooks) {
    Result<T> loaded = attempt(hook);
    if (loaded.ok()) return loaded;
    if (loaded.error().code() != ErrorCode::kUnavailable &&
        loaded.error().code() != ErrorCode::kPermissionDenied) {
      return loaded;
    }
    refused = refused && loaded.error().code() == ErrorCode::kPermissionDenied;
    failures.push_back(std::string(hookName(hook)) + ": " + loaded.error().message());
  }
  return Error(refused ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable,
               noHooksLoad(what, failures, refused));
}

}  // namespace demarc::telemetry
