#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "agent/config/config.pb.h"
#include "agent/core/result.h"

namespace demarc::config {

using Config = demarc::config::v1::Config;

// Every field at its schema default, derived paths resolved.
Config defaultConfig();

// Loads YAML strictly into the schema: unknown keys, wrong types, values out
// of range and duplicate keys are errors of the form
//   FILE:LINE: key.path: what is wrong
// one per line, all of them at once. Missing keys take their defaults.
Result<Config> loadConfigText(std::string_view yaml, std::string_view source_name);
Result<Config> loadConfigFile(const std::filesystem::path& path);

// The effective config as YAML, every key present, in schema order. Stable:
// its digest identifies the config in heartbeats.
std::string toYaml(const Config& config);

// A config duration as std::chrono.
std::chrono::nanoseconds toNanos(const google::protobuf::Duration& d);
std::chrono::milliseconds toMillis(const google::protobuf::Duration& d);

}  // namespace demarc::config
