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

// Lines come whole even where a line spans two reads (64 KiB each); the
// last line needs no newline; an endless line is an error, not a memory
// hog.
TEST(HostRoot, ForEachLineReadsInPieces) {
  testing::TempDir dir;
  std::string text;
  for (int i = 1; i <= 20000; ++i)
    text += "row " + std::to_string(i) + " " + std::string(i % 7, 'x') + "\n";
  text += "last without newline";
  dir.write("proc/net/tcp", text);
  HostRoot root(dir.path());
  std::string joined;
  size_t lines = 0;
  auto status = root.forEachLine("/proc/net/tcp", [&](std::string_view line, size_t line_no) {
    EXPECT_EQ(line_no, ++lines);
    EXPECT_EQ(line.find('\n'), std::string_view::npos);
    joined.append(line);
    joined.push_back('\n');
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(lines, 20001u);
  EXPECT_EQ(joined, text + "\n");

  dir.write("proc/net/udp", "header\n" + std::string(200000, 'a') + "\n");
  auto endless = root.forEachLine(
      "/proc/net/udp", [](std::string_view, size_t) {}, 100000);
  ASSERT_FALSE(endless.ok());
  EXPECT_NE(endless.error().message().find("proc/net/udp: line 2 is longer than 100000 bytes"),
            std::string::npos)
      << endless.error().message();
  auto missing = root.forEachLine("/proc/net/raw", [](std::string_view, size_t) {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
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

TEST(HostRoot, GlobListsOneComponentAtATimeInsideTheRoot) {
  testing::TempDir dir;
  dir.write("etc/ssh/sshd_config.d/b.conf", "b");
  dir.write("etc/ssh/sshd_config.d/a.conf", "a");
  dir.write("etc/ssh/sshd_config.d/.hidden.conf", "h");
  dir.write("etc/ssh/sshd_config.d/notes.txt", "n");
  dir.write("inside/x.conf", "x");
  // A folder symlinked to an absolute path: inside the image that is
  // ROOT/inside; a naive glob would list the scanning host's /inside.
  std::filesystem::create_directories(dir / "etc/links");
  std::filesystem::create_directory_symlink("/inside", dir / "etc/links/d");
  HostRoot root(dir.path());
  EXPECT_EQ(
      root.glob("/etc/ssh/sshd_config.d/*.conf"),
      (std::vector<std::string>{"/etc/ssh/sshd_config.d/a.conf", "/etc/ssh/sshd_config.d/b.conf"}));
  EXPECT_EQ(root.glob("/etc/links/d/*.conf"), (std::vector<std::string>{"/etc/links/d/x.conf"}));
  EXPECT_EQ(root.glob("/etc/*/sshd_config.d/a.conf"),
            (std::vector<std::string>{"/etc/ssh/sshd_config.d/a.conf"}));
  EXPECT_TRUE(root.glob("/nowhere/*").empty());
  EXPECT_EQ(*root.read("/etc/links/d/x.conf"), "x");
}

TEST(HostRoot, LstatDoesNotFollowTheLastSymlink) {
  testing::TempDir dir;
  dir.write("etc/shadow", "root:*:1::::::\n");
  std::filesystem::create_symlink("/etc/shadow", dir / "etc/shadow-link");
  HostRoot root(dir.path());
  auto link = root.lstat("/etc/shadow-link");
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_TRUE(S_ISLNK(link->st_mode));
  EXPECT_EQ(*root.readLink("/etc/shadow-link"), "/etc/shadow");
  auto file = root.lstat("/etc/shadow");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(S_ISREG(file->st_mode));
  EXPECT_FALSE(root.lstat("/etc/none").ok());
  auto entries = root.list("/etc");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "shadow");
}

}  // namespace
}  // namespace demarc
