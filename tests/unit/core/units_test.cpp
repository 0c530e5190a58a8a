#include "agent/core/units.h"

#include <gtest/gtest.h>

namespace demarc {
namespace {

using namespace std::chrono_literals;

TEST(Duration, Parses) {
  EXPECT_EQ(*parseDuration("500ms"), 500ms);
  EXPECT_EQ(*parseDuration("30s"), 30s);
  EXPECT_EQ(*parseDuration("5m"), 5min);
  EXPECT_EQ(*parseDuration("1h30m"), 90min);
  EXPECT_EQ(*parseDuration("2d"), 48h);
}

TEST(Duration, RejectsWithoutUnitOrGarbage) {
  for (const char* bad : {"", "60", "5 s", "s", "-1s", "1x", "1.5s", "99999999999999999999h"}) {
    auto r = parseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parseDuration("60").error().message().find("30s"), std::string::npos);
}

TEST(Duration, FormatsShortestExact) {
  EXPECT_EQ(formatDuration(60s), "1m");
  EXPECT_EQ(formatDuration(90s), "90s");
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(3600s), "1h");
  EXPECT_EQ(formatDuration(0s), "0s");
  for (std::chrono::nanoseconds d :
       {std::chrono::nanoseconds(1ms), std::chrono::nanoseconds(1s), std::chrono::nanoseconds(61s),
        std::chrono::nanoseconds(25h), std::chrono::nanoseconds(7ns)}) {
    EXPECT_EQ(*parseDuration(formatDuration(d)), d);
  }
}

TEST(Size, ParsesAndFormats) {
  EXPECT_EQ(*parseSize("1048576"), 1048576u);
  EXPECT_EQ(*parseSize("64KiB"), 65536u);
  EXPECT_EQ(*parseSize("256MiB"), 256u << 20);
  EXPECT_EQ(*parseSize("10MB"), 10'000'000u);
  EXPECT_FALSE(parseSize("lots").ok());
  EXPECT_FALSE(parseSize("10 parsecs").ok());
  EXPECT_FALSE(parseSize("99999999999TiB").ok());
  EXPECT_EQ(formatSize(256u << 20), "256MiB");
  EXPECT_EQ(formatSize(1000), "1000");
}

}  // namespace
}  // namespace demarc
