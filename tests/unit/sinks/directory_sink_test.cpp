#include "agent/sinks/directory_sink.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "agent/core/files.h"
#include "agent/evidence/codec.h"
#include "tests/support/evidence_fixture.h"
#include "tests/support/temp_dir.h"

namespace demarc::sinks {
namespace {

using testing::storedBatch;

TEST(DirectorySink, NameFollowsFromTheBatch) {
  EXPECT_EQ(DirectorySink::relativePath(storedBatch(42, "x")),
            "i-0abc/2025-11-30/00000000000000000042-0123456789abcdef.jsonl");
}

TEST(DirectorySink, WritesAtomicallyAndRedeliversIdempotently) {
  testing::TempDir dir;
  DirectorySink sink(dir / "evidence", true);
  ASSERT_TRUE(sink.deliver(storedBatch(1, "payload\nseal\n")).ok());
  auto path = dir / "evidence/i-0abc/2025-11-30/00000000000000000001-0123456789abcdef.jsonl";
  EXPECT_EQ(testing::readAll(path), "payload\nseal\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // A retry after a crash writes the same file with the same bytes.
  ASSERT_TRUE(sink.deliver(storedBatch(1, "payload\nseal\n")).ok());
  EXPECT_EQ(testing::readAll(path), "payload\nseal\n");
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "evidence")) {
    files += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 1);
}

TEST(DirectorySink, LinksToTheJournalsFileInsteadOfWritingTheBytesAgain) {
  testing::TempDir dir;
  auto batch = storedBatch(1, "payload\nseal\n");
  batch.file = dir / "journal-batch";
  ASSERT_TRUE(writeFileAtomic(batch.file, batch.bytes, {.mode = evidence::kBatchFileMode}).ok());
  DirectorySink sink(dir / "evidence", true);
  ASSERT_TRUE(sink.deliver(batch).ok());
  auto path = dir / "evidence" / DirectorySink::relativePath(batch);
  EXPECT_EQ(testing::readAll(path), "payload\nseal\n");
  struct stat linked {
  }, journal{};
  ASSERT_EQ(::stat(path.c_str(), &linked), 0);
  ASSERT_EQ(::stat(batch.file.c_str(), &journal), 0);
  EXPECT_EQ(linked.st_ino, journal.st_ino);
  EXPECT_EQ(linked.st_mode & 0777, 0640u);
  // A journal file of another mode (an older agent's) is copied, not linked.
  auto older = storedBatch(2, "older\nseal\n");
  older.file = dir / "older-batch";
  ASSERT_TRUE(writeFileAtomic(older.file, older.bytes, {.mode = 0600}).ok());
  ASSERT_TRUE(sink.deliver(older).ok());
  auto older_path = dir / "evidence" / DirectorySink::relativePath(older);
  ASSERT_EQ(::stat(older_path.c_str(), &linked), 0);
  EXPECT_EQ(linked.st_nlink, 1u);
  EXPECT_EQ(linked.st_mode & 0777, 0640u);
  EXPECT_EQ(testing::readAll(older_path), "older\nseal\n");
}

TEST(DirectorySink, UnwritableRootIsAnErrorNamingThePath) {
  testing::TempDir dir;
  dir.write("file", "x");
  DirectorySink sink(dir / "file", false);
  auto st = sink.deliver(storedBatch(1, "a\nb\n"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find(dir.path().string()), std::string::npos);
}

}  // namespace
}  // namespace demarc::sinks
