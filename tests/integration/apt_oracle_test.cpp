// The oracle: on the machine that runs the tests, the pending updates demarc
// computes from dpkg's status and apt's lists must be exactly what
// `apt list --upgradable` prints.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "agent/posture/apt.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

TEST(AptOracle, PendingUpdatesEqualAptListUpgradable) {
  if (!std::filesystem::exists("/usr/bin/apt") ||
      !std::filesystem::exists("/var/lib/dpkg/status")) {
    // Only off Debian and Ubuntu, where this suite is not meant to run (CI
    // and packaging/setup-deps.sh are Debian 12).
    GTEST_SKIP() << "not a Debian-family host: no apt to compare with";
  }
  testing::TempDir dir;
  auto apt = testing::runCommand({"/usr/bin/env", "LANG=C", "/usr/bin/apt", "list", "--upgradable"},
                                 dir.path());
  ASSERT_EQ(apt.exit_code, 0) << apt.err;
  // name/suite1,suite2 candidate arch [upgradable from: installed]
  std::regex line(R"(^([^/\s]+)/(\S+) (\S+) (\S+) \[upgradable from: ([^\]]+)\]$)");
  std::set<std::string> expected;
  std::istringstream lines(apt.out);
  std::string l;
  while (std::getline(lines, l)) {
    std::smatch m;
    if (l.empty() || l == "Listing...") continue;
    ASSERT_TRUE(std::regex_match(l, m, line)) << "unexpected apt output: " << l;
    expected.insert(m[1].str() + " " + m[4].str() + " " + m[5].str() + " -> " + m[3].str());
  }
  auto state = readAptState(HostRoot("/"));
  ASSERT_TRUE(state.ok()) << state.error().message();
  std::set<std::string> actual;
  for (const auto& p : state->pending) {
    std::string arch = p.arch == "all" ? "all" : p.arch;
    // apt names foreign-architecture packages name:arch in this listing.
    std::string name =
        p.arch != "all" && p.arch != state->native_arch ? p.name + ":" + p.arch : p.name;
    actual.insert(name + " " + arch + " " + p.installed_version + " -> " + p.candidate_version);
  }
  std::vector<std::string> only_apt, only_demarc;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(only_apt));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(only_demarc));
  EXPECT_TRUE(only_apt.empty() && only_demarc.empty())
      << only_apt.size() << " only in apt (first: " << (only_apt.empty() ? "" : only_apt[0])
      << "), " << only_demarc.size()
      << " only in demarc (first: " << (only_demarc.empty() ? "" : only_demarc[0]) << ")";
  std::printf(
      "apt list --upgradable: %zu pending; demarc: %zu pending (%zu from security suites)\n",
      expected.size(), actual.size(),
      static_cast<size_t>(std::count_if(state->pending.begin(), state->pending.end(),
                                        [](const auto& p) { return p.security; })));
  for (const auto& problem : state->problems) ADD_FAILURE() << "problem reading host: " << problem;
}

}  // namespace
}  // namespace demarc::posture
