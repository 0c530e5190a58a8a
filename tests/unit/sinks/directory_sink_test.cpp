#include "agent/sinks/directory_sink.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

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
