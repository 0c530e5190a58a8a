#include "agent/evidence/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/encoding.h"

namespace demarc::evidence {
namespace {

namespace pb = google::protobuf;
namespace pbu = google::protobuf::util;

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

// True for the bytes that go into JSON as they are: printable ASCII other
// than the quote and the backslash.
bool plainByte(char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

void appendString(std::string_view s, std::string& out) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    // Runs of plain bytes, the bulk of every string, are copied at once.
    size_t run = i;
    while (run < s.size() && plainByte(s[run])) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
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
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[(c >> 4) & 0xf]);
      out.push_back(kHex[c & 0xf]);
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
  int digits = 9;
  if (nanos % 1'000'000 == 0) {
    nanos /= 1'000'000;
    digits = 3;
  } else if (nanos % 1000 == 0) {
    nanos /= 1000;
    digits = 6;
  }
  out.push_back('.');
  size_t at = out.size();
  out.append(static_cast<size_t>(digits), '0');
  for (size_t k = at + static_cast<size_t>(digits); nanos > 0; nanos /= 10) {
    out[--k] = static_cast<char>('0' + nanos % 10);
  }
}

void appendTimeValue(bool timestamp, int64_t seconds, int32_t nanos, std::string& out) {
  out.push_back('"');
  if (!timestamp) {
    if (seconds < 0 || nanos < 0) out.push_back('-');
    appendNumber(seconds < 0 ? -seconds : seconds, out);
    appendNanos(nanos < 0 ? -nanos : nanos, out);
    out += "s\"";
    return;
  }
  appendUtcDateTime(seconds, out);
  appendNanos(nanos, out);
  out += "Z\"";
}

// The JSON is written from the message's binary encoding, not through
// reflection: generated code serializes fast, fields come in field-number
// order with defaults left out (the order and omissions of the protobuf JSON
// mapping), and walking the wire format with a per-type plan costs a
// fraction of reflection's per-field lookups, which were most of the cost of
// recording an event.

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Wire {
  const char* p;
  const char* end;

  bool done() const { return p == end; }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p != end; shift += 7) {
      auto b = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return true;
    }
    return false;
  }
  template <typename T>
  bool fixed(T& v) {
    if (static_cast<size_t>(end - p) < sizeof(T)) return false;
    std::memcpy(&v, p, sizeof(T));  // little-endian on every target demarc builds for
    p += sizeof(T);
    return true;
  }
  bool bytes(std::string_view& v) {
    uint64_t n = 0;
    if (!varint(n) || n > static_cast<uint64_t>(end - p)) return false;
    v = std::string_view(p, static_cast<size_t>(n));
    p += n;
    return true;
  }
  bool skip(uint32_t wire_type) {
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    std::string_view sv;
    switch (wire_type) {
      case kVarint:
        return varint(u64);
      case kFixed64:
        return fixed(u64);
      case kLen:
        return bytes(sv);
      case kFixed32:
        return fixed(u32);
      default:
        return false;  // groups: not in proto3
    }
  }
};

uint32_t wireTypeOf(const pb::FieldDescriptor* f) {
  switch (f->type()) {
    case pb::FieldDescriptor::TYPE_DOUBLE:
    case pb::FieldDescriptor::TYPE_FIXED64:
    case pb::FieldDescriptor::TYPE_SFIXED64:
      return kFixed64;
    case pb::FieldDescriptor::TYPE_FLOAT:
    case pb::FieldDescriptor::TYPE_FIXED32:
    case pb::FieldDescriptor::TYPE_SFIXED32:
      return kFixed32;
    case pb::FieldDescriptor::TYPE_STRING:
    case pb::FieldDescriptor::TYPE_BYTES:
    case pb::FieldDescriptor::TYPE_MESSAGE:
      return kLen;
    default:
      return kVarint;
  }
}

struct MessagePlan;

// What the writer needs of a field, looked up once: the descriptor's
// accessors are not free, and they were asked for every field of every
// record.
struct FieldPlan {
  int number = 0;
  const pb::FieldDescriptor* field = nullptr;
  pb::FieldDescriptor::Type type = pb::FieldDescriptor::TYPE_INT32;
  uint32_t wire_type = kVarint;
  bool repeated = false;
  bool map = false;
  std::string key;                       // "name":
  const MessagePlan* message = nullptr;  // message fields (map entries too)
  // Enums: each value's name as a JSON string, by number (0 up to a small
  // bound); empty for numbers with no name there.
  std::vector<std::string> enum_names;
};

struct MessagePlan {
  enum class Kind { kPlain, kTimestamp, kDuration } kind = Kind::kPlain;
  std::vector<FieldPlan> fields;  // by number

  const FieldPlan* find(int number, size_t& hint) const {
    // Fields arrive in number order, so the search moves forward.
    if (hint >= fields.size() || fields[hint].number > number) hint = 0;
    while (hint < fields.size() && fields[hint].number < number) ++hint;
    return hint < fields.size() && fields[hint].number == number ? &fields[hint] : nullptr;
  }
};

constexpr int kEnumTableMax = 256;

// Plans are built once per message type and thread, and kept.
const MessagePlan& planOf(const pb::Descriptor* d) {
  thread_local std::unordered_map<const pb::Descriptor*, std::unique_ptr<MessagePlan>> plans;
  auto& slot = plans[d];
  if (slot) return *slot;
  slot = std::make_unique<MessagePlan>();
  MessagePlan& plan = *slot;
  if (d == pb::Timestamp::descriptor()) plan.kind = MessagePlan::Kind::kTimestamp;
  if (d == pb::Duration::descriptor()) plan.kind = MessagePlan::Kind::kDuration;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    FieldPlan fp;
    fp.number = f->number();
    fp.field = f;
    fp.type = f->type();
    fp.wire_type = wireTypeOf(f);
    fp.repeated = f->is_repeated();
    fp.map = f->is_map();
    if (const pb::EnumDescriptor* e = f->enum_type()) {
      for (int k = 0; k < e->value_count(); ++k) {
        int number = e->value(k)->number();
        if (number < 0 || number >= kEnumTableMax) continue;
        if (fp.enum_names.size() <= static_cast<size_t>(number)) fp.enum_names.resize(number + 1);
        // The first value with a number is its name (aliases come after).
        if (fp.enum_names[number].empty()) appendString(e->value(k)->name(), fp.enum_names[number]);
      }
    }
    appendString(f->name(), fp.key);
    fp.key.push_back(':');
    plan.fields.push_back(std::move(fp));
  }
  std::sort(plan.fields.begin(), plan.fields.end(),
            [](const FieldPlan& a, const FieldPlan& b) { return a.number < b.number; });
  // Nested plans after this one is in the table: types may refer to
  // themselves.
  for (FieldPlan& fp : plan.fields) {
    if (fp.field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      fp.message = &planOf(fp.field->message_type());
    }
  }
  return plan;
}

bool appendMessage(std::string_view bytes, const MessagePlan& plan, std::string& out);

template <typename T>
void appendQuoted(T v, std::string& out) {
  out.push_back('"');
  appendNumber(v, out);
  out.push_back('"');
}

// One value of field f, read from the wire in its own encoding.
bool appendValue(Wire& in, const FieldPlan& f, std::string& out) {
  uint64_t v = 0;
  uint32_t v32 = 0;
  std::string_view s;
  switch (f.type) {
    case pb::FieldDescriptor::TYPE_DOUBLE:
      if (!in.fixed(v)) return false;
      appendDouble(std::bit_cast<double>(v), out);
      return true;
    case pb::FieldDescriptor::TYPE_FLOAT:
      if (!in.fixed(v32)) return false;
      appendDouble(std::bit_cast<float>(v32), out);
      return true;
    case pb::FieldDescriptor::TYPE_FIXED64:
      if (!in.fixed(v)) return false;
      appendQuoted(v, out);
      return true;
    case pb::FieldDescriptor::TYPE_SFIXED64:
      if (!in.fixed(v)) return false;
      appendQuoted(static_cast<int64_t>(v), out);
      return true;
    case pb::FieldDescriptor::TYPE_FIXED32:
      if (!in.fixed(v32)) return false;
      appendNumber(v32, out);
      return true;
    case pb::FieldDescriptor::TYPE_SFIXED32:
      if (!in.fixed(v32)) return false;
      appendNumber(static_cast<int32_t>(v32), out);
      return true;
    case pb::FieldDescriptor::TYPE_INT64:
      if (!in.varint(v)) return false;
      appendQuoted(static_cast<int64_t>(v), out);
      return true;
    case pb::FieldDescriptor::TYPE_UINT64:
      if (!in.varint(v)) return false;
      appendQuoted(v, out);
      return true;
    case pb::FieldDescriptor::TYPE_SINT64:
      if (!in.varint(v)) return false;
      appendQuoted(static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1), out);
      return true;
    case pb::FieldDescriptor::TYPE_INT32:
      if (!in.varint(v)) return false;
      appendNumber(static_cast<int32_t>(v), out);
      return true;
    case pb::FieldDescriptor::TYPE_UINT32:
      if (!in.varint(v)) return false;
      appendNumber(static_cast<uint32_t>(v), out);
      return true;
    case pb::FieldDescriptor::TYPE_SINT32: {
      if (!in.varint(v)) return false;
      auto u = static_cast<uint32_t>(v);
      appendNumber(static_cast<int32_t>(u >> 1) ^ -static_cast<int32_t>(u & 1), out);
      return true;
    }
    case pb::FieldDescriptor::TYPE_BOOL:
      if (!in.varint(v)) return false;
      out += v != 0 ? "true" : "false";
      return true;
    case pb::FieldDescriptor::TYPE_ENUM: {
      if (!in.varint(v)) return false;
      if (v < f.enum_names.size() && !f.enum_names[v].empty()) {
        out += f.enum_names[v];
        return true;
      }
      const pb::EnumValueDescriptor* e =
          f.field->enum_type()->FindValueByNumber(static_cast<int32_t>(v));
      if (e != nullptr) {
        appendString(e->name(), out);
      } else {
        appendNumber(static_cast<int32_t>(v), out);  // a value this build does not know
      }
      return true;
    }
    case pb::FieldDescriptor::TYPE_STRING:
      if (!in.bytes(s)) return false;
      appendString(s, out);
      return true;
    case pb::FieldDescriptor::TYPE_BYTES:
      if (!in.bytes(s)) return false;
      out.push_back('"');
      out += base64Encode(s);
      out.push_back('"');
      return true;
    case pb::FieldDescriptor::TYPE_MESSAGE:
      return in.bytes(s) && appendMessage(s, *f.message, out);
    case pb::FieldDescriptor::TYPE_GROUP:
      break;
  }
  return false;
}

// The value a field has when the wire leaves it out (a map entry's).
void appendDefault(const FieldPlan& f, std::string& out) {
  switch (f.field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      out += "\"0\"";
      return;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      out += "false";
      return;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      out += "\"\"";
      return;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      appendString(f.field->default_value_enum()->name(), out);
      return;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      appendMessage({}, *f.message, out);
      return;
    default:
      out.push_back('0');
      return;
  }
}

// A map entry as "key":value. Keys are JSON strings, numbers quoted.
bool appendMapEntry(std::string_view bytes, const MessagePlan& entry, std::string& key,
                    std::string& value) {
  Wire in{bytes.data(), bytes.data() + bytes.size()};
  const FieldPlan& k = entry.fields.at(0);
  const FieldPlan& v = entry.fields.at(1);
  bool has_key = false;
  bool has_value = false;
  while (!in.done()) {
    uint64_t tag = 0;
    if (!in.varint(tag)) return false;
    auto number = static_cast<int>(tag >> 3);
    auto wire_type = static_cast<uint32_t>(tag & 7);
    const FieldPlan* f = number == 1 ? &k : number == 2 ? &v : nullptr;
    if (f == nullptr || wire_type != f->wire_type) {
      if (!in.skip(wire_type)) return false;
      continue;
    }
    std::string& to = f == &k ? key : value;
    to.clear();
    if (!appendValue(in, *f, to)) return false;
    (f == &k ? has_key : has_value) = true;
  }
  if (!has_key) appendDefault(k, key);
  if (!has_value) appendDefault(v, value);
  if (key.empty() || key.front() != '"') key = "\"" + key + "\"";
  return true;
}

bool appendTime(std::string_view bytes, bool timestamp, std::string& out) {
  Wire in{bytes.data(), bytes.data() + bytes.size()};
  int64_t seconds = 0;
  int32_t nanos = 0;
  while (!in.done()) {
    uint64_t tag = 0;
    uint64_t v = 0;
    if (!in.varint(tag)) return false;
    if ((tag & 7) != kVarint) {
      if (!in.skip(static_cast<uint32_t>(tag & 7))) return false;
      continue;
    }
    if (!in.varint(v)) return false;
    if (tag >> 3 == 1) seconds = static_cast<int64_t>(v);
    if (tag >> 3 == 2) nanos = static_cast<int32_t>(v);
  }
  appendTimeValue(timestamp, seconds, nanos, out);
  return true;
}

bool appendMessage(std::string_view bytes, const MessagePlan& plan, std::string& out) {
  if (plan.kind != MessagePlan::Kind::kPlain) {
    return appendTime(bytes, plan.kind == MessagePlan::Kind::kTimestamp, out);
  }
  Wire in{bytes.data(), bytes.data() + bytes.size()};
  out.push_back('{');
  bool first = true;
  size_t hint = 0;
  const FieldPlan* open = nullptr;  // the repeated field being written
  size_t elements = 0;
  std::vector<std::pair<std::string, std::string>> entries;  // of an open map
  auto close = [&] {
    if (open == nullptr) return;
    if (open->map) {
      // Sorted by key so that equal maps encode to equal bytes.
      std::sort(entries.begin(), entries.end());
      out.push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out.push_back(',');
        out += entries[i].first;
        out.push_back(':');
        out += entries[i].second;
      }
      out.push_back('}');
      entries.clear();
    } else {
      out.push_back(']');
    }
    open = nullptr;
  };
  while (!in.done()) {
    uint64_t tag = 0;
    if (!in.varint(tag)) return false;
    auto number = static_cast<int>(tag >> 3);
    auto wire_type = static_cast<uint32_t>(tag & 7);
    const FieldPlan* f = plan.find(number, hint);
    // Packed repeated scalars come as one length-delimited run.
    bool packed = f != nullptr && f->repeated && wire_type == kLen && f->wire_type != kLen;
    if (f == nullptr || (wire_type != f->wire_type && !packed)) {
      if (!in.skip(wire_type)) return false;  // a field this build does not know
      continue;
    }
    if (f != open) {
      close();
      if (!first) out.push_back(',');
      first = false;
      out += f->key;
      if (f->repeated) {
        open = f;
        elements = 0;
        if (!f->map) out.push_back('[');
      }
    }
    if (f->map) {
      std::string_view entry;
      entries.emplace_back();
      if (!in.bytes(entry) ||
          !appendMapEntry(entry, *f->message, entries.back().first, entries.back().second)) {
        return false;
      }
    } else if (packed) {
      std::string_view run;
      if (!in.bytes(run)) return false;
      Wire values{run.data(), run.data() + run.size()};
      while (!values.done()) {
        if (elements++ > 0) out.push_back(',');
        if (!appendValue(values, *f, out)) return false;
      }
    } else {
      if (f->repeated && elements++ > 0) out.push_back(',');
      if (!appendValue(in, *f, out)) return false;
    }
  }
  close();
  out.push_back('}');
  return true;
}

}  // namespace

void appendJson(const pb::Message& msg, std::string& out) {
  thread_local std::string wire;
  wire.clear();
  size_t at = out.size();
  if (msg.SerializeToString(&wire) && appendMessage(wire, planOf(msg.GetDescriptor()), out)) {
    return;
  }
  // Not reached for messages this process built; if it ever is, protobuf's
  // own printer writes the same data (formatted a little differently)
  // rather than losing it.
  out.resize(at);
  pbu::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)pbu::MessageToJsonString(msg, &json, options);
  out += json;
}

void appendJsonString(std::string_view s, std::string& out) { appendString(s, out); }

}  // namespace demarc::evidence
