// The agent as a user runs it: the real binary, real signals, real files.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "tests/e2e/agent_fixture.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

CommandResult demarc(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), DEMARC_BINARY);
  return runCommand(args, dir.path());
}

TEST(Run, SealsEnrollmentAndHeartbeatsThenStopsCleanlyOnSigterm) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  Subprocess agent(agentArgs(config), dir.path());
  ASSERT_TRUE(agent.waitForErr("delivered batch 1 to directory", 20s)) << agent.err();
  ASSERT_TRUE(agent.waitForErr("heartbeat:", 20s)) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  std::string log = agent.err();
  EXPECT_NE(log.find("signing key created at " + (dir / "state/signing.key").string()),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("evidence goes to " + (dir / "evidence").string()), std::string::npos);
  EXPECT_NE(log.find("SIGTERM: stopping"), std::string::npos);
  EXPECT_NE(log.find("stopped:"), std::string::npos);

  struct stat st {};
  ASSERT_EQ(::stat((dir / "state/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto verify = demarc(dir, {"verify", (dir / "evidence").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("enrollment record in batch 1"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("agent stopped cleanly"), std::string::npos) << verify.out;
  auto pinned = demarc(dir, {"verify", "--key", (dir / "state/signing.key.pub").string(),
                             (dir / "evidence").string()});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.out;
  EXPECT_NE(pinned.out.find("pinned ("), std::string::npos) << pinned.out;
}

// The first record of each kind ("enrollment", "heartbeat") in the evidence.
std::map<std::string, nlohmann::json> firstRecords(const std::filesystem::path& evidence) {
  std::map<std::string, nlohmann::json> first;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(evidence)) {
    if (e.is_regular_file() && e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      auto record = nlohmann::json::parse(line, nullptr, false);
      if (!record.is_object()) continue;
      for (const char* kind : {"enrollment", "heartbeat"}) {
        if (record.contains(kind) && !first.count(kind)) first[kind] = record[kind];
      }
    }
  }
  return first;
}

// On a host where every hook attaches, --require-all-hooks runs, and the
// enrollment lists the hooks. Without the capabilities to load eBPF, it
// exits 3 before sealing anything; without the flag the agent runs, and
// the enrollment and every heartbeat say what is not recorded.
TEST(Run, RequireAllHooksRefusesAHostWhereAFeatureHasNoHook) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  {
    Subprocess agent(agentArgs(config, {"--require-all-hooks"}), dir.path());
    ASSERT_TRUE(agent.waitForErr("delivered batch 1 to directory", 30s)) << agent.err();
    agent.signal(SIGINT);
    ASSERT_EQ(agent.wait(), 0) << agent.err();
    auto first = firstRecords(dir / "evidence");
    ASSERT_TRUE(first.count("enrollment"));
    auto hooks = first["enrollment"].value("telemetry_hooks", nlohmann::json::array());
    EXPECT_NE(std::find(hooks.begin(), hooks.end(), "tp_btf/sched_process_exec"), hooks.end())
        << first["enrollment"].dump();
  }
  // setpriv takes CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN out of the bounding
  // set: root without them cannot load programs.
  auto without = [](const std::filesystem::path& agent_config, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin",
                                     "--inh-caps=-all", "--"};
    auto agent = agentArgs(agent_config, std::move(args));
    argv.insert(argv.end(), agent.begin(), agent.end());
    return argv;
  };
  TempDir refused;
  auto strict =
      runCommand(without(writeAgentConfig(refused), {"--require-all-hooks"}), refused.path());
  EXPECT_EQ(strict.exit_code, 3) << strict.err;
  EXPECT_NE(strict.err.find("--require-all-hooks: no eBPF hook records process events, TCP events"),
            std::string::npos)
      << strict.err;
  EXPECT_NE(strict.err.find("refused them for privilege"), std::string::npos) << strict.err;
  if (std::filesystem::exists(refused / "evidence")) {
    EXPECT_TRUE(firstRecords(refused / "evidence").empty()) << "nothing is sealed";
  }

  TempDir lenient;
  Subprocess agent(without(writeAgentConfig(lenient), {}), lenient.path());
  ASSERT_TRUE(agent.waitForErr("heartbeat:", 30s)) << agent.err();
  agent.signal(SIGINT);
  ASSERT_EQ(agent.wait(), 0) << agent.err();
  EXPECT_NE(agent.err().find("are configured but not recorded"), std::string::npos) << agent.err();
  auto first = firstRecords(lenient / "evidence");
  ASSERT_TRUE(first.count("enrollment") && first.count("heartbeat"));
  EXPECT_TRUE(first["enrollment"].value("telemetry_hooks", nlohmann::json::array()).empty());
  for (const char* kind : {"enrollment", "heartbeat"}) {
    std::string missing = first[kind].value("telemetry_missing", nlohmann::json::array()).dump();
    EXPECT_NE(missing.find("process events: not recorded"), std::string::npos)
        << kind << ": " << missing;
  }
}

TEST(Run, SighupSaysReloadIsUnsupportedAndSigintStops) {
  TempDir dir;
  Subprocess agent(agentArgs(writeAgentConfig(dir)), dir.path());
  ASSERT_TRUE(agent.waitForErr("running:", 20s)) << agent.err();
  agent.signal(SIGHUP);
  ASSERT_TRUE(agent.waitForErr("SIGHUP: reloading the config is not supported", 10s));
  agent.signal(SIGINT);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  EXPECT_NE(agent.err().find("SIGINT: stopping"), std::string::npos);
}

TEST(Run, SecondAgentOnTheSameStateIsRefused) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  Subprocess first(agentArgs(config), dir.path());
  ASSERT_TRUE(first.waitForErr("running:", 20s)) << first.err();
  auto second = runCommand(agentArgs(config), dir.path());
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("is another demarc running with the same state_dir?"),
            std::string::npos)
      << second.err;
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 0);
}

TEST(Run, JournalLogFormatCarriesPriorities) {
  TempDir dir;
  auto args = agentArgs(writeAgentConfig(dir));
  args.back() = "journal";  // --log-format journal
  Subprocess agent(args, dir.path());
  ASSERT_TRUE(agent.waitForErr("<6>running:", 20s)) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0);
  EXPECT_NE(agent.err().find("<6>demarc "), std::string::npos) << agent.err();
}

TEST(Run, RestartContinuesTheSameChain) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  for (int run = 0; run < 2; ++run) {
    Subprocess agent(agentArgs(config), dir.path());
    ASSERT_TRUE(agent.waitForErr("delivered batch", 20s)) << agent.err();
    agent.signal(SIGTERM);
    ASSERT_EQ(agent.wait(), 0) << agent.err();
    if (run == 1) {
      EXPECT_NE(agent.err().find("signing key loaded from"), std::string::npos);
    }
  }
  auto verify = demarc(dir, {"verify", (dir / "evidence").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("started again at"), std::string::npos) << verify.out;
  EXPECT_EQ(verify.out.find("\nagent ", verify.out.find("\nagent ") + 1), std::string::npos)
      << "one agent expected:\n"
      << verify.out;
}

TEST(Run, ConfigTypoIsRefusedWithFileLineAndKey) {
  TempDir dir;
  auto config = dir.write("bad.yaml", "agent:\n  state_dir: /tmp/x\n  heartbeat_intervl: 5s\n");
  auto r = demarc(dir, {"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(config.string() + ":3: agent.heartbeat_intervl: unknown key (did you mean "
                                         "'heartbeat_interval'?)"),
            std::string::npos)
      << r.err;
  auto check = demarc(dir, {"config", "check", config.string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find(":3: agent.heartbeat_intervl"), std::string::npos);
}

TEST(Run, KeyReadableByOthersIsRefused) {
  TempDir dir;
  auto config = writeAgentConfig(dir);
  {
    Subprocess agent(agentArgs(config), dir.path());
    ASSERT_TRUE(agent.waitForErr("running:", 20s));
    agent.signal(SIGTERM);
    ASSERT_EQ(agent.wait(), 0);
  }
  ::chmod((dir / "state/signing.key").c_str(), 0644);
  auto r = demarc(dir, {"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("refusing signing key"), std::string::npos) << r.err;
}

TEST(Cli, ConfigCheckPrintsEffectiveConfig) {
  TempDir dir;
  auto r = demarc(dir, {"config", "check", DEMARC_SOURCE_DIR "/config/demarc.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("heartbeat_interval: 1m"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("signing_key: \"/var/lib/demarc/signing.key\""), std::string::npos);
  EXPECT_NE(r.err.find(": OK (config sha256 "), std::string::npos);
}

TEST(Cli, ExitCodesAndHelp) {
  TempDir dir;
  auto help = demarc(dir, {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes:"), std::string::npos) << help.out;
  for (const char* cmd : {"run", "verify", "scan", "watch"}) {
    auto sub = demarc(dir, {cmd, "--help"});
    EXPECT_EQ(sub.exit_code, 0) << cmd;
    EXPECT_NE(sub.out.find("Example"), std::string::npos) << cmd << ":\n" << sub.out;
  }
  auto config_help = demarc(dir, {"config", "check", "--help"});
  EXPECT_NE(config_help.out.find("Example"), std::string::npos) << config_help.out;
  EXPECT_EQ(demarc(dir, {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(demarc(dir, {"verify"}).exit_code, 2);
  EXPECT_EQ(demarc(dir, {"verify", "--max-silence", "soon", "/tmp"}).exit_code, 2);
  EXPECT_EQ(demarc(dir, {"verify", (dir / "nothing-here").string()}).exit_code, 3);
  auto scan = demarc(dir, {"scan", "--fail-on", "severe"});
  EXPECT_EQ(scan.exit_code, 2);
  EXPECT_NE(scan.err.find("--fail-on: 'severe' is not one of"), std::string::npos) << scan.err;
  auto watch = demarc(dir, {"watch", "--type", "sendfile"});
  EXPECT_EQ(watch.exit_code, 2);
  EXPECT_NE(watch.err.find("--type sendfile: expected exec, fork, exit, connect"),
            std::string::npos)
      << watch.err;
  auto version = demarc(dir, {"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("OpenSSL"), std::string::npos);
}

}  // namespace
}  // namespace demarc::testing
