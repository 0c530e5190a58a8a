#include "agent/core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace demarc {
namespace {

// sd-daemon(3) priority prefixes: journald strips them and keeps the level.
class JournalStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    static constexpr std::array<int, 7> kPriority = {7, 7, 6, 4, 3, 2, 6};  // trace..off
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fprintf(stderr, "<%d>%.*s", kPriority[static_cast<size_t>(msg.level)],
                 static_cast<int>(formatted.size()), formatted.data());
  }
  void flush_() override { std::fflush(stderr); }
};

LogStyle resolve(LogStyle style) {
  if (style != LogStyle::kAuto) return style;
  if (std::getenv("JOURNAL_STREAM") != nullptr) return LogStyle::kJournal;
  if (::isatty(STDERR_FILENO)) return LogStyle::kTerminal;
  return LogStyle::kPlain;
}

}  // namespace

Result<spdlog::level::level_enum> parseLogLevel(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kNames = {{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  }};
  for (const auto& [name, level] : kNames) {
    if (name == text) return level;
  }
  return Error(ErrorCode::kInvalidArgument, "unknown log level '" + std::string(text) +
                                                "' (trace, debug, info, warn, error, off)");
}

void setupLogging(LogStyle style, spdlog::level::level_enum level) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  switch (resolve(style)) {
    case LogStyle::kTerminal: {
      auto color = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
      color->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
      sink = color;
      break;
    }
    case LogStyle::kJournal:
      sink = std::make_shared<JournalStderrSink>();
      sink->set_pattern("%v");
      break;
    case LogStyle::kPlain:
    case LogStyle::kAuto:
      sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>(spdlog::color_mode::never);
      sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
          "%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc));
      break;
  }
  auto logger = std::make_shared<spdlog::logger>("demarc", std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace demarc
