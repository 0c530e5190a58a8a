#include "agent/core/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

TEST(AtomicWrite, WritesWithModeDespiteUmask) {
  testing::TempDir dir;
  mode_t old = ::umask(0077);
  auto st = writeFileAtomic(dir / "a", "hello", {.mode = 0644, .fsync = true});
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(testing::readAll(dir / "a"), "hello");
  struct stat s {};
  ASSERT_EQ(::stat((dir / "a").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0777, 0644u);
  // No temp file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(AtomicWrite, ReplacesWhole) {
  testing::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "a", std::string(10000, 'a')).ok());
  ASSERT_TRUE(writeFileAtomic(dir / "a", "b").ok());
  EXPECT_EQ(testing::readAll(dir / "a"), "b");
}

TEST(AtomicWrite, ErrorNamesThePath) {
  auto st = writeFileAtomic("/nonexistent-dir/x", "y");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/nonexistent-dir"), std::string::npos);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
}

TEST(AtomicWrite, LeftoverNames) {
  EXPECT_TRUE(isAtomicWriteLeftover("/x/.00001.batch.tmp"));
  EXPECT_FALSE(isAtomicWriteLeftover("/x/00001.batch"));
  EXPECT_FALSE(isAtomicWriteLeftover("/x/.tmp"));
}

TEST(ReadFile, PrefixIsBounded) {
  testing::TempDir dir;
  auto p = dir.write("big", std::string(100000, 'z'));
  auto r = readFilePrefix(p, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10u);
  EXPECT_EQ(readFile(p)->size(), 100000u);
  EXPECT_EQ(readFile(dir / "missing").error().code(), ErrorCode::kNotFound);
}

TEST(LockFile, SecondHolderIsRefusedWithPid) {
  testing::TempDir dir;
  auto first = lockFile(dir / "lock");
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto second = lockFile(dir / "lock");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("(pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message();
  first->reset();
  EXPECT_TRUE(lockFile(dir / "lock").ok());
}

TEST(EnsureDirectory, CreatesParents) {
  testing::TempDir dir;
  ASSERT_TRUE(ensureDirectory(dir / "a/b/c", 0700).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a/b/c"));
  ASSERT_TRUE(ensureDirectory(dir / "a/b/c").ok());  // idempotent
  dir.write("file", "x");
  EXPECT_FALSE(ensureDirectory(dir / "file/sub").ok());
}

}  // namespace
}  // namespace demarc
