#include "agent/core/posix_regex.h"

#include <gtest/gtest.h>

namespace demarc {
namespace {

TEST(PosixRegex, ExtendedSyntaxCaseAndErrors) {
  auto r =
      PosixRegex::compile("^[[:space:]]*PermitRootLogin[[:space:]]+(no|prohibit-password)$", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->search("  permitrootlogin no"));
  EXPECT_FALSE(r->search("PermitRootLogin yes"));
  auto bad = PosixRegex::compile("(unclosed", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'(unclosed'"), std::string::npos);
}

TEST(PosixRegex, LongAndBinaryLinesAreSafe) {
  auto r = PosixRegex::compile("(a|aa)*b", false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->search(std::string(1 << 20, 'a')));  // judged on its first 8 KiB
  std::string binary("x\0y", 3);
  EXPECT_TRUE(PosixRegex::compile("x", false)->search(binary));
}

}  // namespace
}  // namespace demarc
