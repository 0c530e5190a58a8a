// The oracle for the rpm database reader: packages built with rpmbuild and
// recorded with rpm into a SQLite database under a fake root must read back
// exactly as `rpm -qa` lists them.
#include <gtest/gtest.h>

#include <set>

#include "agent/posture/rpmdb.h"
#include "agent/posture/rule_pack.h"
#include "agent/posture/scanner.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

void buildPackage(const testing::TempDir& dir, const std::string& name, const std::string& epoch,
                  const std::string& version, const std::string& release) {
  std::string spec = "Name: " + name + "\nVersion: " + version + "\nRelease: " + release + "\n" +
                     (epoch.empty() ? "" : "Epoch: " + epoch + "\n") +
                     "Summary: fixture\nLicense: MIT\nBuildArch: noarch\n%description\nfixture\n"
                     "%files\n";
  auto path = dir.write(name + ".spec", spec);
  auto r = testing::runCommand(
      {"/usr/bin/rpmbuild", "--define", "_topdir " + (dir / "top").string(), "-bb", path.string()},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::vector<std::string> rpmArgs(const testing::TempDir& dir) {
  return {"/usr/bin/rpm", "--root",   (dir / "root").string(), "--dbpath",
          "/var/lib/rpm", "--define", "_db_backend sqlite"};
}

TEST(RpmDatabase, ReadsWhatRpmRecorded) {
  testing::TempDir dir;
  buildPackage(dir, "demo-tool", "2", "1.2.3", "4.amzn2023");
  buildPackage(dir, "openssh-server", "", "8.7p1", "8.amzn2023.0.4");
  auto init = rpmArgs(dir);
  init.push_back("--initdb");
  ASSERT_EQ(testing::runCommand(init, dir.path()).exit_code, 0);
  auto install = rpmArgs(dir);
  for (const char* a : {"-i", "--justdb", "--nodeps", "--noscripts"}) install.push_back(a);
  install.push_back((dir / "top/RPMS/noarch/demo-tool-1.2.3-4.amzn2023.noarch.rpm").string());
  install.push_back(
      (dir / "top/RPMS/noarch/openssh-server-8.7p1-8.amzn2023.0.4.noarch.rpm").string());
  auto installed = testing::runCommand(install, dir.path());
  ASSERT_EQ(installed.exit_code, 0) << installed.err;

  auto query = rpmArgs(dir);
  for (const char* a : {"-qa", "--qf", "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n"}) {
    query.push_back(a);
  }
  auto oracle = testing::runCommand(query, dir.path());
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  std::set<std::string> expected;
  size_t pos = 0;
  while (pos < oracle.out.size()) {
    size_t nl = oracle.out.find('\n', pos);
    std::string line = oracle.out.substr(pos, nl - pos);
    if (!line.empty()) expected.insert(line);
    pos = nl == std::string::npos ? oracle.out.size() : nl + 1;
  }
  ASSERT_EQ(expected.size(), 2u) << oracle.out;

  std::vector<std::string> problems;
  auto packages = readRpmDatabase(HostRoot(dir / "root"), &problems);
  ASSERT_TRUE(packages.ok()) << packages.error().message();
  std::set<std::string> got;
  for (const auto& p : *packages) {
    got.insert(p.name + " " + (p.epoch.empty() ? "(none)" : p.epoch) + " " + p.version + " " +
               p.release + " " + p.arch);
  }
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(problems.empty());

  // The package checks use it on an Amazon Linux root.
  dir.write("root/etc/os-release", "ID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\n");
  RuleSet set;
  ASSERT_TRUE(addRulePack(set,
                          "pack: p\nrules:\n- id: ssh\n  title: t\n  severity: low\n"
                          "  remediation: r\n  requires_package: openssh-server\n  checks:\n"
                          "  - package: {name: [telnet], state: absent}\n",
                          "p.yaml")
                  .ok());
  ScanContext context(HostRoot(dir / "root"), {});
  auto report = runScan(set, context);
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].outcome.status, demarc::v1::CHECK_STATUS_PASS)
      << report.results[0].outcome.observed;
}

TEST(RpmDatabase, DamagedHeadersAreErrorsNotCrashes) {
  EXPECT_FALSE(parseRpmHeader("").ok());
  EXPECT_FALSE(parseRpmHeader(std::string("\xff\xff\xff\xff\0\0\0\0", 8)).ok());
  // One entry whose string runs off the end of the data store.
  std::string blob("\0\0\0\1\0\0\0\3\0\0\x03\xe8\0\0\0\6\0\0\0\0\0\0\0\1abc", 27);
  auto r = parseRpmHeader(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("runs past"), std::string::npos);
  testing::TempDir dir;
  dir.write("var/lib/rpm/rpmdb.sqlite", "not sqlite at all");
  std::vector<std::string> problems;
  auto db = readRpmDatabase(HostRoot(dir.path()), &problems);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message().find("rpmdb.sqlite"), std::string::npos);
}

}  // namespace
}  // namespace demarc::posture
