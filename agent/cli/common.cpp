#include <bpf/libbpf.h>
#include <curl/curlver.h>
#include <google/protobuf/stubs/common.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/core/encoding.h"
#include "agent/core/log.h"

#ifndef DEMARC_VERSION
#define DEMARC_VERSION "0.0.0"
#endif
#ifndef DEMARC_GIT_COMMIT
#define DEMARC_GIT_COMMIT "unknown"
#endif

namespace demarc::cli {
namespace {

LogStyle styleOf(config::v1::LogFormat format) {
  switch (format) {
    case config::v1::LOG_FORMAT_TERMINAL:
      return LogStyle::kTerminal;
    case config::v1::LOG_FORMAT_PLAIN:
      return LogStyle::kPlain;
    case config::v1::LOG_FORMAT_JOURNAL:
      return LogStyle::kJournal;
    default:
      return LogStyle::kAuto;
  }
}

spdlog::level::level_enum levelOf(config::v1::LogLevel level) {
  switch (level) {
    case config::v1::LOG_LEVEL_TRACE:
      return spdlog::level::trace;
    case config::v1::LOG_LEVEL_DEBUG:
      return spdlog::level::debug;
    case config::v1::LOG_LEVEL_WARN:
      return spdlog::level::warn;
    case config::v1::LOG_LEVEL_ERROR:
      return spdlog::level::err;
    case config::v1::LOG_LEVEL_OFF:
      return spdlog::level::off;
    default:
      return spdlog::level::info;
  }
}

std::optional<LogStyle> parseStyle(const std::string& text) {
  if (text == "auto") return LogStyle::kAuto;
  if (text == "terminal") return LogStyle::kTerminal;
  if (text == "plain") return LogStyle::kPlain;
  if (text == "journal") return LogStyle::kJournal;
  return std::nullopt;
}

}  // namespace

std::string versionString() { return DEMARC_VERSION; }

void setupDefaultLogging(const GlobalOptions& global) {
  auto level = parseLogLevel(global.log_level.value_or("info"));
  auto style = parseStyle(global.log_format.value_or("auto"));
  setupLogging(style.value_or(LogStyle::kAuto), level.ok() ? *level : spdlog::level::info);
}

std::optional<config::Config> loadConfigAndLogging(const GlobalOptions& global) {
  if (global.log_level && !parseLogLevel(*global.log_level).ok()) {
    std::fprintf(stderr, "demarc: --log-level: %s\n",
                 parseLogLevel(*global.log_level).error().message().c_str());
    return std::nullopt;
  }
  if (global.log_format && !parseStyle(*global.log_format)) {
    std::fprintf(stderr,
                 "demarc: --log-format: unknown format '%s' (auto, terminal, plain, journal)\n",
                 global.log_format->c_str());
    return std::nullopt;
  }
  auto config = config::loadConfigFile(global.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.error().message().c_str());
    if (config.error().code() == ErrorCode::kInvalidArgument) {
      std::fprintf(stderr, "demarc: invalid config; see config/demarc.yaml for every key\n");
    }
    return std::nullopt;
  }
  spdlog::level::level_enum level =
      global.log_level ? *parseLogLevel(*global.log_level) : levelOf(config->logging().level());
  LogStyle style =
      global.log_format ? *parseStyle(*global.log_format) : styleOf(config->logging().format());
  setupLogging(style, level);
  return std::move(config).value();
}

int configCheckCommand(const GlobalOptions& global, const std::string& file) {
  auto config = config::loadConfigFile(file);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.error().message().c_str());
    return config.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitRuntime;
  }
  std::string yaml = config::toYaml(*config);
  std::cout << "# effective config of " << file << " (defaults filled in)\n" << yaml;
  std::fprintf(stderr, "%s: OK (config sha256 %s)\n", file.c_str(), toHex(sha256(yaml)).c_str());
  return kExitOk;
}

int versionCommand() {
  std::printf("demarc %s (commit %s)\n", DEMARC_VERSION, DEMARC_GIT_COMMIT);
  std::printf("  OpenSSL   %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
  std::printf("  protobuf  %s\n",
              google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION).c_str());
  std::printf("  libbpf    %u.%u\n", libbpf_major_version(), libbpf_minor_version());
  std::printf("  libcurl   %s\n", LIBCURL_VERSION);
  std::printf("  spdlog    %d.%d.%d\n", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  return kExitOk;
}

}  // namespace demarc::cli
