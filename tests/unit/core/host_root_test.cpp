#include "agent/core/host_root.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

TEST(HostRoot, MapsPathsUnderRoot) {
  testing::TempDir dir;
  dir.write("proc/sys/kernel/hostname", "  web-1 \n");
  HostRoot root(dir.path());
  EXPECT_FALSE(root.isLive());
  EXPECT_EQ(root.path("/proc/sys/kernel/hostname"), dir / "proc/sys/kernel/hostname");
  EXPECT_EQ(*root.readLine("/proc/sys/kernel/hostname"), "web-1");
  EXPECT_TRUE(HostRoot().isLive());
}

TEST(HostRoot, ReadIsBoundedAndErrorsNameThePath) {
  testing::TempDir dir;
  dir.write("etc/big", std::string(5000, 'a'));
  HostRoot root(dir.path());
  EXPECT_EQ(root.read("/etc/big", 100)->size(), 100u);
  auto missing = root.read("/etc/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("etc/missing"), std::string::npos);
}

// An image's symlinks resolve inside the image, never on the scanning host.
TEST(HostRoot, SymlinksStayInsideTheRoot) {
  testing::TempDir dir;
  dir.write("etc/hostname", "image-host\n");
  std::filesystem::create_symlink("/etc/hostname", dir / "etc/absolute");
  std::filesystem::create_symlink("../../../../../../../../etc/hostname", dir / "etc/dotdot");
  HostRoot root(dir.path());
  EXPECT_EQ(*root.readLine("/etc/absolute"), "image-host");
  EXPECT_EQ(*root.readLine("/etc/dotdot"), "image-host");
  EXPECT_EQ(*root.readLine("/../../etc/hostname"), "image-host");
  std::filesystem::create_symlink("/etc/os-release", dir / "etc/escape");  // host has it, image not
  EXPECT_EQ(root.read("/etc/escape").error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace demarc
