#include "agent/telemetry/libbpf_util.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace demarc::telemetry {
namespace {

int libbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG && !spdlog::should_log(spdlog::level::trace)) return 0;
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  std::string_view text(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  spdlog::debug("libbpf: {}", text);
  return n;
}

}  // namespace

std::string_view hookName(Hook hook) { return hook == Hook::kTpBtf ? "tp_btf" : "tracepoint"; }

void routeLibbpfLogs() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(libbpfPrint); });
}

std::string libbpfError(int err) {
  char buf[256];
  libbpf_strerror(err, buf, sizeof(buf));
  return buf;
}

}  // namespace demarc::telemetry
