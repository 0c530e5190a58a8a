#include "agent/telemetry/libbpf_util.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <spdlog/spdlog.h>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

namespace demarc::telemetry {

// The innermost capture of this thread: libbpf calls its print function on
// the thread that loads.
struct LibbpfLogSink {
  static thread_local LibbpfLogCapture* current;
  static void append(std::string_view text) {
    if (current != nullptr) current->text_.append(text);
  }
};
thread_local LibbpfLogCapture* LibbpfLogSink::current = nullptr;

namespace {

int libbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  bool capture = level != LIBBPF_DEBUG && LibbpfLogSink::current != nullptr;
  if (!capture && level == LIBBPF_DEBUG && !spdlog::should_log(spdlog::level::trace)) return 0;
  // A verifier log comes as one message of up to several KiB.
  std::string buf(1024, '\0');
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(buf.data(), buf.size(), format, args);
  if (n >= static_cast<int>(buf.size())) {
    buf.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(buf.data(), buf.size(), format, again);
  }
  va_end(again);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (capture) LibbpfLogSink::append(buf);
  std::string_view text(buf);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  spdlog::debug("libbpf: {}", text);
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The last `count` non-empty lines of text, joined with " | ".
std::string lastLines(std::string_view text, size_t count) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    if (!line.empty()) lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  size_t first = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() : outer_(LibbpfLogSink::current) {
  routeLibbpfLogs();
  LibbpfLogSink::current = this;
}

LibbpfLogCapture::~LibbpfLogCapture() { LibbpfLogSink::current = outer_; }

std::optional<ProgramLoadFailure> failedProgram(std::string_view log) {
  // libbpf: "prog 'NAME': failed to load: -22", after the program's
  // verifier log ("prog 'NAME': -- BEGIN PROG LOAD LOG --" ... "-- END
  // PROG LOAD LOG --"), or after "prog 'NAME': failed to find kernel BTF
  // type ID of 'HOOK': -3" when the hook does not exist.
  constexpr std::string_view kFailed = "': failed to load";
  size_t at = log.rfind(kFailed);
  if (at == std::string_view::npos) return std::nullopt;
  size_t open = log.rfind("prog '", at);
  if (open == std::string_view::npos) return std::nullopt;
  ProgramLoadFailure failure;
  failure.program = std::string(log.substr(open + 6, at - open - 6));
  std::string prefix = "prog '" + failure.program + "': ";
  std::string_view before = log.substr(0, at);
  constexpr std::string_view kNoBtf = "failed to find kernel BTF type ID of '";
  if (size_t btf = before.rfind(prefix + std::string(kNoBtf)); btf != std::string_view::npos) {
    size_t name = btf + prefix.size() + kNoBtf.size();
    size_t end = before.find('\'', name);
    failure.reason = "the kernel has no " + std::string(before.substr(name, end - name));
    return failure;
  }
  constexpr std::string_view kBegin = "-- BEGIN PROG LOAD LOG --";
  constexpr std::string_view kEnd = "-- END PROG LOAD LOG --";
  size_t begin = before.rfind(prefix + std::string(kBegin));
  if (begin != std::string_view::npos) {
    size_t from = begin + prefix.size() + kBegin.size();
    size_t end = before.find(kEnd, from);
    std::string_view verifier =
        before.substr(from, end == std::string_view::npos ? end : end - from);
    // The last lines say what the verifier refused; the line after them
    // counts the instructions processed.
    std::string lines = lastLines(verifier, 3);
    if (!lines.empty()) {
      failure.reason = "verifier: " + lines;
      return failure;
    }
  }
  // Otherwise the error libbpf gave ("failed to load: -22"), in words.
  size_t end = log.find('\n', at);
  std::string_view said =
      trim(log.substr(at + 3, end == std::string_view::npos ? end : end - at - 3));
  failure.reason = std::string(said);
  constexpr std::string_view kLoad = "failed to load: ";
  int code = 0;
  if (said.starts_with(kLoad)) {
    auto digits = said.substr(kLoad.size());
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && code < 0) {
      failure.reason = "failed to load: " + libbpfError(code);
    }
  }
  return failure;
}

bool kernelHasHelper(int func_id) {
  static std::mutex mu;
  static std::map<int, bool> known;
  std::lock_guard lock(mu);
  auto it = known.find(func_id);
  if (it != known.end()) return it->second;
  routeLibbpfLogs();
  bool has = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
                                     static_cast<enum bpf_func_id>(func_id), nullptr) == 1;
  known.emplace(func_id, has);
  return has;
}

std::string noHooksLoad(std::string_view what, const std::vector<std::string>& failures,
                        bool all_refused_for_privilege) {
  std::string text = "no " + std::string(what) + " hooks load on this kernel (";
  for (size_t i = 0; i < failures.size(); ++i) text += (i == 0 ? "" : "; ") + failures[i];
  text += ")";
  if (all_refused_for_privilege) {
    text +=
        "; the kernel refused them for privilege: is this process root with CAP_BPF and "
        "CAP_PERFMON, and is kernel lockdown off?";
  }
  return text;
}

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
