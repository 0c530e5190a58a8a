// Reads the protobuf JSON mapping straight into a message's binary encoding,
// which the generated code then parses: protobuf's own JSON parser (util's
// converter) goes through a type resolver and a token stream and cost about
// 15 us per telemetry record, which made reading a day of evidence take
// minutes. Accepts what protobuf's parser accepts for demarc's records:
// proto or lowerCamelCase field names, unknown fields (skipped), null for a
// default, 64-bit integers as strings or numbers, enums by name or number,
// Timestamp and Duration as strings, maps as objects.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

#include "agent/core/encoding.h"
#include "agent/evidence/json.h"

namespace demarc::evidence {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

constexpr int kMaxDepth = 64;

struct ReadPlan;

struct FieldInfo {
  const FD* field = nullptr;
  const ReadPlan* message = nullptr;  // message fields, map entries too
};

struct ReadPlan {
  enum class Kind { kPlain, kTimestamp, kDuration } kind = Kind::kPlain;
  const pb::Descriptor* descriptor = nullptr;
  std::unordered_map<std::string, FieldInfo> by_name;  // proto and JSON names
  bool is_map_entry = false;
};

const ReadPlan& readPlanOf(const pb::Descriptor* d) {
  thread_local std::unordered_map<const pb::Descriptor*, std::unique_ptr<ReadPlan>> plans;
  auto& slot = plans[d];
  if (slot) return *slot;
  slot = std::make_unique<ReadPlan>();
  ReadPlan& plan = *slot;
  plan.descriptor = d;
  plan.is_map_entry = d->options().map_entry();
  if (d == pb::Timestamp::descriptor()) plan.kind = ReadPlan::Kind::kTimestamp;
  if (d == pb::Duration::descriptor()) plan.kind = ReadPlan::Kind::kDuration;
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    plan.by_name[f->name()] = {f, nullptr};
    plan.by_name[f->json_name()] = {f, nullptr};
  }
  // Nested plans after this one is in the table: types may refer to
  // themselves.
  for (auto& [name, info] : plan.by_name) {
    if (info.field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      info.message = &readPlanOf(info.field->message_type());
    }
  }
  return plan;
}

void putVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putTag(int number, int wire_type, std::string& out) {
  putVarint((static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(wire_type), out);
}

template <typename T>
void putFixed(T v, std::string& out) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts (x86_64, arm64)
  out.append(buf, sizeof(T));
}

void putZigZag(int64_t v, std::string& out) {
  putVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void putLengthDelimited(int number, std::string_view bytes, std::string& out) {
  putTag(number, 2, out);
  putVarint(bytes.size(), out);
  out.append(bytes);
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Digits of text[at, at+n) as a number, or -1.
int digitsAt(std::string_view text, size_t at, size_t n) {
  if (at + n > text.size()) return -1;
  int v = 0;
  for (size_t k = at; k < at + n; ++k) {
    if (text[k] < '0' || text[k] > '9') return -1;
    v = v * 10 + (text[k] - '0');
  }
  return v;
}

// ".123" -> 123000000 nanoseconds; advances at. Up to nine digits.
bool fractionAt(std::string_view text, size_t& at, int32_t& nanos) {
  nanos = 0;
  if (at >= text.size() || text[at] != '.') return true;
  ++at;
  int digits = 0;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    if (++digits > 9) return false;
    nanos = nanos * 10 + (text[at++] - '0');
  }
  if (digits == 0) return false;
  for (int k = digits; k < 9; ++k) nanos *= 10;
  return true;
}

// RFC 3339: 2026-11-30T21:47:05.123Z or with a numeric offset.
bool parseTimestampText(std::string_view t, int64_t& seconds, int32_t& nanos) {
  int year = digitsAt(t, 0, 4), month = digitsAt(t, 5, 2), day = digitsAt(t, 8, 2);
  int hour = digitsAt(t, 11, 2), minute = digitsAt(t, 14, 2), second = digitsAt(t, 17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60 || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':') {
    return false;
  }
  size_t at = 19;
  if (!fractionAt(t, at, nanos) || at >= t.size()) return false;
  int64_t offset = 0;
  if (t[at] == 'Z' || t[at] == 'z') {
    ++at;
  } else if (t[at] == '+' || t[at] == '-') {
    int oh = digitsAt(t, at + 1, 2), om = digitsAt(t, at + 4, 2);
    if (oh < 0 || om < 0 || at + 3 >= t.size() || t[at + 3] != ':') return false;
    offset = (t[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return false;
  }
  if (at != t.size()) return false;
  seconds = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
            hour * 3600 + minute * 60 + second - offset;
  return true;
}

// "-1.5s"
bool parseDurationText(std::string_view t, int64_t& seconds, int32_t& nanos) {
  if (t.size() < 2 || t.back() != 's') return false;
  t.remove_suffix(1);
  bool negative = !t.empty() && t.front() == '-';
  if (negative) t.remove_prefix(1);
  size_t dot = t.find('.');
  std::string_view whole = t.substr(0, dot);
  if (whole.empty()) return false;
  auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc() || ptr != whole.data() + whole.size()) return false;
  size_t at = dot == std::string_view::npos ? t.size() : dot;
  if (!fractionAt(t, at, nanos) || at != t.size()) return false;
  if (negative) {
    seconds = -seconds;
    nanos = -nanos;
  }
  // The range protobuf allows: about 10,000 years either way.
  return seconds >= -315'576'000'000 && seconds <= 315'576'000'000;
}

// Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF), as
// protobuf requires of string fields; checked here so that such text is
// refused with its place named instead of by the binary parser.
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || i + n > s.size()) return false;
    auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xe0 && b1 < 0xa0) || (c == 0xed && b1 > 0x9f) || (c == 0xf0 && b1 < 0x90) ||
        (c == 0xf4 && b1 > 0x8f)) {
      return false;
    }
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  bool message(const ReadPlan& plan, std::string& out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    if (!expect('{')) return false;
    ws();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    std::string key;
    for (;;) {
      ws();
      if (!string(key)) return false;
      ws();
      if (!expect(':')) return false;
      ws();
      auto it = plan.by_name.find(key);
      if (it == plan.by_name.end()) {
        if (!skipValue(depth + 1)) return false;  // an unknown field: ignored
      } else if (!fieldValue(it->second, out, depth + 1)) {
        if (error_.find("field '") == std::string::npos) {
          error_ = "field '" + key + "': " + error_;
        }
        return false;
      }
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      return expect('}');
    }
  }

  // The whole text: one object of plan's type.
  bool document(const ReadPlan& plan, std::string& out) {
    ws();
    if (!message(plan, out, 0)) return false;
    ws();
    return i_ == s_.size() || fail("unexpected text after the object");
  }

  std::string error() const { return error_ + " (at byte " + std::to_string(i_) + ")"; }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool expect(char c) {
    if (peek() == c) {
      ++i_;
      return true;
    }
    if (i_ >= s_.size()) return fail(std::string("expected '") + c + "', the text ends");
    return fail(std::string("expected '") + c + "', found '" + s_[i_] + "'");
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("not a JSON value");
    i_ += word.size();
    return true;
  }

  static void appendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool hex4(uint32_t& v) {
    if (i_ + 4 > s_.size()) return fail("a \\u escape is cut short");
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("a \\u escape holds a non-hex digit");
      }
    }
    return true;
  }

  bool string(std::string& out) {
    out.clear();
    if (!expect('"')) return false;
    for (;;) {
      size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\' &&
             static_cast<unsigned char>(s_[i_]) >= 0x20) {
        ++i_;
      }
      std::string_view run = s_.substr(start, i_ - start);
      if (!validUtf8(run)) return fail("a string holds bytes that are not UTF-8");
      out.append(run);
      if (i_ >= s_.size()) return fail("a string is not closed");
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') return fail("a control character inside a string");
      if (i_ >= s_.size()) return fail("a string is not closed");
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t low = 0;
            if (s_.substr(i_, 2) != "\\u") return fail("a lone high surrogate");
            i_ += 2;
            if (!hex4(low)) return false;
            if (low < 0xdc00 || low >= 0xe000) return fail("a lone high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("a lone low surrogate");
          }
          appendUtf8(cp, out);
          break;
        }
        default:
          return fail(std::string("an unknown escape \\") + e);
      }
    }
  }

  // The text of a JSON number, unparsed.
  bool numberText(std::string_view& text) {
    size_t start = i_;
    if (peek() == '-') ++i_;
    while (i_ < s_.size() && ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' || s_[i_] == 'e' ||
                              s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    text = s_.substr(start, i_ - start);
    return !text.empty() || fail("not a JSON value");
  }

  bool skipValue(int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    ws();
    char c = peek();
    if (c == '"') return string(scratch_);
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      ws();
      if (peek() == close) {
        ++i_;
        return true;
      }
      for (;;) {
        ws();
        if (c == '{') {
          if (!string(scratch_)) return false;
          ws();
          if (!expect(':')) return false;
        }
        if (!skipValue(depth + 1)) return false;
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        return expect(close);
      }
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    std::string_view number;
    return numberText(number);
  }

  // A number given as a JSON number or a string, for an integer field.
  template <typename T>
  bool integer(T& v) {
    std::string_view text;
    std::string quoted;
    if (peek() == '"') {
      if (!string(quoted)) return false;
      text = quoted;
    } else if (!numberText(text)) {
      return false;
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) return true;
    // 1e3 or 5.0: integers written as floating point.
    double d = 0;
    auto [dptr, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (dec == std::errc() && dptr == text.data() + text.size() && std::floor(d) == d &&
        d >= static_cast<double>(std::numeric_limits<T>::min()) &&
        d <= static_cast<double>(std::numeric_limits<T>::max())) {
      v = static_cast<T>(d);
      return true;
    }
    return fail("expected an integer, got '" + std::string(text) + "'");
  }

  // An integer of type T (range checked), handed to put.
  template <typename T, typename Put>
  bool integerAs(const Put& put) {
    T v = 0;
    if (!integer(v)) return false;
    put(v);
    return true;
  }

  bool floating(double& v) {
    if (peek() == '"') {
      std::string text;
      if (!string(text)) return false;
      if (text == "NaN") {
        v = std::numeric_limits<double>::quiet_NaN();
      } else if (text == "Infinity") {
        v = std::numeric_limits<double>::infinity();
      } else if (text == "-Infinity") {
        v = -std::numeric_limits<double>::infinity();
      } else {
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size()) {
          return fail("expected a number, got '" + text + "'");
        }
      }
      return true;
    }
    std::string_view text;
    if (!numberText(text)) return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return (ec == std::errc() && ptr == text.data() + text.size()) ||
           fail("expected a number, got '" + std::string(text) + "'");
  }

  // One value of field f (an element, for repeated fields), appended as
  // wire format.
  bool singleValue(const FieldInfo& info, std::string& out, int depth) {
    const FD* f = info.field;
    const int n = f->number();
    switch (f->type()) {
      case FD::TYPE_STRING: {
        if (!string(value_)) return false;
        putLengthDelimited(n, value_, out);
        return true;
      }
      case FD::TYPE_BYTES: {
        if (!string(value_)) return false;
        auto raw = base64Decode(value_);
        if (!raw) return fail("expected base64");
        putLengthDelimited(n, *raw, out);
        return true;
      }
      case FD::TYPE_BOOL: {
        bool b = peek() == 't';
        if (!literal(b ? "true" : "false")) return fail("expected true or false");
        putTag(n, 0, out);
        putVarint(b ? 1 : 0, out);
        return true;
      }
      case FD::TYPE_ENUM: {
        int32_t number = 0;
        if (peek() == '"') {
          if (!string(value_)) return false;
          const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(value_);
          if (!e) return fail("'" + value_ + "' is not a value of " + f->enum_type()->name());
          number = e->number();
        } else if (!integer(number)) {
          return false;
        }
        putTag(n, 0, out);
        putVarint(static_cast<uint64_t>(static_cast<int64_t>(number)), out);
        return true;
      }
      case FD::TYPE_INT32:
        putTag(n, 0, out);
        return integerAs<int32_t>([&](int32_t v) { putVarint(static_cast<uint64_t>(v), out); });
      case FD::TYPE_INT64:
        putTag(n, 0, out);
        return integerAs<int64_t>([&](int64_t v) { putVarint(static_cast<uint64_t>(v), out); });
      case FD::TYPE_UINT32:
        putTag(n, 0, out);
        return integerAs<uint32_t>([&](uint32_t v) { putVarint(v, out); });
      case FD::TYPE_UINT64:
        putTag(n, 0, out);
        return integerAs<uint64_t>([&](uint64_t v) { putVarint(v, out); });
      case FD::TYPE_SINT32:
        putTag(n, 0, out);
        return integerAs<int32_t>([&](int32_t v) { putZigZag(v, out); });
      case FD::TYPE_SINT64:
        putTag(n, 0, out);
        return integerAs<int64_t>([&](int64_t v) { putZigZag(v, out); });
      case FD::TYPE_FIXED32:
        putTag(n, 5, out);
        return integerAs<uint32_t>([&](uint32_t v) { putFixed(v, out); });
      case FD::TYPE_SFIXED32:
        putTag(n, 5, out);
        return integerAs<int32_t>([&](int32_t v) { putFixed(v, out); });
      case FD::TYPE_FIXED64:
        putTag(n, 1, out);
        return integerAs<uint64_t>([&](uint64_t v) { putFixed(v, out); });
      case FD::TYPE_SFIXED64:
        putTag(n, 1, out);
        return integerAs<int64_t>([&](int64_t v) { putFixed(v, out); });
      case FD::TYPE_DOUBLE:
      case FD::TYPE_FLOAT: {
        double v = 0;
        if (!floating(v)) return false;
        if (v == 0) v = 0;  // -0 reads as 0, as protobuf's parser has it
        if (f->type() == FD::TYPE_DOUBLE) {
          putTag(n, 1, out);
          putFixed(v, out);
        } else {
          putTag(n, 5, out);
          putFixed(static_cast<float>(v), out);
        }
        return true;
      }
      case FD::TYPE_MESSAGE: {
        std::string nested;
        if (!messageValue(*info.message, nested, depth)) return false;
        putLengthDelimited(n, nested, out);
        return true;
      }
      default:
        return fail("a field type demarc does not use");
    }
  }

  bool messageValue(const ReadPlan& plan, std::string& out, int depth) {
    if (plan.kind == ReadPlan::Kind::kPlain) return message(plan, out, depth);
    std::string text;
    if (!string(text)) return false;
    int64_t seconds = 0;
    int32_t nanos = 0;
    bool timestamp = plan.kind == ReadPlan::Kind::kTimestamp;
    if (timestamp ? !parseTimestampText(text, seconds, nanos)
                  : !parseDurationText(text, seconds, nanos)) {
      return fail(std::string(timestamp ? "not an RFC 3339 time" : "not a duration such as 1.5s") +
                  ": '" + text + "'");
    }
    if (seconds != 0) {
      putTag(1, 0, out);
      putVarint(static_cast<uint64_t>(seconds), out);
    }
    if (nanos != 0) {
      putTag(2, 0, out);
      putVarint(static_cast<uint64_t>(static_cast<int64_t>(nanos)), out);
    }
    return true;
  }

  // A map field: {"key": value, ...}, each pair a map entry message.
  bool mapValue(const FieldInfo& info, std::string& out, int depth) {
    const ReadPlan& entry = *info.message;
    const FD* key_field = entry.descriptor->map_key();
    const FD* value_field = entry.descriptor->map_value();
    const FieldInfo value_info = entry.by_name.at(value_field->name());
    if (!expect('{')) return false;
    ws();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    std::string key;
    for (;;) {
      ws();
      if (!string(key)) return false;
      ws();
      if (!expect(':')) return false;
      ws();
      std::string pair;
      if (key_field->type() == FD::TYPE_STRING) {
        putLengthDelimited(1, key, pair);
      } else if (key_field->type() == FD::TYPE_BOOL) {
        if (key != "true" && key != "false") return fail("a map key is not true or false");
        putTag(1, 0, pair);
        putVarint(key == "true" ? 1 : 0, pair);
      } else {
        // Integer keys: parse the quoted key as the key field's value.
        const std::string quoted = "\"" + key + "\"";
        Reader keys(quoted);
        FieldInfo key_info{key_field, nullptr};
        if (!keys.singleValue(key_info, pair, depth)) return fail("map key '" + key + "'");
      }
      if (peek() == 'n') {
        if (!literal("null")) return false;
      } else if (!singleValue(value_info, pair, depth + 1)) {
        return false;
      }
      putLengthDelimited(info.field->number(), pair, out);
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      return expect('}');
    }
  }

  bool fieldValue(const FieldInfo& info, std::string& out, int depth) {
    if (peek() == 'n') return literal("null");  // the default
    if (info.field->is_map()) return mapValue(info, out, depth);
    if (!info.field->is_repeated()) return singleValue(info, out, depth);
    if (!expect('[')) return false;
    ws();
    if (peek() == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      ws();
      if (!singleValue(info, out, depth)) return false;
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      return expect(']');
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
  std::string scratch_;
  std::string value_;
};

}  // namespace

Status parseJson(std::string_view text, google::protobuf::Message& msg) {
  const ReadPlan& plan = readPlanOf(msg.GetDescriptor());
  Reader reader(text);
  thread_local std::string wire;
  wire.clear();
  if (!reader.document(plan, wire)) return Error(ErrorCode::kCorrupt, reader.error());
  msg.Clear();
  if (!msg.ParseFromString(wire)) {
    // What JSON cannot say but the binary parser checks: UTF-8 in strings.
    return Error(ErrorCode::kCorrupt, "a string field holds text that is not UTF-8");
  }
  return okStatus();
}

}  // namespace demarc::evidence
