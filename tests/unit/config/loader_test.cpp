#include "agent/config/loader.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <regex>

#include "tests/support/temp_dir.h"

namespace demarc::config {
namespace {

using google::protobuf::util::MessageDifferencer;

std::string errorOf(std::string_view yaml) {
  auto r = loadConfigText(yaml, "test.yaml");
  return r.ok() ? std::string("<no error>") : r.error().message();
}

TEST(Config, DefaultsComeFromTheSchema) {
  Config c = defaultConfig();
  EXPECT_EQ(c.agent().state_dir(), "/var/lib/demarc");
  EXPECT_EQ(c.agent().heartbeat_interval().seconds(), 60);
  EXPECT_EQ(c.evidence().batch_max_records(), 10000u);
  EXPECT_EQ(c.evidence().batch_max_age().seconds(), 1);
  EXPECT_EQ(c.evidence().signing_key(), "/var/lib/demarc/signing.key");
  EXPECT_EQ(c.journal().path(), "/var/lib/demarc/journal");
  EXPECT_EQ(c.journal().max_size(), 256u << 20);
  EXPECT_TRUE(c.journal().fsync());
  EXPECT_TRUE(c.sinks().directory().enabled());
  EXPECT_EQ(c.logging().level(), v1::LOG_LEVEL_INFO);
}

TEST(Config, EmptyFileIsAllDefaults) {
  auto c = loadConfigText("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(MessageDifferencer::Equals(*c, defaultConfig()));
}

// The shipped config documents the defaults: loading it gives exactly them.
TEST(Config, ShippedConfigEqualsDefaults) {
  auto c = loadConfigFile(DEMARC_SOURCE_DIR "/config/demarc.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(MessageDifferencer::Equals(*c, defaultConfig())) << toYaml(*c);
}

// Every key of the schema appears in config/demarc.yaml with a comment above
// it, so the documentation cannot fall behind the schema.
TEST(Config, ShippedConfigDocumentsEveryKey) {
  std::string text = testing::readAll(DEMARC_SOURCE_DIR "/config/demarc.yaml");
  std::string effective = toYaml(defaultConfig());
  std::regex key_line(R"(^(\s*)([a-z_]+):)");
  std::istringstream lines(effective);
  std::string line;
  int keys = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, key_line)) continue;
    ++keys;
    EXPECT_NE(text.find(m[2].str() + ":"), std::string::npos) << "undocumented key " << m[2];
  }
  EXPECT_GE(keys, 15);
}

TEST(Config, OverridesAndResolvesDerivedPaths) {
  auto c = loadConfigText(
      "agent:\n  state_dir: /srv/demarc\n  heartbeat_interval: 90s\n"
      "evidence:\n  batch_max_age: 250ms\njournal:\n  max_size: 1GiB\n  fsync: no\n"
      "logging:\n  level: debug\n",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->agent().heartbeat_interval().seconds(), 90);
  EXPECT_EQ(c->evidence().batch_max_age().nanos(), 250'000'000);
  EXPECT_EQ(c->evidence().signing_key(), "/srv/demarc/signing.key");
  EXPECT_EQ(c->journal().path(), "/srv/demarc/journal");
  EXPECT_EQ(c->journal().max_size(), 1ULL << 30);
  EXPECT_FALSE(c->journal().fsync());
  EXPECT_EQ(c->logging().level(), v1::LOG_LEVEL_DEBUG);
}

TEST(Config, UnknownKeyNamesFileLineKeyAndSuggests) {
  EXPECT_EQ(errorOf("agent:\n  state_dir: /x\n  heartbeat_intervl: 5s\n"),
            "test.yaml:3: agent.heartbeat_intervl: unknown key (did you mean "
            "'heartbeat_interval'?)");
  EXPECT_EQ(errorOf("sinkz: {}\n"), "test.yaml:1: sinkz: unknown key (did you mean 'sinks'?)");
  EXPECT_NE(errorOf("zzzzzzzz: 1\n").find("known keys: agent, evidence"), std::string::npos);
}

TEST(Config, WrongTypeNamesFileLineKey) {
  EXPECT_EQ(errorOf("sinks:\n  directory:\n    path: [a, b]\n"),
            "test.yaml:3: sinks.directory.path: expected a string, got a list");
  EXPECT_EQ(errorOf("journal:\n  fsync: maybe\n"),
            "test.yaml:2: journal.fsync: expected true or false, got 'maybe'");
  EXPECT_EQ(errorOf("evidence:\n  batch_max_records: lots\n"),
            "test.yaml:2: evidence.batch_max_records: expected a whole number, got 'lots'");
  EXPECT_EQ(errorOf("agent: 5\n"), "test.yaml:1: agent: expected a mapping of keys, got '5'");
  EXPECT_EQ(errorOf("agent:\n  heartbeat_interval: 60\n"),
            "test.yaml:2: agent.heartbeat_interval: expected a duration such as 500ms, 30s, 5m "
            "or 1h, got '60'");
  EXPECT_EQ(errorOf("logging:\n  level: loud\n"),
            "test.yaml:2: logging.level: expected one of trace, debug, info, warn, error, off, got "
            "'loud'");
  EXPECT_EQ(errorOf("agent:\n  state_dir: relative/path\n"),
            "test.yaml:2: agent.state_dir: expected an absolute path, got 'relative/path'");
}

TEST(Config, OutOfRangeNamesBound) {
  EXPECT_EQ(errorOf("evidence:\n  batch_max_records: 0\n"),
            "test.yaml:2: evidence.batch_max_records: out of range: 0 is below the minimum of 1");
  EXPECT_EQ(errorOf("evidence:\n  batch_max_records: 100001\n"),
            "test.yaml:2: evidence.batch_max_records: out of range: 100001 is above the maximum "
            "of 100000");
  EXPECT_EQ(errorOf("journal:\n  max_size: 1KiB\n"),
            "test.yaml:2: journal.max_size: out of range: 1KiB is below the minimum of 64KiB");
  EXPECT_EQ(
      errorOf("agent:\n  heartbeat_interval: 2d\n"),
      "test.yaml:2: agent.heartbeat_interval: out of range: 2d is above the maximum of 86400");
  EXPECT_EQ(errorOf("evidence:\n  batch_max_records: -3\n"),
            "test.yaml:2: evidence.batch_max_records: must not be negative, got -3");
  EXPECT_EQ(errorOf("evidence:\n  batch_max_records: 99999999999999999999999\n"),
            "test.yaml:2: evidence.batch_max_records: out of range: 99999999999999999999999 does "
            "not fit this key");
}

TEST(Config, DuplicateKeyIsAnError) {
  EXPECT_EQ(errorOf("journal:\n  fsync: true\n  fsync: false\n"),
            "test.yaml:3: journal.fsync: duplicate key (each key may appear once)");
}

TEST(Config, ReportsEveryErrorAtOnce) {
  std::string e = errorOf("agent:\n  bogus: 1\njournal:\n  fsync: 7\n");
  EXPECT_NE(e.find("test.yaml:2: agent.bogus"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:4: journal.fsync"), std::string::npos) << e;
}

TEST(Config, SyntaxErrorsNameTheLine) {
  std::string e = errorOf("agent:\n  state_dir: /x\n bad indent: [\n");
  EXPECT_TRUE(e.starts_with("test.yaml:3: not valid YAML")) << e;
  EXPECT_EQ(errorOf("- a\n- b\n"),
            "test.yaml:1: expected a mapping of keys at the top level, got a list");
  EXPECT_EQ(errorOf("a: 1\n---\nb: 2\n"),
            "test.yaml:2: a second YAML document starts here; a file is one document");
  EXPECT_TRUE(loadConfigText("---\n# leading marker is fine\nagent: {}\n...\n", "t").ok());
  // yaml-cpp 0.7 LoadAll() never returns on these (found by tests/fuzz).
  EXPECT_EQ(errorOf(","), "test.yaml:1: not valid YAML: expected a mapping of keys");
  EXPECT_FALSE(loadConfigText(",ge", "t").ok());
}

TEST(Config, CrossKeyValidation) {
  EXPECT_EQ(errorOf("sinks:\n  directory:\n    enabled: false\n"),
            "test.yaml:3: sinks: no sink is enabled; sealed evidence would never leave the "
            "journal");
}

TEST(Config, MissingFileIsARuntimeError) {
  auto r = loadConfigFile("/nonexistent/demarc.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("/nonexistent/demarc.yaml"), std::string::npos);
}

TEST(Config, EffectiveYamlRoundTrips) {
  auto c = loadConfigText("agent:\n  heartbeat_interval: 1500ms\njournal:\n  max_size: 3MiB\n",
                          "t.yaml");
  ASSERT_TRUE(c.ok());
  std::string yaml = toYaml(*c);
  auto again = loadConfigText(yaml, "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << yaml;
  EXPECT_TRUE(MessageDifferencer::Equals(*c, *again)) << yaml;
  EXPECT_NE(yaml.find("heartbeat_interval: 1500ms"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("max_size: 3MiB"), std::string::npos) << yaml;
}

// Garbage never crashes the loader: it returns an error or a config.
TEST(Config, SurvivesGarbage) {
  const std::vector<std::string> inputs = {"{{{{",
                                           "agent: &a [*a]",
                                           "\t\t:",
                                           "agent:\n  state_dir: !!binary x",
                                           "? [a]\n: b",
                                           std::string(1000, '['),
                                           "agent: {state_dir: ~}",
                                           "\xff\xfe garbage"};
  for (const std::string& input : inputs) {
    auto r = loadConfigText(input, "g.yaml");
    if (!r.ok()) {
      EXPECT_TRUE(r.error().message().starts_with("g.yaml:")) << r.error().message();
    }
  }
}

}  // namespace
}  // namespace demarc::config
