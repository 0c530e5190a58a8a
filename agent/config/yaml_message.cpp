#include "agent/config/yaml_message.h"

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/reflection.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "agent/core/units.h"

namespace demarc::config {

namespace pb = google::protobuf;

namespace {

// LogLevel -> "LOG_LEVEL_"; values are written in YAML without it, lower case.
std::string enumPrefix(const pb::EnumDescriptor* type) {
  std::string out;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out.push_back('_');
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out + "_";
}

}  // namespace

const v1::FieldRules& rulesOf(const pb::FieldDescriptor* field) {
  return field->options().GetExtension(v1::rules);
}

bool isDuration(const pb::FieldDescriptor* field) {
  return field->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
         field->message_type()->full_name() == pb::Duration::descriptor()->full_name();
}

std::string enumShortName(const pb::EnumValueDescriptor* value) {
  std::string name = value->name();
  std::string prefix = enumPrefix(value->type());
  if (name.starts_with(prefix)) name = name.substr(prefix.size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string YamlLoad::where(const std::string& source, const std::string& key_path) const {
  auto it = lines.find(key_path);
  return source + ":" + std::to_string(it == lines.end() ? 1 : it->second) + ": ";
}

namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string describeNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  void loadMessage(const YAML::Node& node, pb::Message* msg, const std::string& path) {
    if (node.IsNull()) return;  // "sinks:" with nothing under it: all defaults
    if (!node.IsMap()) {
      error(node.Mark(), path, "expected a mapping of keys, got " + describeNode(node));
      return;
    }
    const pb::Descriptor* desc = msg->GetDescriptor();
    std::set<std::string> seen;
    std::map<const pb::OneofDescriptor*, std::string> oneofs;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // yaml-cpp iterators hand out temporaries: copy the (cheap) handles.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        error(key.Mark(), path, "keys must be plain words");
        continue;
      }
      const std::string name = key.Scalar();
      std::string key_path = join(path, name);
      if (!seen.insert(name).second) {
        error(key.Mark(), key_path, "duplicate key (each key may appear once)");
        continue;
      }
      const pb::FieldDescriptor* field = desc->FindFieldByName(name);
      if (field == nullptr) {
        error(key.Mark(), key_path, "unknown key" + suggestion(desc, name));
        continue;
      }
      note(key.Mark(), key_path);
      if (const pb::OneofDescriptor* oneof = field->real_containing_oneof()) {
        auto [it_set, fresh] = oneofs.emplace(oneof, name);
        if (!fresh) {
          error(
              key.Mark(), key_path,
              "'" + it_set->second + "' is already given; use only one of " + oneofMembers(oneof));
          continue;
        }
      }
      loadField(value, msg, field, key_path);
    }
  }

  // Sets one value from YAML text; used for file values and schema defaults.
  bool setScalar(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                 const std::string& path) {
    const pb::Reflection* refl = msg->GetReflection();
    const v1::FieldRules& rules = rulesOf(field);
    if (isDuration(field)) {
      if (!node.IsScalar()) return typeError(node, path, "a duration such as 30s");
      auto parsed = parseDuration(node.Scalar());
      if (!parsed.ok()) return fail(node.Mark(), path, parsed.error().message());
      double secs = std::chrono::duration<double>(*parsed).count();
      if (!checkRange(node, path, secs, rules, node.Scalar())) return false;
      auto* d = static_cast<pb::Duration*>(field->is_repeated() ? refl->AddMessage(msg, field)
                                                                : refl->MutableMessage(msg, field));
      d->set_seconds(parsed->count() / 1'000'000'000);
      d->set_nanos(static_cast<int32_t>(parsed->count() % 1'000'000'000));
      return true;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        if (!node.IsNull() && !node.IsScalar()) return typeError(node, path, "a string");
        const std::string s = node.IsNull() ? std::string() : node.Scalar();
        if (rules.absolute_path() && (s.empty() || s.front() != '/')) {
          return fail(node.Mark(), path, "expected an absolute path, got '" + s + "'");
        }
        field->is_repeated() ? refl->AddString(msg, field, s) : refl->SetString(msg, field, s);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        if (!node.IsScalar()) return typeError(node, path, "true or false");
        std::string s = node.Scalar();
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (s == "true" || s == "yes" || s == "on") {
          setBool(msg, field, true);
        } else if (s == "false" || s == "no" || s == "off") {
          setBool(msg, field, false);
        } else {
          return typeError(node, path, "true or false");
        }
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        if (!node.IsScalar()) return typeError(node, path, enumChoices(field->enum_type()));
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          const pb::EnumValueDescriptor* v = field->enum_type()->value(i);
          if (v->number() != 0 && enumShortName(v) == node.Scalar()) {
            field->is_repeated() ? refl->AddEnum(msg, field, v) : refl->SetEnum(msg, field, v);
            return true;
          }
        }
        return typeError(node, path, enumChoices(field->enum_type()));
      }
      case pb::FieldDescriptor::CPPTYPE_UINT32:
      case pb::FieldDescriptor::CPPTYPE_UINT64:
      case pb::FieldDescriptor::CPPTYPE_INT32:
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return setInteger(node, msg, field, path);
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      case pb::FieldDescriptor::CPPTYPE_FLOAT: {
        if (!node.IsScalar()) return typeError(node, path, "a number");
        double v = 0;
        const std::string& s = node.Scalar();
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
          return typeError(node, path, "a number");
        }
        if (!checkRange(node, path, v, rules, s)) return false;
        if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
          field->is_repeated() ? refl->AddDouble(msg, field, v) : refl->SetDouble(msg, field, v);
        } else {
          field->is_repeated() ? refl->AddFloat(msg, field, static_cast<float>(v))
                               : refl->SetFloat(msg, field, static_cast<float>(v));
        }
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
    return fail(node.Mark(), path, "this key cannot hold a single value");
  }

  std::vector<std::string> takeErrors() { return std::move(errors_); }
  std::map<std::string, int> takeLines() { return std::move(lines_); }

 private:
  void loadField(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                 const std::string& path) {
    if (field->is_repeated()) {
      loadList(node, msg, field, path);
      return;
    }
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !isDuration(field)) {
      // A message first set here (a oneof member, say) starts from its defaults.
      bool fresh = !msg->GetReflection()->HasField(*msg, field);
      pb::Message* sub = msg->GetReflection()->MutableMessage(msg, field);
      if (fresh) applySchemaDefaults(sub);
      loadMessage(node, sub, path);
      return;
    }
    setScalar(node, msg, field, path);
  }

  // A list of scalars or of mappings; each element follows the same rules
  // (types, bounds, enum names) as a single value.
  void loadList(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                const std::string& path) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      error(node.Mark(), path, "expected a list, got " + describeNode(node));
      return;
    }
    const pb::Reflection* refl = msg->GetReflection();
    size_t index = 0;
    for (const YAML::Node& element : node) {
      std::string element_path = path + "[" + std::to_string(index++) + "]";
      note(element.Mark(), element_path);
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        pb::Message* added = refl->AddMessage(msg, field);
        applySchemaDefaults(added);
        loadMessage(element, added, element_path);
        continue;
      }
      setScalar(element, msg, field, element_path);
    }
  }

  bool setInteger(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                  const std::string& path) {
    const v1::FieldRules& rules = rulesOf(field);
    if (!node.IsScalar()) return typeError(node, path, rules.size() ? "a size" : "an integer");
    const std::string& s = node.Scalar();
    bool is_signed = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32 ||
                     field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT64;
    long double value = 0;
    if (rules.size()) {
      auto parsed = parseSize(s);
      if (!parsed.ok()) return fail(node.Mark(), path, parsed.error().message());
      value = static_cast<long double>(*parsed);
    } else if (is_signed) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc::result_out_of_range) return outOfType(node, path, s);
      if (ec != std::errc() || ptr != s.data() + s.size())
        return typeError(node, path, "an integer");
      value = static_cast<long double>(v);
    } else {
      if (!s.empty() && s.front() == '-') {
        return fail(node.Mark(), path, "must not be negative, got " + s);
      }
      uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc::result_out_of_range) return outOfType(node, path, s);
      if (ec != std::errc() || ptr != s.data() + s.size()) {
        return typeError(node, path, "a whole number");
      }
      value = static_cast<long double>(v);
    }
    if (!checkRange(node, path, static_cast<double>(value), rules, s)) return false;
    const pb::Reflection* refl = msg->GetReflection();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        if (value > std::numeric_limits<uint32_t>::max()) return outOfType(node, path, s);
        field->is_repeated() ? refl->AddUInt32(msg, field, static_cast<uint32_t>(value))
                             : refl->SetUInt32(msg, field, static_cast<uint32_t>(value));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        field->is_repeated() ? refl->AddUInt64(msg, field, static_cast<uint64_t>(value))
                             : refl->SetUInt64(msg, field, static_cast<uint64_t>(value));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        if (value > std::numeric_limits<int32_t>::max() ||
            value < std::numeric_limits<int32_t>::min()) {
          return outOfType(node, path, s);
        }
        field->is_repeated() ? refl->AddInt32(msg, field, static_cast<int32_t>(value))
                             : refl->SetInt32(msg, field, static_cast<int32_t>(value));
        break;
      default:
        field->is_repeated() ? refl->AddInt64(msg, field, static_cast<int64_t>(value))
                             : refl->SetInt64(msg, field, static_cast<int64_t>(value));
        break;
    }
    return true;
  }

  bool checkRange(const YAML::Node& node, const std::string& path, double v,
                  const v1::FieldRules& rules, const std::string& text) {
    if (rules.has_min() && v < rules.min()) {
      return fail(node.Mark(), path,
                  "out of range: " + text + " is below the minimum of " +
                      describeBound(rules.min(), rules));
    }
    if (rules.has_max() && v > rules.max()) {
      return fail(node.Mark(), path,
                  "out of range: " + text + " is above the maximum of " +
                      describeBound(rules.max(), rules));
    }
    return true;
  }

  static std::string describeBound(double bound, const v1::FieldRules& rules) {
    if (rules.size()) return formatSize(static_cast<uint64_t>(bound));
    if (bound == std::floor(bound)) return std::to_string(static_cast<long long>(bound));
    return std::to_string(bound);
  }

  static std::string enumChoices(const pb::EnumDescriptor* type) {
    std::string out = "one of";
    for (int i = 0; i < type->value_count(); ++i) {
      if (type->value(i)->number() == 0) continue;
      out += (out.size() > 6 ? ", " : " ") + enumShortName(type->value(i));
    }
    return out;
  }

  static std::string oneofMembers(const pb::OneofDescriptor* oneof) {
    std::string out;
    for (int i = 0; i < oneof->field_count(); ++i) {
      out += (i == 0                          ? ""
              : i + 1 == oneof->field_count() ? " or "
                                              : ", ") +
             oneof->field(i)->name();
    }
    return out;
  }

  static std::string suggestion(const pb::Descriptor* desc, const std::string& name) {
    std::string best;
    size_t best_distance = 3;  // only close typos are worth suggesting
    std::string known;
    for (int i = 0; i < desc->field_count(); ++i) {
      const std::string& candidate = desc->field(i)->name();
      known += (known.empty() ? "" : ", ") + candidate;
      size_t d = editDistance(name, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
    if (!best.empty()) return " (did you mean '" + best + "'?)";
    return " (known keys: " + known + ")";
  }

  bool typeError(const YAML::Node& node, const std::string& path, const std::string& expected) {
    return fail(node.Mark(), path, "expected " + expected + ", got " + describeNode(node));
  }

  bool outOfType(const YAML::Node& node, const std::string& path, const std::string& text) {
    return fail(node.Mark(), path, "out of range: " + text + " does not fit this key");
  }

  bool fail(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    error(mark, path, message);
    return false;
  }

  static void setBool(pb::Message* msg, const pb::FieldDescriptor* field, bool value) {
    const pb::Reflection* refl = msg->GetReflection();
    field->is_repeated() ? refl->AddBool(msg, field, value) : refl->SetBool(msg, field, value);
  }

  void note(const YAML::Mark& mark, const std::string& path) {
    if (!mark.is_null()) lines_.emplace(path, mark.line + 1);
  }

  void error(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    std::string line = mark.is_null() ? "1" : std::to_string(mark.line + 1);
    errors_.push_back(source_ + ":" + line + ": " + (path.empty() ? "" : path + ": ") + message);
  }

  std::string source_;
  std::vector<std::string> errors_;
  std::map<std::string, int> lines_;
};

// Lines that carry YAML content: not blank, not comments, not "---" markers.
// Also reports the line of a second document, if the text has one.
struct ContentScan {
  bool has_content = false;
  int second_document_line = 0;
};

ContentScan scanContent(std::string_view yaml) {
  ContentScan scan;
  int line_no = 0;
  bool seen_content = false;
  bool ended = false;  // after "...", any content is another document
  while (!yaml.empty()) {
    ++line_no;
    size_t nl = yaml.find('\n');
    std::string_view line = yaml.substr(0, nl);
    yaml.remove_prefix(nl == std::string_view::npos ? yaml.size() : nl + 1);
    auto is_marker = [&](std::string_view m) {
      return line.starts_with(m) &&
             (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    if (is_marker("...")) {
      ended = seen_content;
      continue;
    }
    bool start = is_marker("---");
    size_t first = line.find_first_not_of(" \t\r");
    bool content = !start && first != std::string_view::npos && line[first] != '#';
    if ((start && seen_content) || (content && ended)) {
      if (scan.second_document_line == 0) scan.second_document_line = line_no;
    }
    if (content) seen_content = scan.has_content = true;
  }
  return scan;
}

}  // namespace

void applySchemaDefaults(pb::Message* msg) {
  const pb::Descriptor* desc = msg->GetDescriptor();
  const pb::Reflection* refl = msg->GetReflection();
  Loader loader("<schema default>");
  for (int i = 0; i < desc->field_count(); ++i) {
    const pb::FieldDescriptor* field = desc->field(i);
    const v1::FieldRules& rules = rulesOf(field);
    if (rules.has_default_value()) {
      if (!loader.setScalar(YAML::Node(rules.default_value()), msg, field, field->full_name())) {
        std::abort();  // a schema default that does not parse is a bug; tests catch it
      }
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated() &&
               field->real_containing_oneof() == nullptr) {
      applySchemaDefaults(refl->MutableMessage(msg, field));
    }
  }
}

YamlLoad loadYamlMessage(std::string_view yaml, std::string_view source_name, pb::Message* msg) {
  YamlLoad result;
  std::string source(source_name);
  // One document only. Checked on the text: yaml-cpp 0.7's LoadAll() loops
  // forever on some malformed input (a lone ","), found by tests/fuzz.
  ContentScan scan = scanContent(yaml);
  if (scan.second_document_line > 0) {
    result.errors.push_back(source + ":" + std::to_string(scan.second_document_line) +
                            ": a second YAML document starts here; a file is one document");
    return result;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    std::string line = e.mark.is_null() ? "1" : std::to_string(e.mark.line + 1);
    result.errors.push_back(source + ":" + line + ": not valid YAML: " + e.msg);
    return result;
  }
  if (root.IsNull() && scan.has_content) {
    result.errors.push_back(source + ":1: not valid YAML: expected a mapping of keys");
    return result;
  }
  if (!root.IsNull() && !root.IsMap()) {
    result.errors.push_back(source + ":" + std::to_string(root.Mark().line + 1) +
                            ": expected a mapping of keys at the top level, got " +
                            describeNode(root));
    return result;
  }
  Loader loader(source);
  try {
    loader.loadMessage(root, msg, "");
    result.errors = loader.takeErrors();
  } catch (const YAML::Exception& e) {
    result.errors.push_back(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  result.lines = loader.takeLines();
  return result;
}

}  // namespace demarc::config
