// Oracles for rpm systems: packages built with rpmbuild and recorded with
// rpm into a SQLite database under a fake root must read back exactly as
// `rpm -qa` lists them; advisories from repositories made with createrepo_c
// and modifyrepo_c must match what `dnf updateinfo list` prints for that root.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "agent/posture/dnf.h"

#include "agent/posture/rpmdb.h"
#include "agent/posture/rule_pack.h"
#include "agent/posture/scanner.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

// Builds an empty package; returns the path of the .rpm.
std::filesystem::path buildPackage(const testing::TempDir& dir, const std::string& name,
                                   const std::string& epoch, const std::string& version,
                                   const std::string& release, const std::string& arch = "noarch") {
  std::string spec = "Name: " + name + "\nVersion: " + version + "\nRelease: " + release + "\n" +
                     (epoch.empty() ? "" : "Epoch: " + epoch + "\n") +
                     "Summary: fixture\nLicense: MIT\nBuildArch: " + arch +
                     "\n%description\nfixture\n%files\n";
  std::string file = name + "-" + version + "-" + release + "." + arch;
  auto path = dir.write(file + ".spec", spec);
  auto r = testing::runCommand(
      {"/usr/bin/rpmbuild", "--define", "_topdir " + (dir / "top").string(), "-bb", path.string()},
      dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir / "top/RPMS" / arch / (file + ".rpm");
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> rpmArgs(const testing::TempDir& dir) {
  return {"/usr/bin/rpm", "--root",   (dir / "root").string(), "--dbpath",
          "/var/lib/rpm", "--define", "_db_backend sqlite"};
}

// Records the packages in a fresh rpm database under dir/root (no files, no
// scripts), as Amazon Linux keeps it: SQLite in /var/lib/rpm.
void recordPackages(const testing::TempDir& dir, const std::vector<std::filesystem::path>& rpms) {
  auto init = rpmArgs(dir);
  init.push_back("--initdb");
  ASSERT_EQ(testing::runCommand(init, dir.path()).exit_code, 0);
  auto install = rpmArgs(dir);
  for (const char* a : {"-i", "--justdb", "--nodeps", "--noscripts", "--replacefiles"}) {
    install.push_back(a);
  }
  for (const auto& p : rpms) install.push_back(p.string());
  auto installed = testing::runCommand(install, dir.path());
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
}

// The outcomes of a rule pack scanned on dir/root as an Amazon Linux 2023 host.
std::vector<CheckOutcome> scanAsAmazonLinux(const testing::TempDir& dir, const std::string& pack) {
  dir.write("root/etc/os-release", "ID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\n");
  RuleSet set;
  auto added = addRulePack(set, pack, "p.yaml");
  EXPECT_TRUE(added.ok()) << added.error().message();
  ScanContext context(HostRoot(dir / "root"), {});
  std::vector<CheckOutcome> out;
  for (auto& r : runScan(set, context).results) out.push_back(std::move(r.outcome));
  return out;
}

TEST(RpmDatabase, ReadsWhatRpmRecorded) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(
      recordPackages(dir, {buildPackage(dir, "demo-tool", "2", "1.2.3", "4.amzn2023"),
                           buildPackage(dir, "openssh-server", "", "8.7p1", "8.amzn2023.0.4")}));

  auto query = rpmArgs(dir);
  for (const char* a : {"-qa", "--qf", "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n"}) {
    query.push_back(a);
  }
  auto oracle = testing::runCommand(query, dir.path());
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  std::set<std::string> expected;
  for (auto& line : splitLines(oracle.out)) expected.insert(line);
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
  auto outcomes = scanAsAmazonLinux(dir,
                                    "pack: p\nrules:\n- id: ssh\n  title: t\n  severity: low\n"
                                    "  remediation: r\n  requires_package: openssh-server\n"
                                    "  checks:\n  - package: {name: [telnet], state: absent}\n");
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].status, demarc::v1::CHECK_STATUS_PASS) << outcomes[0].observed;
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

std::string advisory(const std::string& id, const std::string& type, const std::string& severity,
                     const std::vector<std::string>& nevras) {
  std::string out = "<update type=\"" + type + "\" status=\"final\"><id>" + id +
                    "</id><title>t</title>" +
                    (severity.empty() ? "" : "<severity>" + severity + "</severity>") +
                    "<pkglist><collection short=\"c\"><name>c</name>";
  for (const auto& n : nevras) out += n;
  return out + "</collection></pkglist></update>\n";
}

std::string package(const std::string& name, const std::string& epoch, const std::string& version,
                    const std::string& release, const std::string& arch) {
  return "<package name=\"" + name + "\" epoch=\"" + epoch + "\" version=\"" + version +
         "\" release=\"" + release + "\" arch=\"" + arch + "\"><filename>" + name +
         ".rpm</filename></package>";
}

// A repository with the given packages and updateinfo, as createrepo_c and
// modifyrepo_c make it.
void makeRepo(const testing::TempDir& dir, const std::string& name,
              const std::vector<std::filesystem::path>& rpms, const std::string& updateinfo,
              const std::string& compression) {
  auto repo = dir / name;
  std::filesystem::create_directories(repo);
  for (const auto& rpm : rpms) std::filesystem::copy_file(rpm, repo / rpm.filename());
  auto made = testing::runCommand({"/usr/bin/createrepo_c", "-q", repo.string()}, dir.path());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto info = dir.write(
      name + "-updateinfo.xml",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n" + updateinfo + "</updates>\n");
  auto added = testing::runCommand(
      {"/usr/bin/modifyrepo_c", "--mdtype=updateinfo", "--compress-type=" + compression,
       info.string(), (repo / "repodata").string()},
      dir.path());
  ASSERT_EQ(added.exit_code, 0) << added.err;
}

TEST(DnfUpdateInfo, SameAdvisoriesAsDnf) {
  testing::TempDir dir;
  // Installed: older versions, two versions of one package, tilde and caret.
  std::vector<std::filesystem::path> have = {
      buildPackage(dir, "demo-tool", "", "1.0", "1"),
      buildPackage(dir, "libfoo", "1", "2.0", "3", "x86_64"),
      buildPackage(dir, "bar", "", "5.0", "1"),
      buildPackage(dir, "multi", "", "1.0", "1"),
      buildPackage(dir, "multi", "", "2.0", "1"),
      buildPackage(dir, "tool2", "", "0.9", "1"),
      buildPackage(dir, "tool3", "", "2.0", "1"),
  };
  ASSERT_NO_FATAL_FAILURE(recordPackages(dir, have));
  // Debian's rpm keeps its database in ~/.rpmdb; dnf looks there inside the root.
  std::filesystem::create_directories(dir / "root/root");
  std::filesystem::create_symlink("../var/lib/rpm", dir / "root/root/.rpmdb");

  // Repository "base" (gzip): some packages are only in the updateinfo.
  ASSERT_NO_FATAL_FAILURE(makeRepo(
      dir, "base",
      {buildPackage(dir, "demo-tool", "", "1.1", "1"),
       buildPackage(dir, "libfoo", "1", "2.0", "4", "x86_64"),
       buildPackage(dir, "bar", "", "5.0", "2")},
      advisory("AL-001", "security", "Important",
               {package("demo-tool", "0", "1.1", "1", "noarch"),
                package("libfoo", "1", "2.0", "4", "x86_64"),
                package("libfoo", "1", "2.0", "9", "i686")}) +
          advisory("AL-002", "bugfix", "", {package("bar", "0", "5.0", "2", "noarch")}) +
          advisory("AL-003", "security", "Low",
                   {package("libfoo", "1", "2.0", "2", "x86_64"),
                    package("absent", "0", "1", "1", "noarch")}) +
          advisory("AL-004", "security", "Critical", {package("multi", "0", "1.5", "1", "noarch")}),
      "gz"));
  // Repository "extra" (xz; Debian's modifyrepo_c has no zstd): versions with ~ and ^, an advisory
  // repeated.
  ASSERT_NO_FATAL_FAILURE(
      makeRepo(dir, "extra", {},
               advisory("EX-001", "security", "",
                        {package("tool2", "0", "1.0~rc1", "1", "noarch"),
                         package("tool3", "0", "2.0^git1", "1", "noarch")}) +
                   advisory("EX-002", "enhancement", "",
                            {package("tool2", "0", "0.9~beta", "1", "noarch")}) +
                   advisory("AL-001", "security", "Important",
                            {package("demo-tool", "0", "1.1", "1", "noarch")}),
               "xz"));
  // Repository "off" (disabled): dnf ignores it, and so must demarc even
  // when metadata for it lies in the cache.
  ASSERT_NO_FATAL_FAILURE(makeRepo(
      dir, "off", {},
      advisory("OFF-001", "security", "Critical", {package("bar", "0", "9.0", "1", "noarch")}),
      "bz2"));
  std::string repos;
  for (const char* name : {"base", "extra", "off"}) {
    repos += std::string("[") + name + "]\nname=" + name + "\nbaseurl=file://" +
             (dir / name).string() +
             "\ngpgcheck=0\nenabled=" + (std::string(name) == "off" ? "0" : "1") + "\n";
  }
  dir.write("root/etc/yum.repos.d/fixture.repo", repos);
  std::filesystem::create_directories(dir / "root/var/cache/dnf/off-0123456789abcdef");
  std::filesystem::copy(dir / "off/repodata",
                        dir / "root/var/cache/dnf/off-0123456789abcdef/repodata");

  auto listed = testing::runCommand({"/usr/bin/dnf", "--installroot=" + (dir / "root").string(),
                                     "--releasever=2023", "-q", "updateinfo", "list"},
                                    dir.path());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  // "AL-001 Important/Sec. libfoo-1:2.0-4.x86_64", "AL-002 bugfix bar-5.0-2.noarch"
  std::set<std::string> expected;
  for (const auto& line : splitLines(listed.out)) {
    std::istringstream in(line);
    std::string id, type, nevra;
    in >> id >> type >> nevra;
    bool security = type.ends_with("/Sec.") || type == "security";
    expected.insert(id + " " + nevra + (security ? " security" : ""));
  }
  ASSERT_GE(expected.size(), 5u) << listed.out;

  std::vector<std::string> problems;
  auto rpms = readRpmDatabase(HostRoot(dir / "root"), &problems);
  ASSERT_TRUE(rpms.ok()) << rpms.error().message();
  auto state = readDnfState(HostRoot(dir / "root"), *rpms);
  ASSERT_TRUE(state.ok()) << state.error().message();
  std::set<std::string> got;
  for (const auto& m : state->matches) {
    got.insert(m.advisory + " " + m.package.name + "-" + m.package.evr() + "." + m.package.arch +
               (m.type == "security" ? " security" : ""));
  }
  EXPECT_EQ(got, expected) << "dnf printed:\n" << listed.out;
  EXPECT_EQ(state->repos.size(), 2u);

  // The patch rule on this root: security updates pending, and the last
  // package change is the install time rpm recorded (just now).
  auto outcomes =
      scanAsAmazonLinux(dir,
                        "pack: p\nrules:\n- id: sec\n  title: t\n  severity: high\n"
                        "  remediation: r\n  checks:\n  - patches: {max_security_updates: 0}\n"
                        "- id: age\n  title: t\n  severity: low\n  remediation: r\n"
                        "  checks:\n  - patches: {max_days_since_update: 1}\n");
  ASSERT_EQ(outcomes.size(), 2u);
  const auto& sec = outcomes[0];
  EXPECT_EQ(sec.status, demarc::v1::CHECK_STATUS_FAIL) << sec.observed;
  EXPECT_NE(sec.observed.find("libfoo 1:2.0-4 (AL-001)"), std::string::npos) << sec.observed;
  EXPECT_NE(sec.source.find("updateinfo.xml.xz"), std::string::npos) << sec.source;
  const auto& age = outcomes[1];
  EXPECT_EQ(age.status, demarc::v1::CHECK_STATUS_PASS) << age.observed;
  EXPECT_NE(age.source.find("rpmdb.sqlite (install time of "), std::string::npos) << age.source;
}

}  // namespace
}  // namespace demarc::posture
