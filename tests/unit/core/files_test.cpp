#include "agent/core/files.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

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

// Pages of `path` in the page cache.
size_t residentPages(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  struct stat s {};
  ::fstat(fd, &s);
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t pages = (static_cast<size_t>(s.st_size) + page - 1) / page;
  void* map = ::mmap(nullptr, static_cast<size_t>(s.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  EXPECT_NE(map, MAP_FAILED);
  std::vector<unsigned char> in(pages);
  EXPECT_EQ(::mincore(map, static_cast<size_t>(s.st_size), in.data()), 0);
  ::munmap(map, static_cast<size_t>(s.st_size));
  size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}

// Written once and never read back by the writer (journal batches): once
// on disk, its pages leave the page cache instead of pushing out the
// host's own.
TEST(AtomicWrite, UncachedLeavesNothingInThePageCache) {
  testing::TempDir dir;
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs files live in the page cache";
  const std::string bytes(1 << 20, 'x');
  ASSERT_TRUE(writeFileAtomic(dir / "kept", bytes, {.mode = 0640, .fsync = true}).ok());
  ASSERT_TRUE(
      writeFileAtomic(dir / "dropped", bytes, {.mode = 0640, .fsync = true, .uncached = true})
          .ok());
  EXPECT_GT(residentPages(dir / "kept"), 0u);  // what a plain write leaves
  EXPECT_EQ(residentPages(dir / "dropped"), 0u);
  EXPECT_EQ(testing::readAll(dir / "dropped"), bytes);
}

TEST(AtomicWrite, LeftoverNames) {
  EXPECT_TRUE(isAtomicWriteLeftover("/x/.00001.batch.tmp"));
  EXPECT_FALSE(isAtomicWriteLeftover("/x/00001.batch"));
  EXPECT_FALSE(isAtomicWriteLeftover("/x/.tmp"));
}

struct stat statOf(const std::filesystem::path& path) {
  struct stat s {};
  EXPECT_EQ(::stat(path.c_str(), &s), 0) << path;
  return s;
}

int entriesIn(const std::filesystem::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(LinkFileAtomic, LinksInsteadOfCopyingAndReplacesWhatWasThere) {
  testing::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "journal", "sealed bytes", {.mode = 0640}).ok());
  std::filesystem::create_directory(dir / "out");
  ASSERT_TRUE(writeFileAtomic(dir / "out/e", "older, other bytes", {.mode = 0640}).ok());
  auto linked = linkFileAtomic(dir / "journal", dir / "out/e", {.mode = 0640, .fsync = true});
  ASSERT_TRUE(linked.ok()) << linked.error().message();
  EXPECT_TRUE(*linked);
  EXPECT_EQ(testing::readAll(dir / "out/e"), "sealed bytes");
  EXPECT_EQ(statOf(dir / "out/e").st_ino, statOf(dir / "journal").st_ino);
  EXPECT_EQ(statOf(dir / "journal").st_nlink, 2u);
  // Again, onto the same file: rename() keeps both names there, and the
  // temp link must not stay behind.
  linked = linkFileAtomic(dir / "journal", dir / "out/e", {.mode = 0640, .fsync = false});
  ASSERT_TRUE(linked.ok() && *linked);
  EXPECT_EQ(entriesIn(dir / "out"), 1);
  EXPECT_EQ(statOf(dir / "journal").st_nlink, 2u);
  // The journal removing its name leaves the linked file whole.
  std::filesystem::remove(dir / "journal");
  EXPECT_EQ(testing::readAll(dir / "out/e"), "sealed bytes");
}

TEST(LinkFileAtomic, DeclinesWhenALinkWouldNotDo) {
  testing::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "private", "x", {.mode = 0600}).ok());
  // Another mode than the one wanted: the inode's mode is shared.
  auto linked = linkFileAtomic(dir / "private", dir / "e", {.mode = 0640});
  ASSERT_TRUE(linked.ok());
  EXPECT_FALSE(*linked);
  // Gone.
  linked = linkFileAtomic(dir / "missing", dir / "e", {.mode = 0640});
  ASSERT_TRUE(linked.ok());
  EXPECT_FALSE(*linked);
  EXPECT_EQ(entriesIn(dir.path()), 1);
  // Another filesystem (/dev/shm is a tmpfs where it exists).
  if (statOf("/dev/shm").st_dev == statOf(dir.path()).st_dev) return;
  std::filesystem::path other = "/dev/shm/demarc-link-test-" + std::to_string(::getpid());
  ASSERT_TRUE(writeFileAtomic(other, "x", {.mode = 0640}).ok());
  linked = linkFileAtomic(other, dir / "e", {.mode = 0640});
  std::filesystem::remove(other);
  ASSERT_TRUE(linked.ok()) << linked.error().message();
  EXPECT_FALSE(*linked);
  EXPECT_EQ(entriesIn(dir.path()), 1);
}

TEST(LinkFileAtomic, OtherFailuresAreErrorsNamingThePath) {
  testing::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "j", "x", {.mode = 0640}).ok());
  auto linked = linkFileAtomic(dir / "j", dir / "no-such-folder/e", {.mode = 0640});
  ASSERT_FALSE(linked.ok());
  EXPECT_NE(linked.error().message().find("no-such-folder"), std::string::npos);
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
