// Every check kind, end to end from rule-pack YAML to verdict, on fake roots.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "agent/posture/rule_pack.h"
#include "agent/posture/scanner.h"
#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

namespace fs = std::filesystem;
using demarc::v1::CheckStatus;
constexpr CheckStatus kPass = demarc::v1::CHECK_STATUS_PASS;
constexpr CheckStatus kFail = demarc::v1::CHECK_STATUS_FAIL;
constexpr CheckStatus kNa = demarc::v1::CHECK_STATUS_NOT_APPLICABLE;
constexpr CheckStatus kError = demarc::v1::CHECK_STATUS_ERROR;

// A Debian-like image with root, a user and a system account.
class FakeImage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n");
    dir_.write("etc/passwd",
               "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
               "alice:x:1000:1000::/home/alice:/bin/bash\n");
    dir_.write("etc/group", "root:x:0:\nshadow:x:42:\nalice:x:1000:\n");
    dir_.write("etc/shadow",
               "root:$y$j9T$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
               "alice:!:19000:0:99999:7:::\n");
    dir_.write("var/lib/dpkg/status",
               "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\n"
               "Version: 1:9.2p1-2\n\nPackage: telnet\nStatus: install ok installed\n"
               "Architecture: amd64\nVersion: 0.17\n");
  }

  // Rules given as YAML list items under "rules:".
  std::map<std::string, CheckOutcome> scan(const std::string& rules_yaml) {
    RuleSet set;
    Status added = addRulePack(set, "pack: test\nrules:\n" + rules_yaml, "test.yaml");
    EXPECT_TRUE(added.ok()) << added.error().message();
    ScanContext context(HostRoot(dir_.path()), {});
    ScanReport report = runScan(set, context);
    std::map<std::string, CheckOutcome> out;
    for (const auto& r : report.results) out[r.rule->rule.id()] = r.outcome;
    rules_ = std::move(set);
    return out;
  }

  static std::string rule(const std::string& id, const std::string& check) {
    return "- id: " + id + "\n  title: t\n  severity: low\n  remediation: r\n  checks:\n  - " +
           check + "\n";
  }

  testing::TempDir dir_;
  RuleSet rules_;
};

TEST_F(FakeImage, FileModeOwnerAndGroup) {
  auto shadow = dir_.write("etc/shadow-", "x");
  fs::permissions(shadow, fs::perms(0644));
  auto conf = dir_.write("etc/ssh/sshd_config", "x");
  fs::permissions(conf, fs::perms(0600));
  auto r =
      scan(rule("loose", "file: {path: /etc/shadow-, max_mode: '0640', owner: [root]}") +
           rule("tight", "file: {path: /etc/ssh/sshd_config, max_mode: '0600', group: [root]}") +
           rule("owner", "file: {path: /etc/ssh/sshd_config, owner: [alice]}") +
           rule("absent-pass", "file: {path: /etc/nope, max_mode: '0600'}") +
           rule("absent-fail", "file: {path: /etc/nope, max_mode: '0600', missing: fail}"));
  EXPECT_EQ(r["loose"].status, kFail);
  EXPECT_EQ(r["loose"].observed, "0644 root:root (mode beyond 0640)");
  EXPECT_EQ(r["loose"].source, "/etc/shadow-");
  EXPECT_EQ(r["tight"].status, kPass) << r["tight"].observed;
  EXPECT_EQ(r["owner"].status, kFail);
  EXPECT_EQ(r["absent-pass"].status, kPass);
  EXPECT_EQ(r["absent-fail"].status, kFail);
}

TEST_F(FakeImage, FileGlobReportsOnlyFailingFilesAndSkipsDanglingLinks) {
  fs::permissions(dir_.write("home/alice/.ssh/authorized_keys", "k"), fs::perms(0666));
  fs::permissions(dir_.write("home/bob/.ssh/authorized_keys", "k"), fs::perms(0600));
  fs::create_symlink("/etc/missing", dir_ / "home/carol");
  auto r = scan(rule("keys", "file: {path: '/home/*/.ssh/authorized_keys', max_mode: '0644'}") +
                rule("homes", "file: {path: '/home/*', max_mode: '0777'}"));
  EXPECT_EQ(r["keys"].status, kFail);
  EXPECT_NE(r["keys"].observed.find("/home/alice/.ssh/authorized_keys 0666"), std::string::npos)
      << r["keys"].observed;
  EXPECT_EQ(r["keys"].observed.find("bob"), std::string::npos);
  EXPECT_EQ(r["homes"].status, kPass) << r["homes"].observed;
}

TEST_F(FakeImage, ContentMatchAndNoMatch) {
  dir_.write("etc/security/limits.conf", "# * hard core 0\n*  hard  core  0\n");
  dir_.write("etc/issue", "Debian GNU/Linux \\n \\l\n");
  auto r = scan(
      rule("core",
           "content: {path: /etc/security/limits.conf, must_match: "
           "'^[[:space:]]*\\*[[:space:]]+hard[[:space:]]+core[[:space:]]+0'}") +
      rule("banner", "content: {path: /etc/issue, must_not_match: 'Debian', ignore_case: true}") +
      rule("missing", "content: {path: /etc/none, must_match: x}"));
  EXPECT_EQ(r["core"].status, kPass);
  EXPECT_EQ(r["core"].source, "/etc/security/limits.conf:2");
  EXPECT_EQ(r["banner"].status, kFail);
  EXPECT_EQ(r["banner"].source, "/etc/issue:1");
  EXPECT_EQ(r["missing"].status, kFail);
}

TEST_F(FakeImage, SshdEffectiveValueWithIncludeAndMatch) {
  dir_.write("etc/ssh/sshd_config",
             "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMaxAuthTries 6\n"
             "Match User backup\n  PermitRootLogin yes\n");
  dir_.write("etc/ssh/sshd_config.d/10-cloud.conf", "PermitRootLogin prohibit-password\n");
  auto r = scan(rule("root", "sshd: {keyword: PermitRootLogin, expect: {any_of: ['no']}}") +
                rule("tries", "sshd: {keyword: MaxAuthTries, expect: {max: 4}}") +
                rule("x11", "sshd: {keyword: X11Forwarding, expect: {any_of: ['no']}}") +
                rule("ciphers", "sshd: {keyword: Ciphers, expect: {none_of: [aes128-cbc]}}"));
  EXPECT_EQ(r["root"].status, kFail);
  EXPECT_EQ(r["root"].source, "/etc/ssh/sshd_config.d/10-cloud.conf:1");
  EXPECT_NE(r["root"].observed.find("Match User backup sets yes"), std::string::npos)
      << r["root"].observed;
  EXPECT_EQ(r["tries"].status, kFail);
  EXPECT_EQ(r["tries"].observed, "MaxAuthTries 6");
  EXPECT_EQ(r["x11"].status, kPass) << r["x11"].observed;  // compiled-in default: no
  // Unset: sshd's built-in list, which still offers chacha20-poly1305; CIS
  // asks for an explicit list.
  EXPECT_EQ(r["ciphers"].status, kFail);
  EXPECT_EQ(r["ciphers"].observed, "Ciphers not set (sshd's built-in list applies)");
}

TEST_F(FakeImage, SysctlPersistedValueInAnImage) {
  dir_.write("etc/sysctl.d/60-net.conf", "net.ipv4.ip_forward = 1\nkernel.randomize_va_space=2\n");
  auto r = scan(rule("fwd", "sysctl: {key: net.ipv4.ip_forward, expect: {any_of: ['0']}}") +
                rule("aslr", "sysctl: {key: kernel.randomize_va_space, expect: {any_of: ['2']}}") +
                rule("unset", "sysctl: {key: net.ipv4.tcp_syncookies, expect: {any_of: ['1']}}"));
  EXPECT_EQ(r["fwd"].status, kFail);
  EXPECT_EQ(r["fwd"].source, "/etc/sysctl.d/60-net.conf:1");
  EXPECT_EQ(r["aslr"].status, kPass);
  EXPECT_EQ(r["unset"].status, kFail);
  EXPECT_NE(r["unset"].observed.find("not persisted"), std::string::npos);
}

TEST_F(FakeImage, KernelModuleDisabledBlacklistedOrNotShipped) {
  dir_.write("lib/modules/6.1.0-1-amd64/modules.dep",
             "kernel/fs/cramfs/cramfs.ko.xz:\nkernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\n"
             "kernel/net/sctp/sctp.ko.xz:\n");
  dir_.write("etc/modprobe.d/cramfs.conf", "install cramfs /bin/false\nblacklist cramfs\n");
  dir_.write("etc/modprobe.d/udf.conf", "blacklist udf\n");
  auto r = scan(rule("cramfs", "module: {name: cramfs}") + rule("udf", "module: {name: udf}") +
                rule("sctp", "module: {name: sctp}") + rule("hfs", "module: {name: hfs}"));
  EXPECT_EQ(r["cramfs"].status, kPass);
  EXPECT_EQ(r["cramfs"].source, "/etc/modprobe.d/cramfs.conf:1");
  EXPECT_EQ(r["udf"].status, kFail);  // blacklist alone does not stop "modprobe udf"
  EXPECT_NE(r["udf"].observed.find("blacklist stops automatic loading only"), std::string::npos);
  EXPECT_EQ(r["sctp"].status, kFail);
  EXPECT_EQ(r["hfs"].status, kPass);  // not shipped
}

TEST_F(FakeImage, SystemdUnitStates) {
  dir_.write("lib/systemd/system/ssh.service",
             "[Service]\n[Install]\nWantedBy=multi-user.target\n");
  dir_.write("lib/systemd/system/cups.service",
             "[Service]\n[Install]\nWantedBy=multi-user.target\n");
  dir_.write("lib/systemd/system/rpcbind.service",
             "[Service]\n[Install]\nWantedBy=multi-user.target\n");
  dir_.write("lib/systemd/system/systemd-journald.service", "[Service]\n");
  fs::create_directories(dir_ / "etc/systemd/system/multi-user.target.wants");
  fs::create_symlink("/lib/systemd/system/ssh.service",
                     dir_ / "etc/systemd/system/multi-user.target.wants/ssh.service");
  fs::create_symlink("/lib/systemd/system/ssh.service", dir_ / "etc/systemd/system/sshd.service");
  fs::create_symlink("/dev/null", dir_ / "etc/systemd/system/rpcbind.service");
  auto r = scan(rule("ssh", "unit: {name: [ssh.service], state: enabled}") +
                rule("alias", "unit: {name: [sshd.service], state: enabled}") +
                rule("cups", "unit: {name: [cups.service], state: not_enabled}") +
                rule("rpcbind", "unit: {name: [rpcbind.service], state: masked}") +
                rule("journald", "unit: {name: [systemd-journald.service], state: enabled}") +
                rule("absent", "unit: {name: [nginx.service], state: absent}") +
                rule("cups-on", "unit: {name: [cups.service], state: enabled}"));
  EXPECT_EQ(r["ssh"].status, kPass) << r["ssh"].observed;
  EXPECT_EQ(r["alias"].status, kPass) << r["alias"].observed;
  EXPECT_EQ(r["cups"].status, kPass);
  EXPECT_EQ(r["cups"].observed, "cups.service disabled");
  EXPECT_EQ(r["rpcbind"].status, kPass);
  EXPECT_EQ(r["journald"].status, kPass);
  EXPECT_EQ(r["journald"].observed, "systemd-journald.service static");
  EXPECT_EQ(r["absent"].status, kPass);
  EXPECT_EQ(r["cups-on"].status, kFail);
}

TEST_F(FakeImage, PackagesAndRequiredPackage) {
  std::string sshd_rule =
      "- id: needs-sshd\n  title: t\n  severity: low\n  remediation: r\n"
      "  requires_package: openssh-server\n  checks:\n"
      "  - package: {name: [openssh-server], state: installed}\n";
  std::string nginx_rule =
      "- id: needs-nginx\n  title: t\n  severity: low\n  remediation: r\n"
      "  requires_package: nginx\n  checks:\n"
      "  - package: {name: [nginx], state: installed}\n";
  auto r = scan(rule("telnet", "package: {name: [telnet, inetutils-telnet], state: absent}") +
                rule("sudo", "package: {name: [sudo], state: installed}") + sshd_rule + nginx_rule);
  EXPECT_EQ(r["telnet"].status, kFail);
  EXPECT_EQ(r["telnet"].observed, "telnet installed");
  EXPECT_EQ(r["sudo"].status, kFail);
  EXPECT_EQ(r["needs-sshd"].status, kPass);
  EXPECT_EQ(r["needs-nginx"].status, kNa);
  EXPECT_EQ(r["needs-nginx"].observed, "nginx is not installed");
}

TEST_F(FakeImage, MountOptionsFromFstab) {
  dir_.write("etc/fstab",
             "# <fs> <mount> <type> <options>\nUUID=1 / ext4 defaults 0 1\n"
             "tmpfs /tmp tmpfs defaults,nodev,nosuid 0 0\n");
  auto r = scan(rule("tmp-nodev", "mount: {path: /tmp, options: [nodev]}") +
                rule("tmp-noexec", "mount: {path: /tmp, options: [noexec]}") +
                rule("var-nodev", "mount: {path: /var, options: [nodev]}") +
                rule("var-separate", "mount: {path: /var, separate: true}"));
  EXPECT_EQ(r["tmp-nodev"].status, kPass);
  EXPECT_EQ(r["tmp-nodev"].source, "/etc/fstab:3");
  EXPECT_EQ(r["tmp-noexec"].status, kFail);
  EXPECT_EQ(r["var-nodev"].status, kNa);
  EXPECT_EQ(r["var-separate"].status, kFail);
}

TEST_F(FakeImage, Accounts) {
  dir_.write("etc/passwd",
             "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n"
             "daemon:x:1:1::/usr/sbin:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
             "bob:hash:1000:2000::/home/bob:/bin/bash\n");
  dir_.write("etc/shadow", "root::19000::::::\nalice:!:19000::::::\n");
  dir_.write("etc/group", "root:x:0:\nshadow:x:42:alice\nalice:x:1000:\n");
  auto r = scan(rule("uid0", "accounts: {rule: only_root_uid_zero}") +
                rule("empty", "accounts: {rule: no_empty_passwords}") +
                rule("shadowed", "accounts: {rule: all_shadowed}") +
                rule("uids", "accounts: {rule: unique_uids}") +
                rule("groups", "accounts: {rule: groups_exist}") +
                rule("shadow-group", "accounts: {rule: shadow_group_empty}") +
                rule("system", "accounts: {rule: system_accounts_no_shell}") +
                rule("rootpw", "accounts: {rule: root_access_controlled}"));
  EXPECT_EQ(r["uid0"].status, kFail);
  EXPECT_EQ(r["uid0"].observed, "uid 0: toor");
  EXPECT_EQ(r["uid0"].source, "/etc/passwd:2");
  EXPECT_EQ(r["empty"].status, kFail);
  EXPECT_EQ(r["empty"].source, "/etc/shadow:1");
  EXPECT_EQ(r["shadowed"].status, kFail);
  EXPECT_EQ(r["uids"].status, kFail);
  EXPECT_EQ(r["groups"].status, kFail);
  EXPECT_EQ(r["shadow-group"].status, kFail);
  EXPECT_EQ(r["system"].status, kFail);
  EXPECT_EQ(r["system"].observed, "login shells: toor (/bin/sh), daemon (/bin/bash)");
  EXPECT_EQ(r["rootpw"].status, kFail);
}

TEST_F(FakeImage, AccountsErrorWhenTheDatabaseIsUnreadable) {
  fs::remove(dir_ / "etc/shadow");
  auto r = scan(rule("empty", "accounts: {rule: no_empty_passwords}"));
  EXPECT_EQ(r["empty"].status, kError);
  EXPECT_NE(r["empty"].observed.find("etc/shadow"), std::string::npos) << r["empty"].observed;
}

TEST_F(FakeImage, SettingsLaterFileWinsAndDefaults) {
  dir_.write("etc/login.defs", "PASS_MAX_DAYS\t99999\nENCRYPT_METHOD SHA512\n");
  dir_.write("etc/security/pwquality.conf", "# minlen = 20\nminlen = 8\n");
  dir_.write("etc/security/pwquality.conf.d/50-site.conf", "minlen=14\n");
  dir_.write("etc/systemd/journald.conf", "[Journal]\n#Storage=auto\nStorage=volatile\n");
  auto r = scan(rule("maxdays",
                     "setting: {path: [/etc/login.defs], key: PASS_MAX_DAYS, expect: {max: 365}}") +
                rule("hash",
                     "setting: {path: [/etc/login.defs], key: ENCRYPT_METHOD, "
                     "expect: {any_of: [SHA512, YESCRYPT]}}") +
                rule("minlen",
                     "setting: {path: [/etc/security/pwquality.conf, "
                     "'/etc/security/pwquality.conf.d/*.conf'], key: minlen, expect: {min: 14}}") +
                rule("storage",
                     "setting: {path: [/etc/systemd/journald.conf], key: Storage, "
                     "expect: {any_of: [persistent]}}") +
                rule("dflt",
                     "setting: {path: [/etc/security/faillock.conf], key: deny, "
                     "expect: {max: 5}, default_value: '3'}"));
  EXPECT_EQ(r["maxdays"].status, kFail);
  EXPECT_EQ(r["maxdays"].source, "/etc/login.defs:1");
  EXPECT_EQ(r["hash"].status, kPass);
  EXPECT_EQ(r["minlen"].status, kPass);
  EXPECT_EQ(r["minlen"].source, "/etc/security/pwquality.conf.d/50-site.conf:1");
  EXPECT_EQ(r["storage"].status, kFail);
  EXPECT_EQ(r["dflt"].status, kPass);
  EXPECT_NE(r["dflt"].source.find("default"), std::string::npos);
}

TEST_F(FakeImage, PamModulesArgumentsAndIncludes) {
  dir_.write("etc/pam.d/common-password",
             "password requisite pam_pwquality.so retry=3\n"
             "password [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt\n"
             "password requisite pam_pwhistory.so remember=5\n");
  dir_.write("etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\n");
  dir_.write("etc/pam.d/su", "@include common-auth\nauth required pam_wheel.so use_uid\n");
  const std::string pw = "path: [/etc/pam.d/common-password, /etc/pam.d/system-auth]";
  auto r = scan(
      rule("pwq", "pam: {" + pw + ", module: pam_pwquality.so, type: password}") +
      rule("authtok", "pam: {" + pw + ", module: pam_unix.so, with_args: [use_authtok]}") +
      rule("history", "pam: {" + pw + ", module: pam_pwhistory.so, with_args: ['remember>=24']}") +
      rule("nullok",
           "pam: {path: [/etc/pam.d/common-auth], module: pam_unix.so, without_args: [nullok]}") +
      rule("wheel", "pam: {path: [/etc/pam.d/su], module: pam_wheel.so, with_args: [use_uid]}") +
      rule("su-unix", "pam: {path: [/etc/pam.d/su], module: pam_unix.so}") +
      rule("faillock", "pam: {path: [/etc/pam.d/common-auth], module: pam_faillock.so}"));
  EXPECT_EQ(r["pwq"].status, kPass);
  EXPECT_EQ(r["authtok"].status, kPass);
  EXPECT_EQ(r["history"].status, kFail);
  EXPECT_EQ(r["nullok"].status, kFail);
  EXPECT_EQ(r["nullok"].source, "/etc/pam.d/common-auth:1");
  EXPECT_EQ(r["wheel"].status, kPass);
  EXPECT_EQ(r["su-unix"].status, kPass);  // through @include
  EXPECT_EQ(r["faillock"].status, kFail);
}

TEST_F(FakeImage, AuditRulesInAnyOrderAndSpacing) {
  dir_.write("etc/audit/rules.d/50-scope.rules",
             "# -w /etc/shadow -p wa\n-w   /etc/sudoers  -p wa -k scope\n"
             "-a always,exit -F arch=b64 -S adjtimex -S settimeofday -k time-change\n");
  auto r = scan(rule("sudoers", "audit_rule: {tokens: ['-w /etc/sudoers', '-p wa']}") +
                rule("time", "audit_rule: {tokens: ['-S settimeofday', '-S adjtimex']}") +
                rule("shadow", "audit_rule: {tokens: ['-w /etc/shadow', '-p wa']}"));
  EXPECT_EQ(r["sudoers"].status, kPass);
  EXPECT_EQ(r["sudoers"].source, "/etc/audit/rules.d/50-scope.rules:2");
  EXPECT_EQ(r["time"].status, kPass);
  EXPECT_EQ(r["shadow"].status, kFail);  // only in a comment
}

TEST_F(FakeImage, TimeSyncNeedsExactlyOneDaemonWithAServer) {
  dir_.write("lib/systemd/system/chrony.service", "[Install]\nWantedBy=multi-user.target\n");
  fs::create_directories(dir_ / "etc/systemd/system/multi-user.target.wants");
  fs::create_symlink("/lib/systemd/system/chrony.service",
                     dir_ / "etc/systemd/system/multi-user.target.wants/chrony.service");
  dir_.write("etc/chrony/chrony.conf", "# pool 2.debian.pool.ntp.org\n");
  auto none = scan(rule("ts", "time_sync: {}"));
  EXPECT_EQ(none["ts"].status, kFail);
  EXPECT_NE(none["ts"].observed.find("no server"), std::string::npos);
  dir_.write("etc/chrony/sources.d/aws.sources", "server 169.254.169.123 prefer iburst\n");
  auto ok = scan(rule("ts", "time_sync: {}"));
  EXPECT_EQ(ok["ts"].status, kPass) << ok["ts"].observed;
  EXPECT_NE(ok["ts"].observed.find("/etc/chrony/sources.d/aws.sources:1"), std::string::npos);
}

TEST_F(FakeImage, MacOnAnImageFollowsConfiguration) {
  dir_.write("etc/selinux/config", "SELINUX=permissive\n");
  EXPECT_EQ(scan(rule("mac", "mac: {}"))["mac"].status, kFail);
  dir_.write("etc/selinux/config", "SELINUX=enforcing\n");
  EXPECT_EQ(scan(rule("mac", "mac: {}"))["mac"].status, kPass);
}

TEST_F(FakeImage, LiveOnlyChecksAreNotApplicableOnAnImage) {
  auto r = scan(rule("fw", "firewall: {}") + rule("ports", "listeners: {}") +
                rule("disks", "encryption: {}") + rule("imds", "ec2: {setting: imdsv2_enforced}"));
  for (const char* id : {"fw", "ports", "disks", "imds"}) {
    EXPECT_EQ(r[id].status, kNa) << id << ": " << r[id].observed;
    EXPECT_FALSE(r[id].observed.empty()) << id;
  }
}

TEST_F(FakeImage, LongLivedKeysAreFoundAndMasked) {
  dir_.write("home/alice/.aws/credentials",
             "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
             "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
  dir_.write("root/.aws/credentials", "[tmp]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\n");
  auto r = scan(rule("keys", "ec2: {setting: no_long_lived_keys}"));
  EXPECT_EQ(r["keys"].status, kFail);
  EXPECT_EQ(r["keys"].source, "/home/alice/.aws/credentials:2");
  EXPECT_EQ(r["keys"].observed.find("IOSFODNN7"), std::string::npos) << "key id not masked";
  EXPECT_EQ(r["keys"].observed.find("wJalr"), std::string::npos) << "secret leaked";
  EXPECT_NE(r["keys"].observed.find("AKIA************MPLE"), std::string::npos)
      << r["keys"].observed;
}

TEST_F(FakeImage, PlatformsSelectRules) {
  std::string yaml =
      "- id: only-amzn\n  title: t\n  severity: low\n  remediation: r\n  platforms: "
      "['amzn>=2023']\n"
      "  checks:\n  - package: {name: [x], state: absent}\n"
      "- id: debian12\n  title: t\n  severity: low\n  remediation: r\n  platforms: ['debian>=12']\n"
      "  checks:\n  - package: {name: [x], state: absent}\n"
      "- id: debian13\n  title: t\n  severity: low\n  remediation: r\n  platforms: ['debian>=13']\n"
      "  checks:\n  - package: {name: [x], state: absent}\n";
  auto r = scan(yaml);
  EXPECT_EQ(r["only-amzn"].status, kNa);
  EXPECT_EQ(r["only-amzn"].observed, "for amzn>=2023, not debian 12");
  EXPECT_EQ(r["debian12"].status, kPass);
  EXPECT_EQ(r["debian13"].status, kNa);
}

TEST_F(FakeImage, SymlinksOutOfTheImageAreNotFollowed) {
  // An image whose sshd_config points at an absolute path: inside the image
  // that is ROOT/etc/ssh/real_config, never the scanning host's file.
  dir_.write("etc/ssh/real_config", "PermitRootLogin yes\n");
  fs::create_symlink("/etc/ssh/real_config", dir_ / "etc/ssh/sshd_config");
  fs::create_symlink("../../../../../../etc/shadow", dir_ / "etc/escape");
  auto r = scan(rule("root", "sshd: {keyword: PermitRootLogin, expect: {any_of: ['no']}}") +
                rule("escape", "content: {path: /etc/escape, must_match: 'root:'}"));
  EXPECT_EQ(r["root"].status, kFail);
  EXPECT_EQ(r["root"].observed, "PermitRootLogin yes");
  // ../ chains stop at the image root: this is the image's own /etc/shadow.
  EXPECT_EQ(r["escape"].status, kPass);
  EXPECT_NE(r["escape"].observed.find("$y$j9T$abc"), std::string::npos) << r["escape"].observed;
}

TEST_F(FakeImage, SymlinkLoopsAndGarbageGiveErrorsNotCrashes) {
  fs::create_symlink("/etc/loop-b", dir_ / "etc/loop-a");
  fs::create_symlink("/etc/loop-a", dir_ / "etc/loop-b");
  const char defs[] = "PASS_MAX_DAYS \x01\xff\x00\x02 garbage\n";
  dir_.write("etc/login.defs", std::string(defs, sizeof(defs) - 1));
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  dir_.write("etc/ssh/sshd_config", binary);
  dir_.write("etc/passwd", binary);
  auto r = scan(
      rule("loop", "content: {path: /etc/loop-a, must_match: x}") +
      rule("loopmode", "file: {path: /etc/loop-a, max_mode: '0644'}") +
      rule("defs", "setting: {path: [/etc/login.defs], key: PASS_MAX_DAYS, expect: {max: 365}}") +
      rule("sshd", "sshd: {keyword: PermitRootLogin, expect: {any_of: ['no']}}") +
      rule("uid0", "accounts: {rule: only_root_uid_zero}"));
  EXPECT_EQ(r["loop"].status, kError);
  EXPECT_NE(r["loop"].observed.find("loop-a"), std::string::npos) << r["loop"].observed;
  EXPECT_EQ(r["loopmode"].status, kError);
  EXPECT_EQ(r["defs"].status, kFail);
  EXPECT_NE(r["sshd"].status, kPass);
  EXPECT_EQ(r["uid0"].status, kError);
}

TEST(RulePacks, ErrorsNameFileLineAndField) {
  RuleSet set;
  auto bad = addRulePack(set,
                         "pack: p\nrules:\n"
                         "- id: Bad_Id\n  title: t\n  severity: high\n  remediation: r\n"
                         "  checks:\n  - content: {path: /etc/x, must_match: '(unclosed'}\n"
                         "- id: two\n  title: t\n  severity: loud\n  remediation: r\n"
                         "  checks:\n  - file: {path: relative, max_mode: '0999'}\n"
                         "- id: three\n  title: t\n  severity: low\n  remediation: r\n"
                         "  checks:\n  - sshd: {keyword: X}\n    sysctl: {key: y}\n",
                         "p.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.error().message();
  EXPECT_NE(
      m.find("p.yaml:11: rules[1].severity: expected one of info, low, medium, high, critical"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("p.yaml:21: rules[2].checks[0].sysctl: 'sshd' is already given"),
            std::string::npos)
      << m;
  // Type errors come first; semantic checks run once the file loads.
  auto semantic = addRulePack(set,
                              "pack: p\nrules:\n"
                              "- id: Bad_Id\n  title: t\n  severity: high\n  remediation: r\n"
                              "  checks:\n  - content: {path: /etc/x, must_match: '(unclosed'}\n"
                              "- id: two\n  title: t\n  severity: low\n  remediation: r\n"
                              "  checks:\n  - file: {path: relative, max_mode: '0999'}\n"
                              "- id: two\n  title: t\n  severity: low\n"
                              "  checks:\n  - sshd: {keyword: X}\n"
                              "  references: {cis: [debian12 5.1.20, CIS 5.1, ubuntu2404 5..1]}\n",
                              "q.yaml");
  ASSERT_FALSE(semantic.ok());
  const std::string& s = semantic.error().message();
  EXPECT_NE(s.find("q.yaml:3: rules[0] (Bad_Id).id: required: lower-case"), std::string::npos) << s;
  EXPECT_NE(s.find("rules[0] (Bad_Id).checks[0].content: bad regular expression"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("rules[1] (two).checks[0].file: path: an absolute path"), std::string::npos)
      << s;
  EXPECT_NE(s.find("rules[1] (two).checks[0].file: max_mode: octal"), std::string::npos) << s;
  EXPECT_NE(s.find("q.yaml:15: rules[2] (two).id: 'two' is already used"), std::string::npos) << s;
  EXPECT_NE(s.find("rules[2] (two).remediation: required"), std::string::npos) << s;
  EXPECT_NE(s.find("rules[2] (two).checks[0].sshd: expect: give at least one"), std::string::npos)
      << s;
  EXPECT_NE(s.find("rules[2] (two).references.cis[1]: 'CIS 5.1' is not BENCHMARK SECTION"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("references.cis[2]: 'ubuntu2404 5..1'"), std::string::npos) << s;
  EXPECT_EQ(s.find("references.cis[0]"), std::string::npos) << s;
  EXPECT_TRUE(set.rules.empty());  // nothing from a bad pack is kept
}

// The shipped packs: enough rules, each documented and mapped, every check
// kind used, ids unique (the loader enforces that).
TEST(RulePacks, ShippedPacksLoadAndAreComplete) {
  auto set = loadRulePacks({DEMARC_SOURCE_DIR "/config/rules"});
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_GE(set->rules.size(), 150u);
  EXPECT_EQ(set->digest.size(), 64u);
  std::set<int> kinds;
  std::map<std::string, int> cis;  // benchmark -> rules that cite a section of it
  for (const auto& lr : set->rules) {
    const auto& r = lr.rule;
    std::set<std::string> benchmarks;
    for (const auto& ref : r.references().cis()) benchmarks.insert(ref.substr(0, ref.find(' ')));
    for (const auto& b : benchmarks) ++cis[b];
    EXPECT_FALSE(r.rationale().empty()) << r.id();
    EXPECT_FALSE(r.references().nist_800_53().empty()) << r.id();
    EXPECT_FALSE(r.references().iso_27001_2022().empty()) << r.id();
    EXPECT_FALSE(r.references().pci_dss_4().empty()) << r.id();
    for (const auto& c : r.checks()) kinds.insert(c.kind_case());
  }
  for (int k = 1; k <= 19; ++k) EXPECT_TRUE(kinds.count(k)) << "check kind " << k << " unused";
  // The CIS Level 1 server sections of the four benchmarks are covered.
  for (const char* benchmark : {"debian12", "ubuntu2204", "ubuntu2404", "al2023"}) {
    EXPECT_GE(cis[benchmark], 150) << benchmark;
  }
  EXPECT_EQ(cis.size(), 4u);
}

TEST(Platform, OsReleaseAndTerms) {
  OsRelease os = parseOsRelease(
      "NAME=\"Amazon Linux\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\n");
  EXPECT_EQ(os.id, "amzn");
  EXPECT_EQ(os.id_like, std::vector<std::string>{"fedora"});
  EXPECT_TRUE(matchesPlatform(os, *parsePlatformTerm("amzn>=2023")));
  EXPECT_FALSE(matchesPlatform(os, *parsePlatformTerm("amzn>=2023.1")));
  EXPECT_TRUE(matchesPlatform(os, *parsePlatformTerm("fedora")));
  EXPECT_FALSE(matchesPlatform(os, *parsePlatformTerm("fedora>=38")));
  EXPECT_EQ(packageFamilyOf(os), PackageFamily::kRpm);
  OsRelease ubuntu = parseOsRelease("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n");
  EXPECT_TRUE(matchesPlatform(ubuntu, *parsePlatformTerm("ubuntu>=22.04")));
  EXPECT_TRUE(matchesPlatform(ubuntu, *parsePlatformTerm("ubuntu>=22.4")));
  EXPECT_FALSE(matchesPlatform(ubuntu, *parsePlatformTerm("ubuntu>=24.04")));
  EXPECT_TRUE(matchesPlatform(ubuntu, *parsePlatformTerm("debian")));
  EXPECT_FALSE(parsePlatformTerm("Debian").ok());
  EXPECT_FALSE(parsePlatformTerm("debian>=twelve").ok());
}

}  // namespace
}  // namespace demarc::posture
