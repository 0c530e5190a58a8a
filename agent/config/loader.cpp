#include "agent/config/loader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/reflection.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "agent/config/yaml_message.h"
#include "agent/core/files.h"
#include "agent/core/units.h"

namespace demarc::config {
namespace {

namespace pb = google::protobuf;

// Defaults that depend on other keys.
void resolveDerived(Config* config) {
  const std::string& state = config->agent().state_dir();
  if (config->evidence().signing_key().empty()) {
    config->mutable_evidence()->set_signing_key(state + "/signing.key");
  }
  if (config->journal().path().empty()) config->mutable_journal()->set_path(state + "/journal");
}

// Cross-key rules the schema cannot express.
void validate(const Config& config, const YamlLoad& load, const std::string& source,
              std::vector<std::string>& errors) {
  if (!config.sinks().directory().enabled()) {
    errors.push_back(load.where(source, "sinks.directory.enabled") +
                     "sinks: no sink is enabled; sealed evidence would never leave the journal");
  }
}

void emitMessage(YAML::Emitter& out, const pb::Message& msg) {
  const pb::Descriptor* desc = msg.GetDescriptor();
  const pb::Reflection* refl = msg.GetReflection();
  out << YAML::BeginMap;
  for (int i = 0; i < desc->field_count(); ++i) {
    const pb::FieldDescriptor* field = desc->field(i);
    out << YAML::Key << field->name() << YAML::Value;
    if (field->is_repeated()) {
      out << YAML::BeginSeq;
      for (int j = 0; j < refl->FieldSize(msg, field); ++j) {
        switch (field->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_MESSAGE:
            emitMessage(out, refl->GetRepeatedMessage(msg, field, j));
            break;
          case pb::FieldDescriptor::CPPTYPE_STRING:
            out << YAML::DoubleQuoted << refl->GetRepeatedString(msg, field, j);
            break;
          default:
            std::abort();  // the schema has lists of strings and messages only
        }
      }
      out << YAML::EndSeq;
      continue;
    }
    if (isDuration(field)) {
      const auto& d = static_cast<const pb::Duration&>(refl->GetMessage(msg, field));
      out << formatDuration(std::chrono::seconds(d.seconds()) +
                            std::chrono::nanoseconds(d.nanos()));
      continue;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        emitMessage(out, refl->GetMessage(msg, field));
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        out << YAML::DoubleQuoted << refl->GetString(msg, field);
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        out << (refl->GetBool(msg, field) ? "true" : "false");
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        out << enumShortName(refl->GetEnum(msg, field));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        out << refl->GetUInt32(msg, field);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        if (rulesOf(field).size()) {
          out << formatSize(refl->GetUInt64(msg, field));
        } else {
          out << refl->GetUInt64(msg, field);
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        out << refl->GetInt32(msg, field);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        out << refl->GetInt64(msg, field);
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        out << refl->GetDouble(msg, field);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        out << refl->GetFloat(msg, field);
        break;
    }
  }
  out << YAML::EndMap;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

Config defaultConfig() {
  Config config;
  applySchemaDefaults(&config);
  resolveDerived(&config);
  return config;
}

Result<Config> loadConfigText(std::string_view yaml, std::string_view source_name) {
  std::string source(source_name);
  Config config;
  applySchemaDefaults(&config);
  YamlLoad load = loadYamlMessage(yaml, source, &config);
  std::vector<std::string> errors = std::move(load.errors);
  if (errors.empty()) {
    resolveDerived(&config);
    validate(config, load, source, errors);
  }
  if (!errors.empty()) return Error(ErrorCode::kInvalidArgument, joinLines(errors));
  return config;
}

Result<Config> loadConfigFile(const std::filesystem::path& path) {
  auto text = readFilePrefix(path, 4 << 20);
  if (!text.ok()) return text.error().withContext("config");
  if (text->size() >= (4u << 20)) {
    return Error(ErrorCode::kInvalidArgument, path.string() + ": config is larger than 4 MiB");
  }
  return loadConfigText(*text, path.string());
}

std::string toYaml(const Config& config) {
  YAML::Emitter out;
  emitMessage(out, config);
  return std::string(out.c_str()) + "\n";
}

std::chrono::nanoseconds toNanos(const google::protobuf::Duration& d) {
  return std::chrono::seconds(d.seconds()) + std::chrono::nanoseconds(d.nanos());
}

std::chrono::milliseconds toMillis(const google::protobuf::Duration& d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(toNanos(d));
}

}  // namespace demarc::config
