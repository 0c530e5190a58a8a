#include "agent/posture/dnf.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

std::string update(const std::string& id, const std::string& type, const std::string& packages,
                   const std::string& extra = "") {
  return "  <update type=\"" + type + "\" status=\"final\">\n    <id>" + id +
         "</id>\n    <title>t</title>\n" + extra + "    <pkglist><collection short=\"c\">\n" +
         packages + "    </collection></pkglist>\n  </update>\n";
}

std::string pkg(const std::string& name, const std::string& epoch, const std::string& version,
                const std::string& release, const std::string& arch) {
  return "      <package name=\"" + name + "\" epoch=\"" + epoch + "\" version=\"" + version +
         "\" release=\"" + release + "\" arch=\"" + arch + "\"><filename>f.rpm</filename>" +
         "</package>\n";
}

std::string updates(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n" + body + "</updates>\n";
}

RpmPackage installed(const std::string& name, const std::string& epoch, const std::string& version,
                     const std::string& release, const std::string& arch) {
  return RpmPackage{name, epoch, version, release, arch};
}

std::string repomd(const std::string& href) {
  return "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n"
         "  <data type=\"primary\"><location href=\"repodata/p-primary.xml.gz\"/></data>\n"
         "  <data type=\"updateinfo\"><checksum type=\"sha256\">00</checksum>\n"
         "    <location href=\"" +
         href + "\"/></data>\n</repomd>\n";
}

TEST(UpdateInfo, ReadsAdvisories) {
  std::vector<std::string> problems;
  auto advisories = parseUpdateInfo(
      updates(update("ALAS-1", "security", pkg("openssl", "1", "3.0.8", "1.amzn2023", "x86_64"),
                     "    <severity> Important </severity>\n    <issued date=\"2024-01-02\"/>\n"
                     "    <references><reference type=\"cve\" id=\"CVE-2024-1\"/>"
                     "<reference type=\"bugzilla\" id=\"7\"/></references>\n") +
              update("ALAS-2", "bugfix", pkg("bash", "0", "5.2", "2", "x86_64"))),
      &problems);
  ASSERT_TRUE(advisories.ok()) << advisories.error().message();
  ASSERT_EQ(advisories->size(), 2u);
  const Advisory& a = (*advisories)[0];
  EXPECT_EQ(a.id, "ALAS-1");
  EXPECT_EQ(a.type, "security");
  EXPECT_EQ(a.severity, "Important");
  EXPECT_EQ(a.issued, "2024-01-02");
  EXPECT_EQ(a.cves, std::vector<std::string>{"CVE-2024-1"});
  ASSERT_EQ(a.packages.size(), 1u);
  EXPECT_EQ(a.packages[0].evr(), "1:3.0.8-1.amzn2023");
  EXPECT_EQ((*advisories)[1].packages[0].evr(), "5.2-2");
  EXPECT_TRUE(problems.empty());
}

TEST(UpdateInfo, DamagedInputIsNamed) {
  std::vector<std::string> problems;
  auto bad =
      parseUpdateInfo("<updates>\n<update type=\"security\">\n<id>x</id>\n</updates>", &problems);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("line 4"), std::string::npos) << bad.error().message();

  auto wrong = parseUpdateInfo("<repomd/>", &problems);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("<updates>"), std::string::npos);
  EXPECT_FALSE(parseUpdateInfo("", &problems).ok());
  EXPECT_FALSE(parseUpdateInfo(std::string("\0\xff\x01garbage", 10), &problems).ok());

  // A package without a version and an update without an id are skipped.
  auto partial =
      parseUpdateInfo(updates(update("A", "security",
                                     "      <package name=\"x\" release=\"1\" arch=\"noarch\"/>\n" +
                                         pkg("y", "0", "1", "1", "noarch")) +
                              update("", "security", pkg("z", "0", "1", "1", "noarch"))),
                      &problems);
  ASSERT_TRUE(partial.ok());
  ASSERT_EQ(partial->size(), 1u);
  EXPECT_EQ((*partial)[0].packages.size(), 1u);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("line 7"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("without an id"), std::string::npos) << problems[1];
}

TEST(UpdateInfo, EntityExpansionIsBounded) {
  // A billion-laughs document: expat refuses it instead of expanding it.
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE u [\n<!ENTITY a \"aaaaaaaaaa\">\n";
  std::string prev = "a";
  for (int i = 0; i < 9; ++i) {
    std::string name = "e" + std::to_string(i);
    doc += "<!ENTITY " + name + " \"";
    for (int j = 0; j < 10; ++j) doc += "&" + prev + ";";
    doc += "\">\n";
    prev = name;
  }
  doc += "]>\n<updates><update type=\"security\"><id>&" + prev + ";</id></update></updates>";
  std::vector<std::string> problems;
  auto r = parseUpdateInfo(doc, &problems);
  if (r.ok()) {
    ASSERT_EQ(r->size(), 1u);
    EXPECT_LE((*r)[0].id.size(), 4096u);  // kept fields are capped
  } else {
    EXPECT_NE(r.error().message().find("line"), std::string::npos);
  }
}

TEST(UpdateInfo, RepomdLocation) {
  EXPECT_EQ(*updateInfoLocation(repomd("repodata/abc-updateinfo.xml.zst")),
            "repodata/abc-updateinfo.xml.zst");
  EXPECT_EQ(*updateInfoLocation("<repomd><data type=\"primary\"><location href=\"p\"/></data>"
                                "</repomd>"),
            "");
  EXPECT_FALSE(updateInfoLocation("<repomd>").ok());
}

TEST(UpdateInfo, EnabledRepositories) {
  EXPECT_EQ(enabledRepoIds("[main]\ngpgcheck=1\n[amazonlinux]\nname=AL\nenabled=1\n"
                           "[kernel-livepatch]\nenabled = 0\n# [commented]\n[extras]\nbaseurl=x\n"
                           "[off]\nenabled=False\n"),
            (std::vector<std::string>{"amazonlinux", "extras"}));
}

class DnfRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("etc/yum.repos.d/amazonlinux.repo",
               "[amazonlinux]\nenabled=1\n[kernel-livepatch]\nenabled=0\n");
  }
  void cache(const std::string& folder, const std::string& body) {
    dir_.write("var/cache/dnf/" + folder + "/repodata/repomd.xml",
               repomd("repodata/h-updateinfo.xml"));
    dir_.write("var/cache/dnf/" + folder + "/repodata/h-updateinfo.xml", updates(body));
  }
  Result<DnfState> read(const std::vector<RpmPackage>& packages) {
    return readDnfState(HostRoot(dir_.path()), packages);
  }
  testing::TempDir dir_;
};

TEST_F(DnfRoot, AdvisoriesForNewerVersionsOfInstalledPackages) {
  cache("amazonlinux-0123456789abcdef",
        update("A-1", "security",
               pkg("openssl", "1", "3.0.8", "2", "x86_64") +     // newer: pending
                   pkg("openssl", "1", "3.0.8", "2", "i686") +   // other arch: not installed
                   pkg("curl", "0", "8.0", "1", "x86_64") +      // not installed
                   pkg("kernel", "0", "6.1.10", "1", "x86_64"),  // older than the newest
               "    <references><reference type=\"cve\" id=\"CVE-2024-7\"/></references>\n") +
            update("A-2", "bugfix", pkg("bash", "0", "5.2~rc1", "1", "x86_64")) +  // ~ is older
            update("A-3", "enhancement", pkg("bash", "0", "5.2^git1", "1", "x86_64")) +
            update("A-4", "security", pkg("zlib", "0", "9.9", "1", "x86_64")));  // epoch 1 wins
  std::vector<RpmPackage> have = {
      installed("openssl", "1", "3.0.8", "1", "x86_64"),
      installed("kernel", "", "6.1.9", "1", "x86_64"),
      installed("kernel", "", "6.1.11", "1", "x86_64"),
      installed("bash", "", "5.2", "1", "x86_64"),
      installed("zlib", "1", "1.2", "1", "x86_64"),
  };
  auto state = read(have);
  ASSERT_TRUE(state.ok()) << state.error().message();
  ASSERT_EQ(state->matches.size(), 2u);
  EXPECT_EQ(state->matches[0].advisory, "A-3");
  EXPECT_EQ(state->matches[0].package.evr(), "5.2^git1-1");
  EXPECT_EQ(state->matches[1].advisory, "A-1");
  EXPECT_EQ(state->matches[1].installed_version, "1:3.0.8-1");
  const auto& pending = state->updates.pending;
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].name, "bash");
  EXPECT_FALSE(pending[0].security);
  EXPECT_EQ(pending[1].name, "openssl");
  EXPECT_TRUE(pending[1].security);
  EXPECT_EQ(pending[1].candidate_version, "1:3.0.8-2");
  EXPECT_EQ(pending[1].advisories, std::vector<std::string>{"A-1"});
  EXPECT_EQ(pending[1].cves, std::vector<std::string>{"CVE-2024-7"});
  EXPECT_NE(state->updates.source.find("h-updateinfo.xml (fetched "), std::string::npos)
      << state->updates.source;
}

TEST_F(DnfRoot, OnlyEnabledRepositoriesAndTheNewestCacheOfEach) {
  cache("kernel-livepatch-0123456789abcdef",
        update("LP-1", "security", pkg("bash", "0", "9", "1", "x86_64")));
  cache("amazonlinux-1111111111111111",
        update("OLD-1", "security", pkg("bash", "0", "8", "1", "x86_64")));
  cache("amazonlinux-2222222222222222",
        update("NEW-1", "security", pkg("bash", "0", "7", "1", "x86_64")));
  // The older cache of the same repository: its repomd is older.
  struct timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(
      ::utimensat(AT_FDCWD,
                  (dir_ / "var/cache/dnf/amazonlinux-1111111111111111/repodata/repomd.xml").c_str(),
                  old_times, 0),
      0);
  auto state = read({installed("bash", "", "5", "1", "x86_64")});
  ASSERT_TRUE(state.ok()) << state.error().message();
  ASSERT_EQ(state->matches.size(), 1u);
  EXPECT_EQ(state->matches[0].advisory, "NEW-1");
  ASSERT_EQ(state->repos.size(), 1u);
  EXPECT_EQ(state->repos[0].dir, "/var/cache/dnf/amazonlinux-2222222222222222");
}

TEST_F(DnfRoot, MissingOrDamagedMetadataSaysWhy) {
  auto none = read({});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("dnf makecache"), std::string::npos);

  dir_.write("var/cache/dnf/amazonlinux-0123456789abcdef/repodata/repomd.xml",
             repomd("repodata/h-updateinfo.xml.gz"));
  dir_.write("var/cache/dnf/amazonlinux-0123456789abcdef/repodata/h-updateinfo.xml.gz", "not gzip");
  auto damaged = read({});
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().message().find("h-updateinfo.xml.gz"), std::string::npos)
      << damaged.error().message();

  // A repository without updateinfo is fine: nothing pending from it.
  dir_.write("var/cache/dnf/amazonlinux-0123456789abcdef/repodata/repomd.xml",
             "<repomd><data type=\"primary\"><location href=\"repodata/p.xml\"/></data></repomd>");
  auto plain = read({installed("bash", "", "5", "1", "x86_64")});
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  EXPECT_TRUE(plain->updates.pending.empty());
}

}  // namespace
}  // namespace demarc::posture
