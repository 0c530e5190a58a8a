#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.pb.h"

namespace demarc::config {

// What loading one YAML document into a message found.
struct YamlLoad {
  // "FILE:LINE: key.path: what is wrong", one per problem, all of them.
  std::vector<std::string> errors;
  // The line each key path was read from: "sinks.directory", "rules[3]",
  // "rules[3].check". Lets callers point later, cross-field errors at a line.
  std::map<std::string, int> lines;

  bool ok() const { return errors.empty(); }
  // "FILE:LINE: " for a key path (line 1 when the path was not in the file).
  std::string where(const std::string& source, const std::string& key_path) const;
};

// Loads one YAML document into `msg` strictly, by the message's schema:
// unknown keys (with did-you-mean), wrong types, duplicate keys, two members
// of one oneof, values outside their (rules) bounds and a second document are
// errors. Lists load into repeated fields. Fields absent from the text are
// left as they are, so callers set defaults first.
YamlLoad loadYamlMessage(std::string_view yaml, std::string_view source,
                         google::protobuf::Message* msg);

// Sets every field that has a (rules) default and creates every singular
// sub-message, recursively.
void applySchemaDefaults(google::protobuf::Message* msg);

// The (rules) option of a field, empty when it has none.
const v1::FieldRules& rulesOf(const google::protobuf::FieldDescriptor* field);
bool isDuration(const google::protobuf::FieldDescriptor* field);
// How an enum value is written in YAML: LOG_LEVEL_INFO -> "info".
std::string enumShortName(const google::protobuf::EnumValueDescriptor* value);

}  // namespace demarc::config
