#include "agent/evidence/identity.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

TEST(Identity, ReadsFromHostRoot) {
  testing::TempDir dir;
  dir.write("proc/sys/kernel/hostname", "web-7\n");
  dir.write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  dir.write("proc/sys/kernel/random/boot_id", "b00710e5-0000-4000-8000-000000000000\n");
  auto host = readHostIdentity(HostRoot(dir.path()));
  EXPECT_EQ(host.hostname(), "web-7");
  EXPECT_EQ(host.machine_id(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(host.boot_id(), "b00710e5-0000-4000-8000-000000000000");
  EXPECT_EQ(hostKey(host), "host-0123456789abcdef0123456789abcdef");
}

TEST(Identity, MissingFilesLeaveFieldsEmpty) {
  testing::TempDir dir;
  auto host = readHostIdentity(HostRoot(dir.path()));
  EXPECT_EQ(host.hostname(), "");
  EXPECT_EQ(hostKey(host), "host-unknown");
}

TEST(Identity, HostKeyPrefersInstanceIdAndIsPathSafe) {
  v1::HostIdentity host;
  host.set_hostname("../../etc");
  EXPECT_EQ(hostKey(host), "host-.._.._etc");
  host.set_instance_id("i-0abc");
  EXPECT_EQ(hostKey(host), "i-0abc");
}

TEST(Identity, AgentIdIsStable) {
  testing::TempDir dir;
  auto a = loadOrCreateAgentId(dir / "state/agent-id");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->size(), 36u);
  EXPECT_EQ((*a)[14], '4');
  EXPECT_EQ(*loadOrCreateAgentId(dir / "state/agent-id"), *a);
  dir.write("bad-id", "nonsense");
  EXPECT_EQ(loadOrCreateAgentId(dir / "bad-id").error().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace demarc::evidence
