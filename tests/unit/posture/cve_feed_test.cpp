#include "agent/posture/cve_feed.h"

#include <gtest/gtest.h>

#include "agent/core/decompress.h"

#include <sstream>

#include "agent/core/encoding.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

// The shape of https://security-tracker.debian.org/tracker/data/json, with
// the cases that matter: fixed in a newer version, fixed in an older one,
// never affected ("0"), open without a fix, undetermined, another release
// only, and fields the reader skips (arrays, numbers, nested objects).
constexpr const char* kFeed = R"({
  "openssl": {
    "CVE-2024-0001": {
      "description": "fixed after what is installed",
      "scope": "remote",
      "debianbug": 1000,
      "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.11-1~deb12u2"},
                     "fixed_version": "3.0.13-1~deb12u1", "urgency": "medium"},
        "trixie": {"status": "resolved", "fixed_version": "3.1.0-1", "urgency": "medium"}
      }
    },
    "CVE-2024-0002": {
      "releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.2-1",
                                "urgency": "low", "nodsa": "minor"}}
    },
    "CVE-2024-0003": {
      "releases": {"bookworm": {"status": "resolved", "fixed_version": "0",
                                "urgency": "unimportant"}}
    },
    "CVE-2024-0004": {
      "releases": {"bookworm": {"status": "open", "urgency": "high",
                                "repositories": {"bookworm": "3.0.11-1~deb12u2"}}}
    },
    "CVE-2024-0005": {
      "releases": {"bookworm": {"status": "undetermined", "urgency": "not yet assigned"}}
    },
    "TEMP-0000000-ABCDEF": {
      "releases": {"bookworm": {"status": "open", "urgency": "unimportant"}}
    }
  },
  "glibc": {
    "CVE-2024-0100": {
      "releases": {"bookworm": {"status": "resolved", "fixed_version": "2.36-9+deb12u4",
                                "urgency": "high"}}
    }
  },
  "notinstalled": {
    "CVE-2024-0200": {"releases": {"bookworm": {"status": "open", "urgency": "high"}}}
  },
  "trixieonly": {
    "CVE-2024-0300": {"releases": {"trixie": {"status": "open"}}, "tags": [1, {"x": [2]}]}
  }
})";

std::vector<InstalledPackage> installed() {
  InstalledPackage libssl{"libssl3", "amd64",   "3.0.11-1~deb12u2",
                          false,     "openssl", "3.0.11-1~deb12u2"};
  InstalledPackage openssl{"openssl", "amd64",   "3.0.11-1~deb12u2",
                           false,     "openssl", "3.0.11-1~deb12u2"};
  // A binNMU: the source version is the one in "Source: glibc (V)".
  InstalledPackage libc{"libc6", "amd64", "2.36-9+deb12u3+b1", false, "glibc", "2.36-9+deb12u3"};
  return {libssl, openssl, libc};
}

TrackerEntries parse(const std::string& text, const std::string& release = "bookworm") {
  std::istringstream in(text);
  auto entries = parseDebianTracker(in, release);
  EXPECT_TRUE(entries.ok()) << entries.error().message();
  return entries.ok() ? *entries : TrackerEntries{};
}

TEST(CveFeed, KeepsTheEntriesOfOneRelease) {
  TrackerEntries entries = parse(kFeed);
  ASSERT_EQ(entries.size(), 3u);  // openssl, glibc, notinstalled
  ASSERT_EQ(entries["openssl"].size(), 6u);
  EXPECT_EQ(entries["openssl"][0].cve, "CVE-2024-0001");
  EXPECT_EQ(entries["openssl"][0].fixed_version, "3.0.13-1~deb12u1");
  EXPECT_EQ(entries["openssl"][0].urgency, "medium");
  EXPECT_EQ(parse(kFeed, "trixie").size(), 2u);  // openssl and trixieonly
}

TEST(CveFeed, MatchesInstalledSourceVersions) {
  auto open = matchTracker(parse(kFeed), installed());
  ASSERT_EQ(open.size(), 4u);
  // glibc: compared by source version, not the binNMU version.
  EXPECT_EQ(open[0].cve, "CVE-2024-0100");
  EXPECT_EQ(open[0].installed_version, "2.36-9+deb12u3");
  EXPECT_EQ(open[0].binaries, std::vector<std::string>{"libc6"});
  EXPECT_TRUE(open[0].fixable());
  EXPECT_EQ(open[1].cve, "CVE-2024-0001");
  EXPECT_EQ(open[1].fixed_version, "3.0.13-1~deb12u1");
  EXPECT_EQ(open[1].binaries, (std::vector<std::string>{"libssl3", "openssl"}));
  EXPECT_EQ(open[2].cve, "CVE-2024-0004");
  EXPECT_FALSE(open[2].fixable());
  EXPECT_EQ(open[2].urgency, "high");
  EXPECT_EQ(open[3].cve, "TEMP-0000000-ABCDEF");
}

TEST(CveFeed, BadFeedsAreErrorsWithAPlace) {
  for (const char* bad : {"", "[1, 2]", "{\"openssl\": 3}",
                          "{\"openssl\": {\"CVE-1\": ", "{\"a\": {}} trailing", "\xff\xfe{}"}) {
    std::istringstream in(bad);
    auto r = parseDebianTracker(in, "bookworm");
    EXPECT_FALSE(r.ok()) << bad;
  }
  std::istringstream truncated(std::string(kFeed).substr(0, 300));
  auto r = parseDebianTracker(truncated, "bookworm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("byte "), std::string::npos) << r.error().message();
  std::istringstream wrong("{\"openssl\": \"x\"}");
  auto shape = parseDebianTracker(wrong, "bookworm");
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.error().message().find("source package \"openssl\""), std::string::npos);
}

TEST(CveFeed, FileDigestIsOfTheBytesRead) {
  testing::TempDir dir;
  auto plain = dir.write("tracker.json", kFeed);
  auto report = readCveFeed(plain.string(), "bookworm", installed());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->feed.sha256, toHex(sha256(kFeed)));
  EXPECT_EQ(report->feed.entries, 8u);
  EXPECT_EQ(report->feed.release, "bookworm");
  EXPECT_EQ(report->open.size(), 4u);
  EXPECT_GT(report->feed.modified.time_since_epoch().count(), 0);

  std::string compressed = gzipCompress(kFeed);
  auto gz = dir.write("tracker.json.gz", compressed);
  auto zipped = readCveFeed(gz.string(), "bookworm", installed());
  ASSERT_TRUE(zipped.ok()) << zipped.error().message();
  EXPECT_EQ(zipped->feed.sha256, toHex(sha256(compressed)));
  EXPECT_EQ(zipped->open.size(), 4u);

  auto missing = readCveFeed((dir / "nope.json").string(), "bookworm", installed());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope.json"), std::string::npos);
  auto damaged = readCveFeed(dir.write("bad.json", "{\"x\": {").string(), "bookworm", {});
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().message().find("bad.json"), std::string::npos);
  auto folder = readCveFeed(dir.path().string(), "bookworm", {});
  EXPECT_FALSE(folder.ok());
}

}  // namespace
}  // namespace demarc::posture
