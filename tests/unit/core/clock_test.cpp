#include "agent/core/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

namespace demarc {
namespace {

using namespace std::chrono_literals;

TEST(Time, FormatsUtcWithMicros) {
  SystemTime t = SystemTime(1764539225s + 123456us);
  EXPECT_EQ(formatTime(t), "2025-11-30T21:47:05.123456Z");
  EXPECT_EQ(formatDate(t), "2025-11-30");
}

// The arithmetic calendar agrees with the C library's, second by second
// around leap days and century years and at random instants either side of
// the epoch.
TEST(Time, UtcDateTimeMatchesGmtime) {
  std::vector<int64_t> instants = {0,         -1,         951782399,    951782400,
                                   951868800, 4107542400, 253402300799, -62135596800};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> any(-62135596800, 253402300799);  // years 1..9999
  for (int i = 0; i < 20000; ++i) instants.push_back(any(rng));
  for (int64_t t : instants) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char want[80];
    std::snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string got;
    appendUtcDateTime(t, got);
    ASSERT_EQ(got, want) << t;
  }
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
