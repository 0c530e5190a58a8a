#include "agent/posture/sshd.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

TEST(Sshd, FirstValueWinsAcrossIncludesInOrder) {
  testing::TempDir root;
  root.write("etc/ssh/sshd_config",
             "# Debian's layout\n"
             "Include /etc/ssh/sshd_config.d/*.conf\n"
             "PermitRootLogin yes\n"
             "passwordauthentication=no\n"
             "X11Forwarding yes\n"
             "Match User backup\n"
             "  PermitRootLogin forced-commands-only\n"
             "Match all\n"
             "MaxAuthTries 3\n");
  root.write("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
  root.write("etc/ssh/sshd_config.d/10-hardening.conf",
             "PermitRootLogin no\nMatch Address 10.0.0.0/8\n  X11Forwarding no\n");
  auto config = readSshdConfig(HostRoot(root.path()));
  EXPECT_TRUE(config.problems.empty()) << config.problems[0];

  auto root_login = config.effective("PermitRootLogin");
  ASSERT_TRUE(root_login);
  EXPECT_EQ(root_login->value, "no");  // 10-hardening.conf is read first
  EXPECT_EQ(root_login->source, "/etc/ssh/sshd_config.d/10-hardening.conf:1");

  // 50-cloud-init.conf comes before the main file's own line.
  EXPECT_EQ(config.effective("PasswordAuthentication")->value, "yes");
  EXPECT_EQ(config.effective("PasswordAuthentication")->source,
            "/etc/ssh/sshd_config.d/50-cloud-init.conf:1");

  // The Match in the included file ended with that file.
  EXPECT_EQ(config.effective("X11Forwarding")->value, "yes");
  ASSERT_EQ(config.conditional("X11Forwarding").size(), 1u);
  EXPECT_EQ(config.conditional("X11Forwarding")[0].match, "Address 10.0.0.0/8");

  ASSERT_EQ(config.conditional("permitrootlogin").size(), 1u);
  EXPECT_EQ(config.conditional("permitrootlogin")[0].value, "forced-commands-only");
  EXPECT_EQ(config.effective("MaxAuthTries")->value, "3");  // after "Match all"
}

TEST(Sshd, DefaultsWhenUnset) {
  testing::TempDir root;
  root.write("etc/ssh/sshd_config", "Port 22\n");
  auto config = readSshdConfig(HostRoot(root.path()));
  auto v = config.effective("permitrootlogin");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, "prohibit-password");
  EXPECT_EQ(v->source, "sshd default");
  EXPECT_FALSE(config.effective("NoSuchKeyword"));
}

TEST(Sshd, RelativeIncludeQuotesAndProblems) {
  testing::TempDir root;
  root.write("etc/ssh/sshd_config",
             "Include extra.conf missing.conf\nBanner \"/etc/issue net\"\nLonelyKeyword\n");
  root.write("etc/ssh/extra.conf", "LogLevel VERBOSE\n");
  auto config = readSshdConfig(HostRoot(root.path()));
  EXPECT_EQ(config.effective("loglevel")->value, "VERBOSE");
  EXPECT_EQ(config.effective("banner")->value, "/etc/issue net");
  ASSERT_EQ(config.problems.size(), 1u);  // missing.conf matches nothing: not an error to sshd
  EXPECT_NE(config.problems[0].find("sshd_config:3"), std::string::npos) << config.problems[0];
}

TEST(Sshd, IncludeLoopStopsAtDepthLimit) {
  testing::TempDir root;
  root.write("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\nPort 22\n");
  auto config = readSshdConfig(HostRoot(root.path()));
  ASSERT_FALSE(config.problems.empty());
  EXPECT_NE(config.problems[0].find("nested deeper than 16"), std::string::npos);
}

TEST(Sshd, SelfIncludingTwiceIsBounded) {
  testing::TempDir root;
  root.write("etc/ssh/sshd_config",
             "Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\nPort 22\n");
  auto config = readSshdConfig(HostRoot(root.path()));
  bool capped = false;
  for (const auto& p : config.problems) capped = capped || p.find("included files") != p.npos;
  EXPECT_TRUE(capped);
  EXPECT_LE(config.lines.size(), 300u);
}

TEST(Sshd, MissingConfigIsAProblem) {
  testing::TempDir root;
  auto config = readSshdConfig(HostRoot(root.path()));
  ASSERT_EQ(config.problems.size(), 1u);
  EXPECT_NE(config.problems[0].find("openssh-server"), std::string::npos);
}

}  // namespace
}  // namespace demarc::posture
