// The agent shipping to CloudWatch Logs (a local fake on loopback that keeps
// every event): the events of each batch, rejoined, are the batch the local
// folder holds, byte for byte.
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tests/e2e/agent_fixture.h"
#include "tests/support/http_server.h"

namespace demarc::testing {
namespace {

using namespace std::chrono_literals;

TEST(CloudWatchDelivery, EveryRecordIsAnEventAndBatchesRejoin) {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> streams;  // stream -> messages
  std::vector<std::string> actions;
  HttpServer logs([&](const HttpExchange& ex) {
    std::lock_guard lock(mu);
    std::string action = ex.headers.at("x-amz-target");
    actions.push_back(action.substr(action.find('.') + 1));
    auto body = nlohmann::json::parse(ex.body);
    if (actions.back() == "PutLogEvents") {
      for (const auto& e : body["logEvents"]) {
        streams[body["logStreamName"]].push_back(e["message"]);
      }
    }
    return HttpReply{200, "{}"};
  });
  TempDir dir;
  auto config = writeAgentConfig(
      dir, {.sinks = "  cloudwatch:\n    enabled: true\n    log_group: /demarc/test\n"
                     "    retention_days: 30\n",
            .extra = "aws:\n  region: eu-west-1\n  logs_endpoint: " + logs.url() + "\n"});
  std::optional<ScopedAwsKeys> keys(std::in_place, "AKIACWTEST", "cw-secret");
  Subprocess agent(agentArgs(config), dir.path());
  keys.reset();
  ASSERT_TRUE(agent.waitForErr("delivered batch 1 to cloudwatch", 20s)) << agent.err();
  ASSERT_TRUE(agent.waitForErr("delivered batch 1 to directory", 20s)) << agent.err();
  std::this_thread::sleep_for(700ms);  // a few heartbeat batches more
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();

  std::lock_guard lock(mu);
  ASSERT_GE(actions.size(), 4u);
  EXPECT_EQ(actions[0], "CreateLogGroup");
  EXPECT_EQ(actions[1], "PutRetentionPolicy");
  EXPECT_EQ(actions[2], "CreateLogStream");
  ASSERT_EQ(streams.size(), 1u);
  const auto& [stream, messages] = *streams.begin();
  EXPECT_TRUE(stream.starts_with("host-")) << stream;
  // Rejoin: a batch runs from its header line to its seal line.
  std::vector<std::string> batches;
  std::string current;
  for (const std::string& m : messages) {
    current += m + "\n";
    if (m.find("\"seal\":{\"payload_type\"") != std::string::npos) {
      batches.push_back(current);
      current.clear();
    }
  }
  ASSERT_GE(batches.size(), 1u);
  size_t matched = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "evidence")) {
    if (!entry.is_regular_file()) continue;
    std::string local = readAll(entry.path());
    for (const std::string& b : batches) matched += b == local ? 1 : 0;
  }
  EXPECT_GE(matched, 1u);
  EXPECT_GE(matched + 1, batches.size());  // the last may be sealed after the folder's copy
}

}  // namespace
}  // namespace demarc::testing
