// kill -9 the agent at random moments while it seals and writes, many times.
// Afterwards the evidence verifies and every batch the agent reported as
// sealed (it logs that only after the journal fsync) is in the evidence
// folder with the same digest.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <regex>
#include <thread>

#include "agent/core/encoding.h"
#include "agent/evidence/codec.h"
#include "tests/e2e/agent_fixture.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

std::map<uint64_t, std::string> sealedBatches(const std::string& log) {
  std::map<uint64_t, std::string> out;
  std::regex line(R"(sealed batch (\d+) \((\d+) records, digest ([0-9a-f]{64})\))");
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
    out[std::stoull((*it)[1])] = (*it)[3];
  }
  return out;
}

TEST(Crash, KillNineFiftyTimesLosesNoSealedBatch) {
  TempDir dir;
  // The journal is under test, not telemetry: without the probe each of
  // the restarts below is about two seconds shorter (attaching and, on the
  // kill, detaching syscall tracepoints).
  auto config = writeAgentConfig(dir,
                                 "telemetry:\n  process_events: false\n  network_events: false\n"
                                 "  privilege_events: false\n  udp_flows: false\n",
                                 "200ms", "20ms");
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(50, 400);
  std::map<uint64_t, std::string> sealed;
  const int kKills = 50;
  for (int i = 0; i < kKills; ++i) {
    Subprocess agent(agentArgs(config, {"--log-level", "debug", "--load-test", "3000"}),
                     dir.path());
    ASSERT_TRUE(agent.waitForErr("running:", 30s)) << agent.err();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    agent.signal(SIGKILL);
    EXPECT_EQ(agent.wait(), 128 + SIGKILL);
    for (const auto& [seq, digest] : sealedBatches(agent.err())) {
      auto [it, inserted] = sealed.emplace(seq, digest);
      // A sequence is never sealed twice with different contents.
      EXPECT_EQ(it->second, digest) << "batch " << seq << " resealed differently";
    }
  }
  // A last run delivers what the journal still holds and stops cleanly.
  Subprocess agent(agentArgs(config, {"--log-level", "debug"}), dir.path());
  ASSERT_TRUE(agent.waitForErr("running:", 30s)) << agent.err();
  std::this_thread::sleep_for(300ms);
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(), 0) << agent.err();

  ASSERT_GT(sealed.size(), static_cast<size_t>(kKills));
  std::map<uint64_t, std::string> on_disk;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "evidence")) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !name.ends_with(".jsonl") || name.front() == '.') continue;
    std::string bytes = readAll(e.path());
    auto view = evidence::splitBatch(bytes);
    ASSERT_TRUE(view.ok()) << e.path() << ": " << view.error().message();
    on_disk[std::stoull(name.substr(0, 20))] = toHex(sha256(view->payload));
  }
  for (const auto& [seq, digest] : sealed) {
    ASSERT_TRUE(on_disk.count(seq)) << "sealed batch " << seq << " is not in the evidence";
    EXPECT_EQ(on_disk[seq], digest) << "batch " << seq;
  }
  auto verify = runCommand({DEMARC_BINARY, "verify", (dir / "evidence").string()}, dir.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("synthetic"), std::string::npos) << verify.out;
}

}  // namespace
}  // namespace demarc::testing
