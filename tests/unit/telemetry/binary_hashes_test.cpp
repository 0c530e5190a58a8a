// SHA-256 of executed binaries: the right file, read once per version.
#include "agent/telemetry/binary_hashes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/core/encoding.h"
#include "tests/support/temp_dir.h"

namespace demarc::telemetry {
namespace {

ExecEvent execOf(const std::filesystem::path& file, uint32_t tgid) {
  struct stat st {};
  ::stat(file.c_str(), &st);
  ExecEvent e;
  e.tgid = tgid;
  e.filename = file.string();
  e.inode = st.st_ino;
  return e;
}

TEST(BinaryHashes, HashesOncePerVersionAndNeverAReplacedFile) {
  testing::TempDir dir;
  auto bin = dir / "tool";
  std::ofstream(bin) << "version one";
  // A fake /proc without the pid: the exec's own path is used.
  BinaryHashes hashes(8, (dir / "proc").string());
  ExecEvent e = execOf(bin, 4242);
  auto first = hashes.of(e);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(*first, toHex(sha256("version one")));
  EXPECT_EQ(*hashes.of(e), *first);
  EXPECT_EQ(hashes.misses(), 1u);
  EXPECT_EQ(hashes.hits(), 1u);

  // Rewritten in place: same inode, new change time, new digest.
  ::usleep(10'000);
  std::ofstream(bin, std::ios::trunc) << "version two";
  auto second = hashes.of(e);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, toHex(sha256("version two")));
  EXPECT_EQ(hashes.misses(), 2u);

  // Replaced by another file under the same name (written aside and renamed
  // over it, as package managers do): not what was executed.
  std::ofstream(dir / "tool.new") << "an impostor";
  std::filesystem::rename(dir / "tool.new", bin);
  auto replaced = hashes.of(e);
  ASSERT_FALSE(replaced.ok());
  EXPECT_NE(replaced.error().message().find("no longer the file"), std::string::npos);

  std::filesystem::remove(bin);
  EXPECT_FALSE(hashes.of(e).ok());
}

TEST(BinaryHashes, ALiveProcessIsHashedThroughProc) {
  BinaryHashes hashes;
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/exe", &st), 0);
  ExecEvent e;
  e.tgid = static_cast<uint32_t>(::getpid());
  e.filename = "relative-name-that-does-not-exist";
  e.inode = st.st_ino;
  auto digest = hashes.of(e);
  ASSERT_TRUE(digest.ok()) << digest.error().message();
  EXPECT_EQ(*digest, toHex(*sha256File("/proc/self/exe")));
}

}  // namespace
}  // namespace demarc::telemetry
