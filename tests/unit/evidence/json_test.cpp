// The evidence JSON encoder writes from the wire format; these tests hold it
// to the reflection-based encoder it replaced (tests/support/reflective_json)
// byte for byte, on random messages of every type records use and of a
// message built here with every field type protobuf has. The reader
// (parseJson) is held to protobuf's own JSON parser on the same texts, and
// on texts written by hand and damaged at random.
#include "agent/evidence/json.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "agent/evidence/record.pb.h"
#include "agent/evidence/verify.pb.h"
#include "agent/posture/rules.pb.h"
#include "tests/support/reflective_json.h"

namespace demarc::evidence {
namespace {

namespace pb = google::protobuf;

// Fills msg with random values through reflection: each field set or not,
// 0..3 elements for repeated fields and maps, extremes and awkward strings.
class RandomFiller {
 public:
  explicit RandomFiller(uint64_t seed) : rng_(seed) {}

  void fill(pb::Message& msg, int depth) {
    const pb::Descriptor* d = msg.GetDescriptor();
    const pb::Reflection* r = msg.GetReflection();
    if (d->full_name() == "google.protobuf.Timestamp" ||
        d->full_name() == "google.protobuf.Duration") {
      bool duration = d->full_name() == "google.protobuf.Duration";
      int64_t seconds = std::uniform_int_distribution<int64_t>(
          duration ? -315576000000 : -62135596800, duration ? 315576000000 : 253402300799)(rng_);
      auto nanos = static_cast<int32_t>(pick({0, 1000 * static_cast<int64_t>(rng_() % 1'000'000),
                                              1'000'000 * static_cast<int64_t>(rng_() % 1000),
                                              static_cast<int64_t>(rng_() % 1'000'000'000)}));
      if (duration && seconds < 0) nanos = -nanos;
      r->SetInt64(&msg, d->FindFieldByName("seconds"), seconds);
      r->SetInt32(&msg, d->FindFieldByName("nanos"), nanos);
      return;
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (rng_() % 3 == 0) continue;
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth > 3) continue;
      if (f->is_repeated()) {
        int n = static_cast<int>(rng_() % 4);
        for (int k = 0; k < n; ++k) addValue(msg, f, depth);
        if (f->is_map()) dropRepeatedKeys(msg, f);
      } else {
        setValue(msg, f, depth);
      }
    }
  }

 private:
  // A map holds each key once; entries added through reflection do not
  // check, so the later ones with a key already present go.
  static void dropRepeatedKeys(pb::Message& msg, const pb::FieldDescriptor* f) {
    const pb::Reflection* r = msg.GetReflection();
    std::set<std::string> seen;
    int kept = 0;
    for (int i = 0; i < r->FieldSize(msg, f); ++i) {
      const pb::Message& entry = r->GetRepeatedMessage(msg, f, i);
      std::string key;
      pb::TextFormat::PrintFieldValueToString(entry, entry.GetDescriptor()->map_key(), -1, &key);
      if (!seen.insert(key).second) continue;
      r->SwapElements(&msg, f, kept++, i);
    }
    while (r->FieldSize(msg, f) > kept) r->RemoveLast(&msg, f);
  }

  int64_t pick(std::initializer_list<int64_t> options) {
    return *(options.begin() + static_cast<ptrdiff_t>(rng_() % options.size()));
  }
  int64_t integer() {
    return pick({0, 1, -1, 127, 128, -129, 300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
                 static_cast<int64_t>(rng_())});
  }
  double real() {
    return std::bit_cast<double>(
        pick({0, std::bit_cast<int64_t>(-0.0), std::bit_cast<int64_t>(0.1),
              std::bit_cast<int64_t>(-3e300), std::bit_cast<int64_t>(1e-310),
              std::bit_cast<int64_t>(123456.75)}));
  }
  std::string text() {
    static const char* const kTexts[] = {"",
                                         "plain",
                                         "quote\" back\\slash",
                                         "new\nline\ttab\r",
                                         "\x01\x1f\x7f",
                                         "é ✓ 😀",
                                         "bad \xff\xc3 utf8",
                                         "</script>"};
    std::string s = kTexts[rng_() % std::size(kTexts)];
    if (rng_() % 4 == 0) s += std::to_string(rng_());
    return s;
  }
  // A named value's number. (Numbers an enum does not name are tested on
  // their own: protobuf's printer writes them as made-up names.)
  int enumNumber(const pb::FieldDescriptor* f) {
    const pb::EnumDescriptor* e = f->enum_type();
    return e->value(static_cast<int>(rng_() % static_cast<uint64_t>(e->value_count())))->number();
  }

  void setValue(pb::Message& msg, const pb::FieldDescriptor* f, int depth) {
    const pb::Reflection* r = msg.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        return r->SetInt32(&msg, f, static_cast<int32_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return r->SetInt64(&msg, f, integer());
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        return r->SetUInt32(&msg, f, static_cast<uint32_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        return r->SetUInt64(&msg, f, static_cast<uint64_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        return r->SetDouble(&msg, f, real());
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        return r->SetFloat(&msg, f, static_cast<float>(real() / 1e290));
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        return r->SetBool(&msg, f, rng_() % 2 == 0);
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return r->SetEnumValue(&msg, f, enumNumber(f));
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return r->SetString(&msg, f, text());
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return fill(*r->MutableMessage(&msg, f), depth + 1);
    }
  }

  void addValue(pb::Message& msg, const pb::FieldDescriptor* f, int depth) {
    const pb::Reflection* r = msg.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        return r->AddInt32(&msg, f, static_cast<int32_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_INT64:
        return r->AddInt64(&msg, f, integer());
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        return r->AddUInt32(&msg, f, static_cast<uint32_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        return r->AddUInt64(&msg, f, static_cast<uint64_t>(integer()));
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        return r->AddDouble(&msg, f, real());
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        return r->AddFloat(&msg, f, static_cast<float>(real() / 1e290));
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        return r->AddBool(&msg, f, rng_() % 2 == 0);
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return r->AddEnumValue(&msg, f, enumNumber(f));
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return r->AddString(&msg, f, text());
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        // Map entries too: key and value filled at random, defaults included.
        return fill(*r->AddMessage(&msg, f), depth + 1);
    }
  }

  std::mt19937_64 rng_;
};

std::string wireJson(const pb::Message& msg) {
  std::string out;
  appendJson(msg, out);
  return out;
}

// Compared as deterministic binary encodings: NaN equals itself there.
std::string bytesOf(const pb::Message& msg) {
  std::string out;
  pb::io::StringOutputStream stream(&out);
  pb::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  msg.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

void expectSameAsReflection(const pb::Descriptor* d, const pb::Message& prototype, int count) {
  RandomFiller filler(d->index() * 7919 + 1);
  for (int i = 0; i < count; ++i) {
    std::unique_ptr<pb::Message> msg(prototype.New());
    filler.fill(*msg, 0);
    std::string got = wireJson(*msg);
    std::string want = testing::reflectiveJson(*msg);
    if (got != want) {
      size_t at =
          std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin();
      size_t from = at < 80 ? 0 : at - 80;
      FAIL() << d->full_name() << " #" << i << " differs at byte " << at << ":\n  wire:       ..."
             << got.substr(from, 160) << "\n  reflection: ..." << want.substr(from, 160);
    }
    // And it is the protobuf JSON mapping: protobuf reads it back.
    std::unique_ptr<pb::Message> back(prototype.New());
    pb::util::JsonParseOptions options;
    auto status = pb::util::JsonStringToMessage(got, back.get(), options);
    ASSERT_TRUE(status.ok()) << d->full_name() << ": " << status.message() << "\n" << got;
    // demarc's reader gives back the message written, as protobuf's does.
    std::unique_ptr<pb::Message> read(prototype.New());
    auto parsed = parseJson(got, *read);
    ASSERT_TRUE(parsed.ok()) << d->full_name() << ": " << parsed.error().message() << "\n" << got;
    if (bytesOf(*read) != bytesOf(*back)) {
      pb::util::MessageDifferencer diff;
      std::string report;
      diff.ReportDifferencesToString(&report);
      diff.Compare(*back, *read);
      ADD_FAILURE() << d->full_name() << " #" << i << ": read differently than protobuf reads it:\n"
                    << report;
      return;
    }
  }
}

TEST(Json, WireEncoderWritesWhatReflectionWrites) {
  for (const pb::FileDescriptor* file :
       {v1::Record::descriptor()->file(), verify::v1::Defect::descriptor()->file(),
        rules::v1::Rule::descriptor()->file(), pb::DoubleValue::descriptor()->file()}) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      const pb::Descriptor* d = file->message_type(i);
      const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(d);
      ASSERT_NE(prototype, nullptr) << d->full_name();
      expectSameAsReflection(d, *prototype, d == v1::Record::descriptor() ? 3000 : 100);
    }
  }
}

// proto3 enums are open: a number this build has no name for (from a newer
// agent) is kept, and written as the number, which reads back.
TEST(Json, EnumNumbersWithoutANameAreWrittenAsNumbers) {
  v1::Record record;
  record.mutable_heartbeat()->set_state(static_cast<v1::Heartbeat::State>(1000));
  record.mutable_heartbeat()->set_interval_ms(5);
  std::string json = wireJson(record);
  EXPECT_EQ(json, R"({"heartbeat":{"state":1000,"interval_ms":"5"}})");
  v1::Record back;
  ASSERT_TRUE(parseJson(json, back).ok());
  EXPECT_EQ(static_cast<int>(back.heartbeat().state()), 1000);
  // A named one next to it still goes by its name.
  record.mutable_heartbeat()->set_state(v1::Heartbeat::STATE_RUNNING);
  EXPECT_EQ(wireJson(record), R"({"heartbeat":{"state":"STATE_RUNNING","interval_ms":"5"}})");
}

// Every field type, packed and unpacked repeated, and maps keyed by every
// key type, in a message built at run time.
TEST(Json, WireEncoderHandlesEveryFieldType) {
  pb::FileDescriptorProto file;
  file.set_name("every_type.proto");
  file.set_package("test");
  file.set_syntax("proto3");
  auto* color = file.add_enum_type();
  color->set_name("Color");
  // An alias (the first name of a number is the one written), numbers
  // beyond the writer's table of names and below zero.
  color->mutable_options()->set_allow_alias(true);
  for (auto [name, number] : {std::pair{"COLOR_NONE", 0},
                              {"COLOR_RED", 1},
                              {"COLOR_BLUE", 7},
                              {"COLOR_CRIMSON", 1},
                              {"COLOR_FAR", 300},
                              {"COLOR_BELOW", -2}}) {
    auto* v = color->add_value();
    v->set_name(name);
    v->set_number(number);
  }
  auto* m = file.add_message_type();
  m->set_name("Every");
  using T = pb::FieldDescriptorProto;
  const std::vector<T::Type> types = {
      T::TYPE_DOUBLE,  T::TYPE_FLOAT,    T::TYPE_INT64,    T::TYPE_UINT64, T::TYPE_INT32,
      T::TYPE_FIXED64, T::TYPE_FIXED32,  T::TYPE_BOOL,     T::TYPE_STRING, T::TYPE_BYTES,
      T::TYPE_UINT32,  T::TYPE_SFIXED32, T::TYPE_SFIXED64, T::TYPE_SINT32, T::TYPE_SINT64,
      T::TYPE_ENUM,    T::TYPE_MESSAGE};
  int number = 1;
  for (T::Type type : types) {
    for (bool repeated : {false, true}) {
      for (bool packed : {true, false}) {
        if (!repeated && !packed) continue;
        auto* f = m->add_field();
        f->set_name("f" + std::to_string(number));
        f->set_number(number * 3);  // gaps between numbers
        ++number;
        f->set_type(type);
        f->set_label(repeated ? T::LABEL_REPEATED : T::LABEL_OPTIONAL);
        if (repeated && !packed) f->mutable_options()->set_packed(false);
        if (type == T::TYPE_ENUM) f->set_type_name(".test.Color");
        if (type == T::TYPE_MESSAGE) f->set_type_name(".test.Every");
      }
    }
  }
  for (T::Type key :
       {T::TYPE_STRING, T::TYPE_INT64, T::TYPE_UINT32, T::TYPE_BOOL, T::TYPE_SINT32}) {
    auto* entry = m->add_nested_type();
    entry->set_name("Map" + std::to_string(number) + "Entry");
    entry->mutable_options()->set_map_entry(true);
    auto* k = entry->add_field();
    k->set_name("key");
    k->set_number(1);
    k->set_type(key);
    k->set_label(T::LABEL_OPTIONAL);
    auto* v = entry->add_field();
    v->set_name("value");
    v->set_number(2);
    v->set_type(key == T::TYPE_BOOL ? T::TYPE_MESSAGE : T::TYPE_ENUM);
    v->set_type_name(key == T::TYPE_BOOL ? ".test.Every" : ".test.Color");
    v->set_label(T::LABEL_OPTIONAL);
    auto* f = m->add_field();
    f->set_name("map" + std::to_string(number));
    f->set_number(1000 + number);
    f->set_label(T::LABEL_REPEATED);
    f->set_type(T::TYPE_MESSAGE);
    f->set_type_name(".test.Every." + entry->name());
    ++number;
  }
  pb::DescriptorPool pool(pb::DescriptorPool::generated_pool());
  const pb::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  const pb::Descriptor* every = built->FindMessageTypeByName("Every");
  pb::DynamicMessageFactory factory(&pool);
  expectSameAsReflection(every, *factory.GetPrototype(every), 200);
}

// Texts another writer could produce, read as protobuf's parser reads them.
TEST(JsonReader, ReadsWhatProtobufReads) {
  const std::vector<std::string> texts = {
      // lowerCamelCase names, 64-bit numbers as numbers, enums by number,
      // null, unknown fields at every depth, whitespace.
      R"( { "time" : "2026-11-30T21:47:05.5+01:00", "process": {"kind": 1, "pid": 7, "execId": "e",
           "cgroupId": 18446744073709551615, "argv": ["a", "\u00e9\ud83d\ude00\/\b\f\n\r\t"],
           "ancestry": [{"pid": 1, "future": {"x": [1, {"y": null}]}}], "exitCode": -3,
           "lifetime": "-1.000000001s", "cwd": null, "unknown": [true, false, 1e5, "s"]}} )",
      R"({"finding":{"references":{"nist_800_53":"AC-6","":""},"severity":"SEVERITY_HIGH",
          "status":4},"time":"2026-01-01T00:00:00Z"})",
      R"({"header":{"sequence":"18446744073709551615","drops":{"exec.ring_full":"3","x":7},
          "first_time":"1970-01-01T00:00:00.000000001Z","last_time":"9999-12-31T23:59:59.999Z"}})",
      R"({"network":{"bytes_sent":"5000","duration":"0.5s","first_seen":"2026-11-30T21:47:05Z"}})",
      R"({})",
  };
  for (const std::string& text : texts) {
    v1::Record ours, theirs;
    auto parsed = parseJson(text, ours);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message() << "\n" << text;
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    ASSERT_TRUE(pb::util::JsonStringToMessage(text, &theirs, options).ok()) << text;
    EXPECT_EQ(bytesOf(ours), bytesOf(theirs)) << text << "\nours:   " << ours.ShortDebugString()
                                              << "\ntheirs: " << theirs.ShortDebugString();
  }
}

// What is not a record is refused by both readers, and ours says where.
TEST(JsonReader, RefusesWhatProtobufRefusesAndSaysWhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"process":{"pid":7})", "the text ends"},
      {R"({"process":{"pid":7}} x)", "after the object"},
      {R"({"process":{"pid":"seven"}})", "field 'pid': expected an integer"},
      {R"({"process":{"pid":-1}})", "field 'pid'"},
      {R"({"process":{"pid":4294967296}})", "field 'pid'"},
      {R"({"process":{"kind":"KIND_NONSENSE"}})", "not a value of"},
      {R"({"time":"2026-13-01T00:00:00Z"})", "not an RFC 3339 time"},
      {R"({"time":"2026-11-30 00:00:00Z"})", "not an RFC 3339 time"},
      {R"({"process":{"lifetime":"5"}})", "not a duration"},
      {R"({"process":{"comm":"\ud800"}})", "surrogate"},
      {"{\"process\":{\"comm\":\"bad \xff\xfe\"}}", "not UTF-8"},
      {"{\"process\":{\"comm\":\"overlong \xc0\xaf\"}}", "not UTF-8"},
      {"{\"process\":{\"comm\":\"surrogate \xed\xa0\x80\"}}", "not UTF-8"},
      {"{\"process\":{\"comm\":\"cut \xe2\x9c\"}}", "not UTF-8"},
      {R"({"process":{"comm":"open)", "not closed"},
      {R"({"header":{"drops":{"x":"many"}}})", "field 'drops'"},
      {R"({"enrollment":{"public_key_pem":7}})", "expected '\"'"},
      {R"([1,2])", "expected '{'"},
      {"", "expected '{'"},
  };
  for (const auto& [text, why] : cases) {
    v1::Record ours, theirs;
    auto parsed = parseJson(text, ours);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
    EXPECT_NE(parsed.error().message().find(why), std::string::npos)
        << text << "\n  says: " << parsed.error().message() << "\n  want: " << why;
    EXPECT_NE(parsed.error().message().find("at byte"), std::string::npos);
    EXPECT_FALSE(pb::util::JsonStringToMessage(text, &theirs).ok()) << "protobuf accepts " << text;
  }
  // Where protobuf's parser is more lenient than JSON allows, ours is not.
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"process":{"argv":"not a list"}})", "expected '['"},
           {R"({"process":{"comm":"a\qb"}})", "unknown escape"},
           {"{\"process\":{\"comm\":\"a\nb\"}}", "control character"}}) {
    v1::Record ours;
    auto parsed = parseJson(text, ours);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
    EXPECT_NE(parsed.error().message().find(why), std::string::npos)
        << text << "\n  says: " << parsed.error().message();
  }
  // Nesting deep enough to exhaust a stack is refused, not followed.
  std::string deep = R"({"unknown":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  v1::Record r;
  auto parsed = parseJson(deep, r);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("nested too deeply"), std::string::npos);
}

// Records damaged at random: never a crash, and whatever is read is what
// protobuf reads from the same text.
TEST(JsonReader, DamagedRecordsAreReadAsProtobufReadsThemOrRefused) {
  RandomFiller filler(99);
  std::mt19937_64 rng(7);
  int refused = 0, read = 0, mismatched = 0;
  for (int i = 0; i < 3000; ++i) {
    v1::Record msg;
    filler.fill(msg, 0);
    std::string text = wireJson(msg);
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && !text.empty(); ++k) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = "{}[]\",:0a\\-e. n"[rng() % 15];
          break;
        case 1:
          text.erase(at, 1 + rng() % 8);
          break;
        default:
          text.insert(at, 1, "{}[]\",:1\\"[rng() % 9]);
      }
    }
    v1::Record ours;
    if (!parseJson(text, ours).ok()) {
      ++refused;
      continue;
    }
    ++read;
    v1::Record theirs;
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    bool protobuf_reads = pb::util::JsonStringToMessage(text, &theirs, options).ok();
    // (Where protobuf refuses what ours reads, an empty or odd unknown
    // field name or an integer written as 1e7, what ours read must still
    // be a record protobuf reads back.)
    if (!protobuf_reads) {
      protobuf_reads = pb::util::JsonStringToMessage(wireJson(ours), &theirs, options).ok();
    }
    if (!protobuf_reads || bytesOf(ours) != bytesOf(theirs)) {
      ++mismatched;
      ADD_FAILURE() << "read differently than protobuf:\n" << text;
      if (mismatched > 3) break;
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(read, 100);
}

}  // namespace
}  // namespace demarc::evidence
