#include "tests/support/reflective_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <vector>

#include "agent/core/encoding.h"

namespace demarc::testing {
namespace {

namespace pb = google::protobuf;

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;                                          // overlong
  if (n == 3 && c == 0xe0 && byte(i + 1) < 0xa0) return 0;                   // overlong
  if (n == 3 && c == 0xed && byte(i + 1) >= 0xa0) return 0;                  // surrogates
  if (n == 4 && c == 0xf0 && byte(i + 1) < 0x90) return 0;                   // overlong
  if (n == 4 && (c > 0xf4 || (c == 0xf4 && byte(i + 1) >= 0x90))) return 0;  // > U+10FFFF
  return n;
}

void appendString(std::string_view s, std::string& out) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
      ++i;
      continue;
    }
    size_t n = utf8Length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    out.append(s.data() + i, n);
    i += n;
  }
  out.push_back('"');
}

template <typename T>
void appendNumber(T v, std::string& out) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ptr);
}

void appendDouble(double v, std::string& out) {
  if (v != v) {
    out += "\"NaN\"";
  } else if (v == std::numeric_limits<double>::infinity()) {
    out += "\"Infinity\"";
  } else if (v == -std::numeric_limits<double>::infinity()) {
    out += "\"-Infinity\"";
  } else {
    appendNumber(v, out);
  }
}

// Nanoseconds the way protobuf prints them: none, or 3, 6 or 9 digits.
void appendNanos(int32_t nanos, std::string& out) {
  if (nanos == 0) return;
  char buf[16];
  if (nanos % 1'000'000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%03d", nanos / 1'000'000);
  } else if (nanos % 1000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%06d", nanos / 1000);
  } else {
    std::snprintf(buf, sizeof(buf), ".%09d", nanos);
  }
  out += buf;
}

bool appendWellKnown(const pb::Message& msg, std::string& out) {
  const std::string& type = msg.GetDescriptor()->full_name();
  if (type != "google.protobuf.Timestamp" && type != "google.protobuf.Duration") return false;
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  int64_t seconds = r->GetInt64(msg, d->FindFieldByName("seconds"));
  int32_t nanos = r->GetInt32(msg, d->FindFieldByName("nanos"));
  out.push_back('"');
  if (type == "google.protobuf.Duration") {
    if (seconds < 0 || nanos < 0) out.push_back('-');
    appendNumber(seconds < 0 ? -seconds : seconds, out);
    appendNanos(nanos < 0 ? -nanos : nanos, out);
    out += "s\"";
    return true;
  }
  time_t tt = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  out += buf;
  appendNanos(nanos, out);
  out += "Z\"";
  return true;
}

void appendValue(const pb::Message& msg, const pb::FieldDescriptor* f, int index, std::string& out);

void appendMessage(const pb::Message& msg, std::string& out) {
  if (appendWellKnown(msg, out)) return;
  const pb::Reflection* r = msg.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(msg, &fields);  // set fields, in field number order
  out.push_back('{');
  bool first = true;
  for (const pb::FieldDescriptor* f : fields) {
    if (!first) out.push_back(',');
    first = false;
    appendString(f->name(), out);
    out.push_back(':');
    if (f->is_map()) {
      // Entries sorted by key so equal maps encode to equal bytes.
      int n = r->FieldSize(msg, f);
      std::vector<std::pair<std::string, const pb::Message*>> entries;
      const pb::FieldDescriptor* key = f->message_type()->map_key();
      for (int i = 0; i < n; ++i) {
        const pb::Message& entry = r->GetRepeatedMessage(msg, f, i);
        std::string k;
        appendValue(entry, key, -1, k);
        if (k.empty() || k.front() != '"') k = "\"" + k + "\"";
        entries.emplace_back(std::move(k), &entry);
      }
      std::sort(entries.begin(), entries.end());
      out.push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out.push_back(',');
        out += entries[i].first;
        out.push_back(':');
        appendValue(*entries[i].second, f->message_type()->map_value(), -1, out);
      }
      out.push_back('}');
    } else if (f->is_repeated()) {
      out.push_back('[');
      int n = r->FieldSize(msg, f);
      for (int i = 0; i < n; ++i) {
        if (i) out.push_back(',');
        appendValue(msg, f, i, out);
      }
      out.push_back(']');
    } else {
      appendValue(msg, f, -1, out);
    }
  }
  out.push_back('}');
}

// One value of field f (element index of a repeated field, or -1).
void appendValue(const pb::Message& msg, const pb::FieldDescriptor* f, int index,
                 std::string& out) {
  const pb::Reflection* r = msg.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      appendNumber(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f), out);
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      appendNumber(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f), out);
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      out.push_back('"');
      appendNumber(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f), out);
      out.push_back('"');
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      out.push_back('"');
      appendNumber(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f), out);
      out.push_back('"');
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      appendDouble(rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f), out);
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      appendDouble(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f), out);
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      out += (rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false";
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v =
          rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f);
      appendString(v->name(), out);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(msg, f, index, &scratch)
                                 : r->GetStringReference(msg, f, &scratch);
      if (f->type() == pb::FieldDescriptor::TYPE_BYTES) {
        out.push_back('"');
        out += base64Encode(s);
        out.push_back('"');
      } else {
        appendString(s, out);
      }
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      appendMessage(rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f), out);
      break;
  }
}

}  // namespace

std::string reflectiveJson(const pb::Message& msg) {
  std::string out;
  appendMessage(msg, out);
  return out;
}

}  // namespace demarc::testing
