#include "agent/telemetry/libbpf_util.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
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

void ensureTracefs() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::access("/sys/kernel/debug/tracing", F_OK) == 0 ||
        ::access("/sys/kernel/tracing/events", F_OK) == 0) {
      return;
    }
    if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) == 0) {
      spdlog::info("mounted tracefs at /sys/kernel/tracing (syscall tracepoints are found there)");
    } else {
      spdlog::warn("tracefs is not mounted and mounting it at /sys/kernel/tracing failed: {}",
                   std::strerror(errno));
    }
  });
}

std::string libbpfError(int err) {
  char buf[256];
  libbpf_strerror(err, buf, sizeof(buf));
  return buf;
}

}  // namespace demarc::telemetry
