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
  std::string failures;
  for (Hook hook : hooks) {
    Result<T> loaded = attempt(hook);
    if (loaded.ok() || loaded.error().code() != ErrorCode::kUnavailable) return loaded;
    failures += (failures.empty() ? "" : "; ") + std::string(hookName(hook)) + ": " +
                loaded.error().message();
  }
  return Error(ErrorCode::kUnavailable,
               "no " + std::string(what) + " hooks load on this kernel (" + failures +
                   "); is this process root with CAP_BPF and CAP_PERFMON?");
}

}  // namespace demarc::telemetry
