#include "agent/posture/kernel.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

TEST(Kernel, InstalledKernelsAreOrderedByVersion) {
  testing::TempDir root;
  for (const char* k : {"6.1.0-9-amd64", "6.1.0-57-amd64", "6.1.0-10-amd64"}) {
    root.write(std::string("boot/vmlinuz-") + k, "x");
  }
  root.write("boot/config-6.1.0-57-amd64", "x");
  auto status = readKernelStatus(HostRoot(root.path()));
  EXPECT_EQ(status.installed,
            (std::vector<std::string>{"6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-57-amd64"}));
  EXPECT_EQ(status.newest_installed, "6.1.0-57-amd64");
  EXPECT_EQ(status.running, "");  // offline root: no running kernel to compare
  EXPECT_FALSE(status.newer_kernel_installed);
  EXPECT_FALSE(status.reboot_flag);
}

TEST(Kernel, RebootRequiredFlagAndPackages) {
  testing::TempDir root;
  root.write("var/run/reboot-required", "*** System restart required ***\n");
  root.write("var/run/reboot-required.pkgs", "linux-image-6.1.0-57-amd64\nlibc6\n");
  auto status = readKernelStatus(HostRoot(root.path()));
  EXPECT_TRUE(status.reboot_flag);
  EXPECT_EQ(status.reboot_flag_packages,
            (std::vector<std::string>{"linux-image-6.1.0-57-amd64", "libc6"}));
}

// dnf needs-restarting -r: core packages installed after boot need a reboot.
TEST(Kernel, RpmRebootRuleFromInstallTimes) {
  auto at = [](uint32_t t) { return t; };
  std::vector<RpmPackage> installed = {
      {"kernel", "", "6.1.112", "122.amzn2023", "x86_64", at(2000)},     // after boot
      {"glibc", "", "2.34", "100.amzn2023", "x86_64", at(500)},          // before boot
      {"openssl-libs", "1", "3.0.8", "1.amzn2023", "x86_64", at(3000)},  // not a reboot package
      {"custom-agent", "", "1.0", "1", "noarch", at(2500)},              // listed in .conf
  };
  KernelStatus status;
  SystemTime booted(std::chrono::seconds(1000));
  applyRpmRebootRule(status, installed, booted, {});
  EXPECT_TRUE(status.reboot_flag);
  EXPECT_EQ(status.reboot_flag_packages, std::vector<std::string>{"kernel-6.1.112-122.amzn2023"});
  EXPECT_NE(status.reboot_source.find("rpmdb.sqlite"), std::string::npos);
  applyRpmRebootRule(status, installed, booted, {"custom-agent"});
  EXPECT_EQ(status.reboot_flag_packages.size(), 2u);
  applyRpmRebootRule(status, installed, SystemTime(std::chrono::seconds(4000)), {"custom-agent"});
  EXPECT_FALSE(status.reboot_flag);  // rebooted since
  EXPECT_TRUE(status.reboot_flag_packages.empty());
}

TEST(Kernel, LiveHostReportsTheRunningKernel) {
  auto status = readKernelStatus(HostRoot("/"));
  EXPECT_EQ(status.running,
            testing::readAll("/proc/sys/kernel/osrelease")
                .substr(0, testing::readAll("/proc/sys/kernel/osrelease").find('\n')));
}

TEST(LastPackageChange, NewestInstallInDpkgLog) {
  testing::TempDir root;
  root.write("var/log/dpkg.log",
             "2026-11-01 10:00:00 status installed bash:amd64 5.2\n"
             "2026-11-20 08:30:00 status installed libc6:amd64 2.36\n"
             "2026-11-25 09:00:00 remove foo:amd64 1.0 <none>\n"
             "garbage line\n");
  root.write("var/lib/dpkg/status", "");
  auto change = readLastPackageChange(HostRoot(root.path()));
  ASSERT_TRUE(change.when.has_value());
  EXPECT_EQ(formatTime(*change.when), "2026-11-20T08:30:00.000000Z");
  EXPECT_EQ(change.source, "/var/log/dpkg.log:2");
}

TEST(LastPackageChange, FallsBackToStatusModificationTime) {
  testing::TempDir root;
  root.write("var/lib/dpkg/status", "Package: x\n");
  auto change = readLastPackageChange(HostRoot(root.path()));
  ASSERT_TRUE(change.when.has_value());
  EXPECT_NE(change.source.find("modification time"), std::string::npos);
  testing::TempDir empty;
  EXPECT_FALSE(readLastPackageChange(HostRoot(empty.path())).when.has_value());
}

}  // namespace
}  // namespace demarc::posture
