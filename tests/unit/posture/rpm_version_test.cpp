#include "agent/posture/rpm_version.h"

#include <gtest/gtest.h>

namespace demarc::posture {
namespace {

// Cases in the spirit of rpm's own rpmvercmp test table (tests/rpmvercmp.at).
TEST(RpmVersion, OrdersLikeRpmvercmp) {
  struct Case {
    const char* a;
    const char* b;
    int expected;
  };
  const Case cases[] = {
      {"1.0", "1.0", 0},
      {"1.0", "2.0", -1},
      {"2.0.1", "2.0", 1},
      {"2.0.1a", "2.0.1", 1},
      {"5.5p1", "5.5p2", -1},
      {"5.5p10", "5.5p1", 1},
      {"10xyz", "10.1xyz", -1},
      {"xyz10", "xyz10.1", -1},
      {"xyz.4", "8", -1},
      {"1.0aa", "1.0a", 1},
      {"10.0001", "10.1", 0},
      {"2a", "2.0", -1},
      {"1.0", "1.0a", -1},
      {"a+", "a_", 0},
      {"+", "_", 0},
      {"1.0~rc1", "1.0", -1},
      {"1.0~rc1", "1.0~rc2", -1},
      {"1.0~rc1~git123", "1.0~rc1", -1},
      {"1.0^", "1.0", 1},
      {"1.0^git1", "1.0", 1},
      {"1.0^git1", "1.01", -1},
      {"1.0^20160101", "1.0^20160102", -1},
      {"1.0~rc1^git1", "1.0~rc1", 1},
      {"1.0^git1~pre", "1.0^git1", -1},
      {"1.0.0", "1.0", 1},
  };
  for (const auto& c : cases) {
    int got = rpmvercmp(c.a, c.b);
    EXPECT_EQ(got < 0 ? -1 : got > 0 ? 1 : 0, c.expected) << c.a << " vs " << c.b;
    int back = rpmvercmp(c.b, c.a);
    EXPECT_EQ(back < 0 ? -1 : back > 0 ? 1 : 0, -c.expected) << c.b << " vs " << c.a;
  }
}

TEST(RpmVersion, EpochVersionRelease) {
  EXPECT_GT(compareRpmVersions("1:1.0-1", "2.0-1"), 0);
  EXPECT_EQ(compareRpmVersions("0:1.0-1", "1.0-1"), 0);
  EXPECT_LT(compareRpmVersions("1.0-1.amzn2023", "1.0-2.amzn2023"), 0);
  EXPECT_EQ(compareRpmVersions("1.0", "1.0-5"), 0);  // no release on one side: versions decide
  EXPECT_LT(compareRpmVersions("3.0.8-1.amzn2023.0.14", "3.0.8-1.amzn2023.0.16"), 0);
}

}  // namespace
}  // namespace demarc::posture
