#include "agent/core/clock.h"

#include <gtest/gtest.h>

namespace demarc {
namespace {

using namespace std::chrono_literals;

TEST(Time, FormatsUtcWithMicros) {
  SystemTime t = SystemTime(1764539225s + 123456us);
  EXPECT_EQ(formatTime(t), "2025-11-30T21:47:05.123456Z");
  EXPECT_EQ(formatDate(t), "2025-11-30");
}

TEST(Time, ParsesRfc3339) {
  SystemTime t = SystemTime(1764539225s);
  EXPECT_EQ(parseTime("2025-11-30T21:47:05Z"), t);
  EXPECT_EQ(parseTime("2025-11-30T21:47:05.5Z"), t + 500ms);
  EXPECT_EQ(parseTime("2025-11-30T22:47:05+01:00"), t);
  EXPECT_EQ(parseTime(formatTime(t + 7us)), t + 7us);
}

TEST(Time, RejectsMalformed) {
  for (const char* bad :
       {"", "2025-11-30", "2025-11-30T21:47:05", "2025-13-01T00:00:00Z", "2025-11-30T21:47:05Zjunk",
        "2025-11-30T21:47:05.Z", "1013-11-30T21:47:05Z", "9999-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parseTime(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace demarc
