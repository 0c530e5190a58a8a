#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/host_root.h"
#include "agent/core/mount_table.h"
#include "agent/core/result.h"
#include "agent/posture/apt.h"
#include "agent/posture/cve_feed.h"
#include "agent/posture/disks.h"
#include "agent/posture/dnf.h"
#include "agent/posture/kernel.h"
#include "agent/posture/platform.h"
#include "agent/posture/ports.h"
#include "agent/posture/sshd.h"
#include "agent/posture/sysctl.h"

namespace demarc::posture {

// A listener the config allows; empty fields match anything.
struct AllowedListener {
  std::string protocol;  // "tcp" or "udp"
  uint32_t port = 0;
  std::string address;  // "0.0.0.0", "::", "127.0.0.1"
  std::string process;  // comm of an owning process: "sshd"
};

struct ScanOptions {
  std::vector<AllowedListener> allowed_listeners;
  // Instance metadata service. Empty: http://169.254.169.254, asked only
  // when the machine looks like EC2 (DMI); set (tests, proxies): always asked.
  std::string imds_endpoint;
  std::chrono::milliseconds imds_timeout{1000};
  // Debian security tracker JSON on the scanning host (not in the scanned
  // root); empty: no CVE matching.
  std::string cve_feed;
  SystemTime now = std::chrono::system_clock::now();
  // The EC2 API about this instance (DescribeVolumes, DescribeInstances);
  // none off EC2 and for images: EBS verdicts then stay unknown and the
  // hop-limit check says why.
  std::shared_ptr<aws::Ec2Queries> ec2_api;
};

// One line of /etc/passwd, /etc/group or /etc/shadow, split on ':'.
struct DatabaseLine {
  std::vector<std::string> fields;
  std::string source;  // "/etc/passwd:3"
};
struct AccountDatabases {
  std::vector<DatabaseLine> passwd, group, shadow;
  std::vector<std::string> problems;
  uint32_t uid_min = 1000;  // from login.defs
};

// What systemd would say about unit files, read from the unit folders.
struct UnitInfo {
  std::string path;  // the unit file, or empty when absent
  bool masked = false;
  bool enabled = false;    // a .wants/.requires link names it (or an alias of it)
  bool is_static = false;  // no [Install] section: started by dependencies only
  std::string enabled_by;  // the link that enables it
};

// Kernel modules: what the installed kernels ship, what is built in, what
// is loaded (live), and what modprobe.d says about each (names use '_').
struct KernelModules {
  std::set<std::string> shipped;  // from /lib/modules/*/modules.dep
  std::set<std::string> builtin;  // from /lib/modules/*/modules.builtin
  std::set<std::string> loaded;   // /proc/modules
  bool loaded_known = false;
  std::map<std::string, std::pair<std::string, std::string>> install;  // name -> command, source
  std::map<std::string, std::string> blacklist;                        // name -> source
};

// Facts from the instance metadata service, asked once per scan.
struct Ec2Facts {
  bool on_ec2 = false;
  std::string reason;        // why this is (not) taken to be EC2
  int tokenless_status = 0;  // HTTP status of a GET without a token (0: no answer)
  bool token_ok = false;     // PUT /latest/api/token answered
  int iam_info_status = 0;   // GET /latest/meta-data/iam/info with the token
  std::string instance_profile_arn;
  std::string endpoint;
};

// Everything a scan reads, read at most once and shared by the checks.
class ScanContext {
 public:
  ScanContext(HostRoot root, ScanOptions options);

  const HostRoot& root() const { return root_; }
  bool live() const { return root_.isLive(); }
  const ScanOptions& options() const { return options_; }

  const Result<OsRelease>& os();
  const SshdConfig& sshd();
  const PersistedSysctl& persistedSysctl();
  // Installed package names (dpkg or rpm), or why they cannot be listed.
  const Result<std::set<std::string>>& installedPackages();
  // Installed rpm packages (empty on a dpkg system).
  const Result<std::vector<RpmPackage>>& rpmPackages();
  // Pending updates: apt's lists on dpkg systems, dnf's updateinfo on rpm
  // systems.
  const Result<UpdateState>& updates();
  const KernelStatus& kernel();
  const LastPackageChange& lastPackageChange();
  const AccountDatabases& accounts();
  // Live: /proc/self/mounts; image: /etc/fstab.
  const Result<std::vector<MountEntry>>& mounts();
  const UnitInfo& unit(const std::string& name);
  const Result<ListenerScan>& listeners();
  const Result<std::vector<VolumeEncryption>>& volumes();
  const Ec2Facts& ec2();
  // ec2:DescribeInstances for this instance (needs options().ec2_api).
  const Result<aws::InstanceMetadataOptions>& ec2Metadata();
  // ec2:DescribeSecurityGroups for this instance's groups.
  const Result<std::vector<aws::SecurityGroup>>& ec2SecurityGroups();
  const KernelModules& kernelModules();
  // Open CVEs of the installed packages from options().cve_feed; an error
  // says why there are none (no feed, not Debian, feed unreadable).
  const Result<CveReport>& cves();

 private:
  // Whether the packages are rpm's: an rpm database and no dpkg status.
  bool usesRpm();

  HostRoot root_;
  ScanOptions options_;
  std::optional<Result<OsRelease>> os_;
  std::optional<SshdConfig> sshd_;
  std::optional<PersistedSysctl> sysctl_;
  std::optional<Result<std::set<std::string>>> packages_;
  std::optional<bool> uses_rpm_;
  std::optional<Result<std::vector<RpmPackage>>> rpms_;
  std::optional<Result<UpdateState>> updates_;
  std::optional<KernelStatus> kernel_;
  std::optional<LastPackageChange> last_change_;
  std::optional<AccountDatabases> accounts_;
  std::optional<Result<std::vector<MountEntry>>> mounts_;
  std::optional<std::vector<std::pair<std::string, std::string>>> wants_links_;  // name, link
  std::map<std::string, UnitInfo> units_;
  std::optional<Result<ListenerScan>> listeners_;
  std::optional<Result<std::vector<VolumeEncryption>>> volumes_;
  std::optional<Ec2Facts> ec2_;
  std::optional<Result<aws::InstanceMetadataOptions>> ec2_metadata_;
  std::optional<Result<std::vector<aws::SecurityGroup>>> ec2_groups_;
  std::optional<KernelModules> modules_;
  std::optional<Result<CveReport>> cves_;
};

// Parsers the context uses, exposed for tests and fuzzing.
std::vector<DatabaseLine> parseColonDatabase(std::string_view text, const std::string& path,
                                             size_t min_fields, std::vector<std::string>* problems);

}  // namespace demarc::posture
