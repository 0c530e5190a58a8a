#include "agent/posture/sysctl.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

namespace fs = std::filesystem;

TEST(Sysctl, SystemdPrecedence) {
  testing::TempDir root;
  root.write("usr/lib/sysctl.d/50-default.conf",
             "net.ipv4.ip_forward = 1\nkernel.kptr_restrict=1\n-fs.protected_fifos = 1\n");
  // Same name in /etc hides the /usr/lib one entirely.
  root.write("usr/lib/sysctl.d/10-hidden.conf", "kernel.dmesg_restrict = 0\n");
  root.write("etc/sysctl.d/10-hidden.conf", "# nothing\n");
  root.write("etc/sysctl.d/99-hardening.conf", "net/ipv4/ip_forward=0\n; comment\nbroken line\n");
  root.write("etc/sysctl.conf", "kernel.kptr_restrict = 2\n");
  auto state = readPersistedSysctl(HostRoot(root.path()));
  EXPECT_EQ(state.files, (std::vector<std::string>{
                             "/etc/sysctl.d/10-hidden.conf", "/usr/lib/sysctl.d/50-default.conf",
                             "/etc/sysctl.d/99-hardening.conf", "/etc/sysctl.conf"}));
  EXPECT_EQ(state.values["net.ipv4.ip_forward"].value, "0");
  EXPECT_EQ(state.values["net.ipv4.ip_forward"].source, "/etc/sysctl.d/99-hardening.conf:1");
  EXPECT_EQ(state.values["kernel.kptr_restrict"].value, "2");  // sysctl.conf last
  EXPECT_EQ(state.values["fs.protected_fifos"].value, "1");
  EXPECT_EQ(state.values.count("kernel.dmesg_restrict"), 0u);
  ASSERT_EQ(state.problems.size(), 1u);
  EXPECT_NE(state.problems[0].find("99-hardening.conf:3"), std::string::npos);
}

TEST(Sysctl, LinkToSysctlConfIsAppliedOnce) {
  testing::TempDir root;
  root.write("etc/sysctl.conf", "vm.swappiness = 10\n");
  fs::create_directories(root / "etc/sysctl.d");
  fs::create_symlink("../sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf");
  auto state = readPersistedSysctl(HostRoot(root.path()));
  EXPECT_EQ(state.files, std::vector<std::string>{"/etc/sysctl.d/99-sysctl.conf"});
  EXPECT_EQ(state.values["vm.swappiness"].value, "10");
}

TEST(Sysctl, RuntimeValueFromProc) {
  auto v = readRuntimeSysctl(HostRoot("/"), "kernel.ostype");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, "Linux");
  EXPECT_EQ(v->source, "/proc/sys/kernel/ostype");
  EXPECT_FALSE(readRuntimeSysctl(HostRoot("/"), "no.such.key"));
  EXPECT_FALSE(readRuntimeSysctl(HostRoot("/mnt/image"), "kernel.ostype"));  // offline
}

}  // namespace
}  // namespace demarc::posture
