#include "agent/posture/debian_version.h"

#include <gtest/gtest.h>

namespace demarc::posture {
namespace {

int sign(int v) { return v < 0 ? -1 : v > 0 ? 1 : 0; }

// Cases from dpkg's own rules (deb-version(7)) and its test suite.
TEST(DebianVersion, OrdersLikeDpkg) {
  struct Case {
    const char* a;
    const char* b;
    int expected;
  };
  const Case cases[] = {
      {"1.0", "1.0", 0},
      {"1.0", "1.1", -1},
      {"1.0-1", "1.0-2", -1},
      {"1:1.0", "2.0", 1},     // epoch wins
      {"0:1.0", "1.0", 0},     // epoch 0 is no epoch
      {"1.0~rc1", "1.0", -1},  // ~ before the end
      {"1.0~rc1", "1.0~rc2", -1},
      {"1.0~~", "1.0~", -1},
      {"1.0~", "1.0", -1},
      {"1.0", "1.0+b1", -1},
      {"1.0a", "1.0+", -1},  // letters before other characters
      {"1.0", "1.0a", -1},
      {"1.2.10", "1.2.9", 1},  // numbers compare numerically
      {"1.002", "1.2", 0},     // leading zeros
      {"2.6.1", "2.6.2", -1},
      {"12.4+deb12u11", "12.4+deb12u15", -1},
      {"5.2.15-2+b8", "5.2.15-2+b13", -1},
      {"20230311+deb12u1", "20250419~deb12u2", -1},
      {"1.0-1", "1.0", 1},  // a revision sorts after none
      {"1:0.4", "10.3", 1},
      {"1.0-1~bpo1", "1.0-1", -1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sign(compareDebianVersions(c.a, c.b)), c.expected) << c.a << " vs " << c.b;
    EXPECT_EQ(sign(compareDebianVersions(c.b, c.a)), -c.expected) << c.b << " vs " << c.a;
  }
}

TEST(DebianVersion, MalformedInputStillOrdersWithoutCrashing) {
  for (const char* junk : {"", ":", "-", "::", "a:b:c", "~~~", "1-", "-1", "\xff\xfe"}) {
    int self = compareDebianVersions(junk, junk);
    EXPECT_EQ(self, 0) << junk;
    (void)compareDebianVersions(junk, "1.0");
  }
  // Embedded NUL bytes (found by tests/fuzz) order like the end of the string.
  EXPECT_EQ(compareDebianVersions(std::string_view("\0x", 2), ""),
            0 - compareDebianVersions("", std::string_view("\0x", 2)));
}

}  // namespace
}  // namespace demarc::posture
