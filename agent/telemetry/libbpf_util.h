#pragma once

#include <string>
#include <string_view>

namespace demarc::telemetry {

// How a probe attached: typed BTF tracepoints first, plain tracepoints where
// the kernel lacks them.
enum class Hook { kTpBtf, kTracepoint };
// "tp_btf" or "tracepoint".
std::string_view hookName(Hook hook);

// Routes libbpf's own messages to the agent log (debug level), once.
void routeLibbpfLogs();

// libbpf's text for a negative error code.
std::string libbpfError(int err);

}  // namespace demarc::telemetry
