#include "agent/posture/scan_context.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "agent/aws/imds.h"
#include "agent/core/text.h"
#include "agent/posture/rpmdb.h"

namespace demarc::posture {
namespace {

// Where systemd looks for unit files, highest precedence first.
constexpr std::array<std::string_view, 5> kUnitDirs = {
    "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system", "/lib/systemd/system"};

std::string basenameOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// "foo@bar.service" is an instance of the template "foo@.service".
std::string templateOf(const std::string& name) {
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (at == std::string::npos || dot == std::string::npos || dot < at || at + 1 == dot) return "";
  return name.substr(0, at + 1) + name.substr(dot);
}

Result<std::set<std::string>> readDpkgNames(const HostRoot& root) {
  auto text = root.read("/var/lib/dpkg/status", 256ULL << 20);
  if (!text.ok()) return text.error();
  std::vector<std::string> problems;
  std::set<std::string> names;
  for (const auto& pkg : parseDpkgStatus(*text, &problems)) names.insert(pkg.name);
  return names;
}

std::string moduleName(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

// "kernel/fs/cramfs/cramfs.ko.xz: deps" -> "cramfs".
std::string moduleFromPath(std::string_view path) {
  std::string name = basenameOf(path.substr(0, path.find(':')));
  size_t ko = name.find(".ko");
  return moduleName(name.substr(0, ko));
}

}  // namespace

std::vector<DatabaseLine> parseColonDatabase(std::string_view text, const std::string& path,
                                             size_t min_fields,
                                             std::vector<std::string>* problems) {
  std::vector<DatabaseLine> out;
  forEachLine(text, [&](std::string_view line, size_t line_no) {
    if (line.empty() || line.front() == '#') return;
    std::string source = path + ":" + std::to_string(line_no);
    // NIS compat entries ("+", "-user") are not local accounts.
    if (line.front() == '+' || line.front() == '-') return;
    DatabaseLine entry{split(line, ':'), source};
    if (entry.fields.size() < min_fields) {
      if (problems) {
        problems->push_back(source + ": " + std::to_string(entry.fields.size()) +
                            " fields, expected " + std::to_string(min_fields));
      }
      return;
    }
    out.push_back(std::move(entry));
  });
  return out;
}

ScanContext::ScanContext(HostRoot root, ScanOptions options)
    : root_(std::move(root)), options_(std::move(options)) {}

const Result<OsRelease>& ScanContext::os() {
  if (!os_) os_ = readOsRelease(root_);
  return *os_;
}

const SshdConfig& ScanContext::sshd() {
  if (!sshd_) sshd_ = readSshdConfig(root_);
  return *sshd_;
}

const PersistedSysctl& ScanContext::persistedSysctl() {
  if (!sysctl_) sysctl_ = readPersistedSysctl(root_);
  return *sysctl_;
}

bool ScanContext::usesRpm() {
  if (uses_rpm_) return *uses_rpm_;
  PackageFamily family = os().ok() ? packageFamilyOf(*os()) : PackageFamily::kUnknown;
  uses_rpm_ = family != PackageFamily::kDpkg && !root_.lstat("/var/lib/dpkg/status").ok() &&
              (family == PackageFamily::kRpm || root_.lstat("/var/lib/rpm/rpmdb.sqlite").ok());
  return *uses_rpm_;
}

const Result<std::vector<RpmPackage>>& ScanContext::rpmPackages() {
  if (rpms_) return *rpms_;
  if (!usesRpm()) {
    rpms_ = std::vector<RpmPackage>{};
  } else {
    std::vector<std::string> problems;
    rpms_ = readRpmDatabase(root_, &problems);
  }
  return *rpms_;
}

const Result<std::set<std::string>>& ScanContext::installedPackages() {
  if (packages_) return *packages_;
  if (usesRpm()) {
    const auto& rpms = rpmPackages();
    if (!rpms.ok()) {
      packages_ = rpms.error();
    } else {
      std::set<std::string> names;
      for (const auto& p : *rpms) names.insert(p.name);
      packages_ = std::move(names);
    }
  } else if (root_.lstat("/var/lib/dpkg/status").ok()) {
    packages_ = readDpkgNames(root_);
  } else {
    packages_ = Error(ErrorCode::kNotFound, "no package database found (dpkg or rpm)");
  }
  return *packages_;
}

const Result<UpdateState>& ScanContext::updates() {
  if (updates_) return *updates_;
  if (usesRpm()) {
    const auto& rpms = rpmPackages();
    if (!rpms.ok()) {
      updates_ = rpms.error();
    } else if (auto dnf = readDnfState(root_, *rpms); dnf.ok()) {
      updates_ = std::move(dnf->updates);
    } else {
      updates_ = dnf.error();
    }
    return *updates_;
  }
  if (auto apt = readAptState(root_); apt.ok()) {
    updates_ = UpdateState{std::move(apt->pending), "/var/lib/dpkg/status, /var/lib/apt/lists",
                           std::move(apt->problems)};
  } else {
    updates_ = apt.error();
  }
  return *updates_;
}

const KernelStatus& ScanContext::kernel() {
  if (kernel_) return *kernel_;
  kernel_ = readKernelStatus(root_);
  const auto& rpms = rpmPackages();
  if (live() && usesRpm() && rpms.ok()) {
    if (auto booted = readBootTime(root_)) {
      applyRpmRebootRule(*kernel_, *rpms, *booted, readNeedsRestartingNames(root_));
    }
  }
  return *kernel_;
}

const LastPackageChange& ScanContext::lastPackageChange() {
  if (last_change_) return *last_change_;
  if (!usesRpm()) {
    last_change_ = readLastPackageChange(root_);
    return *last_change_;
  }
  LastPackageChange change;
  const RpmPackage* latest = nullptr;
  if (const auto& rpms = rpmPackages(); rpms.ok()) {
    for (const auto& p : *rpms) {
      if (p.install_time != 0 && (latest == nullptr || p.install_time > latest->install_time))
        latest = &p;
    }
  }
  if (latest != nullptr) {
    change.when = fromUnixTime(latest->install_time);
    change.source = "/var/lib/rpm/rpmdb.sqlite (install time of " + latest->name + "-" +
                    latest->evr() + "." + latest->arch + ")";
  } else {
    change.source = "/var/lib/rpm/rpmdb.sqlite";
  }
  last_change_ = std::move(change);
  return *last_change_;
}

const AccountDatabases& ScanContext::accounts() {
  if (accounts_) return *accounts_;
  AccountDatabases db;
  auto load = [&](const char* path, size_t fields, std::vector<DatabaseLine>& into) {
    auto text = root_.read(path, 64ULL << 20);
    if (!text.ok()) {
      db.problems.push_back(text.error().message());
      return;
    }
    into = parseColonDatabase(*text, path, fields, &db.problems);
  };
  load("/etc/passwd", 7, db.passwd);
  load("/etc/group", 4, db.group);
  load("/etc/shadow", 9, db.shadow);
  if (auto defs = root_.read("/etc/login.defs", 1 << 20); defs.ok()) {
    forEachLine(*defs, [&](std::string_view line, size_t) {
      if (!line.starts_with("UID_MIN")) return;
      std::string_view v = line.substr(7);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      uint32_t value = 0;
      if (std::from_chars(v.data(), v.data() + v.size(), value).ec == std::errc()) {
        db.uid_min = value;
      }
    });
  }
  accounts_ = std::move(db);
  return *accounts_;
}

const Result<std::vector<MountEntry>>& ScanContext::mounts() {
  if (mounts_) return *mounts_;
  const char* path = live() ? "/proc/self/mounts" : "/etc/fstab";
  auto text = root_.read(path, 16 << 20);
  if (!text.ok()) {
    mounts_ = text.error();
  } else {
    mounts_ = parseMountTable(*text, path);
  }
  return *mounts_;
}

const UnitInfo& ScanContext::unit(const std::string& name) {
  auto cached = units_.find(name);
  if (cached != units_.end()) return cached->second;
  if (!wants_links_) {
    wants_links_.emplace();
    for (std::string_view dir : kUnitDirs) {
      for (const char* kind : {"/*.wants/*", "/*.requires/*"}) {
        for (const std::string& link : root_.glob(std::string(dir) + kind)) {
          auto target = root_.readLink(link);
          wants_links_->emplace_back(basenameOf(link), target.ok() ? basenameOf(*target) : "");
        }
      }
    }
  }
  UnitInfo info;
  std::vector<std::string> names{name};  // the unit and what it aliases
  std::string tmpl = templateOf(name);
  for (std::string_view dir : kUnitDirs) {
    std::string candidate = std::string(dir) + "/" + name;
    auto st = root_.lstat(candidate);
    if (!st.ok() && !tmpl.empty()) {
      candidate = std::string(dir) + "/" + tmpl;
      st = root_.lstat(candidate);
    }
    if (!st.ok()) continue;
    if (S_ISLNK(st->st_mode)) {
      auto target = root_.readLink(candidate);
      if (target.ok() && (*target == "/dev/null" || target->empty())) {
        info.masked = true;
        info.path = candidate;
        break;
      }
      if (target.ok()) names.push_back(basenameOf(*target));  // an alias: sshd -> ssh
      continue;  // the real file is found through its own name below
    }
    if (S_ISCHR(st->st_mode)) {  // a unit file that is /dev/null itself
      info.masked = true;
      info.path = candidate;
      break;
    }
    if (info.path.empty()) info.path = candidate;
  }
  if (info.path.empty() && names.size() > 1) {
    for (std::string_view dir : kUnitDirs) {
      std::string candidate = std::string(dir) + "/" + names.back();
      if (root_.lstat(candidate).ok()) {
        info.path = candidate;
        break;
      }
    }
  }
  if (!info.masked && !info.path.empty()) {
    for (const auto& [link_name, target] : *wants_links_) {
      for (const auto& n : names) {
        if (link_name == n || target == n) {
          info.enabled = true;
          info.enabled_by = link_name;
        }
      }
    }
    if (!info.enabled) {
      auto text = root_.read(info.path, 1 << 20);
      info.is_static = text.ok() && text->find("[Install]") == std::string::npos;
    }
  }
  return units_.emplace(name, std::move(info)).first->second;
}

const Result<ListenerScan>& ScanContext::listeners() {
  if (!listeners_) listeners_ = scanListeners(root_);
  return *listeners_;
}

const Result<std::vector<VolumeEncryption>>& ScanContext::volumes() {
  if (volumes_) return *volumes_;
  volumes_ = scanDiskEncryption(root_);
  if (volumes_->ok() && options_.ec2_api) {
    std::vector<std::string> ids;
    for (const auto& v : **volumes_) {
      if (v.verdict == EncryptionVerdict::kUnknown) {
        ids.insert(ids.end(), v.ebs_volume_ids.begin(), v.ebs_volume_ids.end());
      }
    }
    if (!ids.empty()) applyEbsVolumes(**volumes_, options_.ec2_api->describeVolumes(ids));
  }
  return *volumes_;
}

const Result<aws::InstanceMetadataOptions>& ScanContext::ec2Metadata() {
  if (!ec2_metadata_) {
    ec2_metadata_ = options_.ec2_api ? options_.ec2_api->metadataOptions()
                                     : Result<aws::InstanceMetadataOptions>(Error(
                                           ErrorCode::kUnavailable, "no EC2 API for this scan"));
  }
  return *ec2_metadata_;
}

const Result<std::vector<aws::SecurityGroup>>& ScanContext::ec2SecurityGroups() {
  if (!ec2_groups_) {
    ec2_groups_ = options_.ec2_api ? options_.ec2_api->securityGroups()
                                   : Result<std::vector<aws::SecurityGroup>>(Error(
                                         ErrorCode::kUnavailable, "no EC2 API for this scan"));
  }
  return *ec2_groups_;
}

const Ec2Facts& ScanContext::ec2() {
  if (ec2_) return *ec2_;
  Ec2Facts facts;
  ec2_ = facts;
  auto found = aws::imdsEndpointFor(root_, options_.imds_endpoint);
  if (!found.ok()) {
    ec2_->reason = found.error().message();
    return *ec2_;
  }
  const std::string& endpoint = *found;
  ec2_->endpoint = endpoint;
  aws::ImdsClient imds(endpoint, options_.imds_timeout);
  auto token = imds.token();
  if (!token.ok()) {
    ec2_->reason = "instance metadata did not answer: " + token.error().message();
    return *ec2_;
  }
  ec2_->on_ec2 = true;
  ec2_->token_ok = true;
  ec2_->reason = "instance metadata answered at " + endpoint;
  if (auto v1 = imds.getWithoutToken("/latest/meta-data/"); v1.ok()) {
    ec2_->tokenless_status = static_cast<int>(v1->status);
  }
  if (auto iam = imds.get("/latest/meta-data/iam/info", *token); iam.ok()) {
    ec2_->iam_info_status = static_cast<int>(iam->status);
    google::protobuf::Struct doc;
    if (iam->status == 200 && google::protobuf::util::JsonStringToMessage(iam->body, &doc).ok()) {
      auto arn = doc.fields().find("InstanceProfileArn");
      if (arn != doc.fields().end()) ec2_->instance_profile_arn = arn->second.string_value();
    }
  }
  return *ec2_;
}

const Result<CveReport>& ScanContext::cves() {
  if (cves_) return *cves_;
  const auto& os = this->os();
  if (options_.cve_feed.empty()) {
    cves_ = Error(ErrorCode::kNotFound, "no CVE feed configured (posture.cve_feed)");
  } else if (!os.ok()) {
    cves_ = os.error();
  } else if (os->id != "debian") {
    cves_ = Error(ErrorCode::kUnavailable,
                  "the Debian security tracker feed covers Debian only (" + os->pretty_name + ")");
  } else if (os->version_codename.empty()) {
    cves_ = Error(ErrorCode::kInvalidArgument,
                  os->source + ": no VERSION_CODENAME to pick the feed's release");
  } else if (auto status = root_.read("/var/lib/dpkg/status", 256ULL << 20); !status.ok()) {
    cves_ = status.error();
  } else {
    std::vector<std::string> problems;
    cves_ =
        readCveFeed(options_.cve_feed, os->version_codename, parseDpkgStatus(*status, &problems));
  }
  return *cves_;
}

const KernelModules& ScanContext::kernelModules() {
  if (modules_) return *modules_;
  KernelModules m;
  for (const std::string& dep : root_.glob("/lib/modules/*/modules.dep")) {
    auto text = root_.read(dep, 64 << 20);
    if (!text.ok()) continue;
    forEachLine(*text, [&](std::string_view line, size_t) {
      if (!line.empty()) m.shipped.insert(moduleFromPath(line));
    });
  }
  for (const std::string& builtin : root_.glob("/lib/modules/*/modules.builtin")) {
    auto text = root_.read(builtin, 16 << 20);
    if (!text.ok()) continue;
    forEachLine(*text, [&](std::string_view line, size_t) {
      if (!line.empty()) m.builtin.insert(moduleFromPath(line));
    });
  }
  if (live()) {
    auto text = root_.read("/proc/modules", 4 << 20);
    m.loaded_known = text.ok();
    if (text.ok()) {
      forEachLine(*text, [&](std::string_view line, size_t) {
        if (!line.empty()) m.loaded.insert(moduleName(line.substr(0, line.find(' '))));
      });
    }
  }
  // modprobe reads *.conf from these, a name in an earlier folder hiding
  // the same name in a later one.
  std::map<std::string, std::string> by_name;
  for (const char* dir : {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                          "/usr/lib/modprobe.d", "/lib/modprobe.d"}) {
    auto entries = root_.list(dir);
    if (!entries.ok()) continue;
    for (const auto& e : *entries) {
      if (e.name.ends_with(".conf")) by_name.emplace(e.name, std::string(dir) + "/" + e.name);
    }
  }
  for (const auto& entry : by_name) {
    const std::string& path = entry.second;
    auto text = root_.read(path, 1 << 20);
    if (!text.ok()) continue;
    forEachLine(*text, [&](std::string_view line, size_t line_no) {
      std::vector<std::string> words;
      size_t pos = 0;
      while (pos < line.size()) {
        size_t start = line.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) break;
        size_t end = line.find_first_of(" \t", start);
        if (end == std::string_view::npos) end = line.size();
        words.emplace_back(line.substr(start, end - start));
        pos = end;
      }
      if (words.size() < 2 || words[0][0] == '#') return;
      std::string source = path + ":" + std::to_string(line_no);
      std::string module = moduleName(words[1]);
      if (words[0] == "blacklist") {
        m.blacklist.emplace(module, source);
      } else if (words[0] == "install" && words.size() > 2) {
        std::string command;
        for (size_t i = 2; i < words.size(); ++i) command += (i > 2 ? " " : "") + words[i];
        m.install.emplace(module, std::make_pair(command, source));  // first one wins
      }
    });
  }
  modules_ = std::move(m);
  return *modules_;
}

}  // namespace demarc::posture
