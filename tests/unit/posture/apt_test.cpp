#include "agent/posture/apt.h"

#include <gtest/gtest.h>

#include "agent/core/decompress.h"

#include <algorithm>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

constexpr const char* kStatus =
    "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n\n"
    "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n\n"
    "Package: tzdata\nStatus: hold ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1\n\n"
    "Package: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\n"
    "Package: newest\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.0\n\n"
    "Package: backported\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"
    "Package: inmain\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"
    "Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36-9\n";

constexpr const char* kMain =
    "Package: dpkg\nArchitecture: amd64\nVersion: 1.21.22\n\n"
    "Package: bash\nArchitecture: amd64\nVersion: 5.2.15-2+b13\n\n"
    "Package: tzdata\nArchitecture: all\nVersion: 2025a-0+deb12u1\n\n"
    "Package: newest\nArchitecture: amd64\nVersion: 8.0\n\n"
    "Package: inmain\nArchitecture: amd64\nVersion: 1.0\n\n"
    "Package: libc6\nArchitecture: amd64\nVersion: 2.36-9+deb12u9\n\n";

constexpr const char* kSecurity = "Package: dpkg\nArchitecture: amd64\nVersion: 1.21.23\n\n";
constexpr const char* kBackports =
    "Package: backported\nArchitecture: amd64\nVersion: 2.0\n\n"
    "Package: inmain\nArchitecture: amd64\nVersion: 2.0\n\n";

std::string release(const std::string& suite, bool not_automatic) {
  return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nSuite: " + suite +
         "\nCodename: " + suite +
         (not_automatic ? "\nNotAutomatic: yes\nButAutomaticUpgrades: yes" : "") +
         "\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n";
}

void writeLists(const testing::TempDir& root) {
  root.write("var/lib/dpkg/status", kStatus);
  const std::string lists = "var/lib/apt/lists/";
  root.write(lists + "deb.debian.org_debian_dists_bookworm_InRelease", release("bookworm", false));
  root.write(lists + "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", kMain);
  root.write(lists + "deb.debian.org_debian-security_dists_bookworm-security_InRelease",
             release("bookworm-security", false));
  root.write(
      lists + "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
      kSecurity);
  root.write(lists + "deb.debian.org_debian_dists_bookworm-backports_InRelease",
             release("bookworm-backports", true));
  root.write(lists + "deb.debian.org_debian_dists_bookworm-backports_main_binary-amd64_Packages",
             kBackports);
}

std::vector<std::string> pendingNames(const AptState& state) {
  std::vector<std::string> names;
  for (const auto& p : state.pending) names.push_back(p.name + " " + p.candidate_version);
  return names;
}

TEST(Apt, PendingUpdatesFollowDefaultPolicy) {
  testing::TempDir root;
  writeLists(root);
  auto state = readAptState(HostRoot(root.path()));
  ASSERT_TRUE(state.ok()) << state.error().message();
  EXPECT_EQ(state->native_arch, "amd64");
  EXPECT_EQ(state->installed.size(), 7u);  // not the removed one
  std::vector<std::string> names = pendingNames(*state);
  // Not pending: "newest" (the lists only offer an older version) and
  // "inmain": its installed version is in main (priority 500), so the newer
  // version in a NotAutomatic/ButAutomaticUpgrades suite (priority 100) is
  // not a candidate. "backported" was installed from there (only the status
  // file has 1.0, priority 100), so the newer 2.0 at 100 is.
  EXPECT_EQ(names, (std::vector<std::string>{"backported 2.0", "bash 5.2.15-2+b13", "dpkg 1.21.23",
                                             "tzdata 2025a-0+deb12u1"}));
  const auto& bash = state->pending[1];
  EXPECT_FALSE(bash.security);
  EXPECT_EQ(bash.suites, std::vector<std::string>{"bookworm"});
  const auto& dpkg = state->pending[2];
  EXPECT_TRUE(dpkg.security);
  EXPECT_EQ(dpkg.suites, std::vector<std::string>{"bookworm-security"});
  EXPECT_TRUE(state->pending[3].held);  // held packages are still listed, as apt does
}

// apt_preferences(5): specific pins before general ones, first match wins,
// negative priorities never win, a pinned installed version stays.
TEST(Apt, PreferencesPinsChangeCandidates) {
  testing::TempDir root;
  writeLists(root);
  root.write("etc/apt/preferences",
             "Package: bash\nPin: version 5.2.15-2+b8\nPin-Priority: 1001\n\n"
             "Package: /^tz/\nPin: release a=bookworm, o=Debian\nPin-Priority: -1\n");
  root.write("etc/apt/preferences.d/backports",
             "Explanation: keep backports opt-in\nPackage: *\n"
             "Pin: release n=bookworm-backports\nPin-Priority: 50\n\n"
             "Package: inmain\nPin: release a=bookworm-backports\nPin-Priority: 990\n");
  root.write("etc/apt/preferences.d/ignored.disabled",
             "Package: dpkg\nPin: version *\nPin-Priority: -1\n");
  root.write("etc/apt/preferences.d/broken.pref", "Package: x\nPin-Priority: high\n");
  auto state = readAptState(HostRoot(root.path()));
  ASSERT_TRUE(state.ok()) << state.error().message();
  // bash held at its installed version (1001); tzdata's update pinned away
  // (-1); "backported" 2.0 lowered below the installed 100 by the general
  // pin; "inmain" raised to 990 by the specific one, which wins over the
  // general; dpkg untouched (the .disabled file is not read).
  EXPECT_EQ(pendingNames(*state), (std::vector<std::string>{"dpkg 1.21.23", "inmain 2.0"}));
  EXPECT_EQ(state->pins.size(), 4u);
  EXPECT_EQ(state->pins[2].source, "/etc/apt/preferences.d/backports:1");
  ASSERT_EQ(state->problems.size(), 1u);
  EXPECT_NE(state->problems[0].find("/etc/apt/preferences.d/broken.pref:1: a pin needs"),
            std::string::npos)
      << state->problems[0];
}

TEST(Apt, DamagedFilesAreProblemsNotFailures) {
  testing::TempDir root;
  root.write("var/lib/dpkg/status",
             std::string(kStatus) + "\n\nPackage: broken\nStatus: install ok installed\n");
  root.write("var/lib/apt/lists/x_dists_y_main_binary-amd64_Packages.lz4", "not lz4");
  auto state = readAptState(HostRoot(root.path()));
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->problems.size(), 2u);
  EXPECT_NE(state->problems[0].find("/var/lib/dpkg/status:"), std::string::npos)
      << state->problems[0];
  EXPECT_NE(state->problems[1].find("Packages.lz4"), std::string::npos) << state->problems[1];
  EXPECT_TRUE(state->pending.empty());
}

// Lists are parsed piece by piece as they decompress: paragraphs cut by a
// piece boundary still count, and a list that breaks halfway counts for
// nothing (as with apt), not for its first half.
TEST(Apt, LargeListsInPiecesAndDamagedOnesNotAtAll) {
  testing::TempDir root;
  writeLists(root);
  std::string big;
  for (int i = 0; i < 20000; ++i) {
    big += "Package: filler" + std::to_string(i) + "\nArchitecture: amd64\nVersion: 1.0\n\n";
    if (i == 9000) big += "Package: bash\nArchitecture: amd64\nVersion: 5.2.15-2+b20\n\n";
  }
  big += "Package: inmain\nArchitecture: amd64\nVersion: 1.5\n";  // last, no blank line
  const std::string lists = "var/lib/apt/lists/";
  root.write(lists + "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", "");
  root.write(lists + "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.gz",
             gzipCompress(big));
  auto state = readAptState(HostRoot(root.path()));
  ASSERT_TRUE(state.ok()) << state.error().message();
  auto names = pendingNames(*state);
  EXPECT_NE(std::find(names.begin(), names.end(), "bash 5.2.15-2+b20"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "inmain 1.5"), names.end());

  std::string cut = gzipCompress(big);
  cut.resize(cut.size() * 2 / 3);
  root.write(lists + "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.gz", cut);
  auto damaged = readAptState(HostRoot(root.path()));
  ASSERT_TRUE(damaged.ok());
  auto after = pendingNames(*damaged);
  EXPECT_EQ(std::find(after.begin(), after.end(), "bash 5.2.15-2+b20"), after.end());
  ASSERT_FALSE(damaged->problems.empty());
  EXPECT_NE(damaged->problems.back().find("Packages.gz"), std::string::npos);
}

TEST(Apt, MissingStatusIsAnErrorNamingIt) {
  testing::TempDir root;
  auto state = readAptState(HostRoot(root.path()));
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.error().message().find("var/lib/dpkg/status"), std::string::npos);
}

}  // namespace
}  // namespace demarc::posture
