// Checks of the running host as a whole: EC2 settings, patch level,
// listening sockets and disk encryption.
#include <algorithm>
#include <set>

#include "agent/core/text.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"
#include "agent/posture/checks/util.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {
namespace {

std::string maskKeyId(const std::string& id) {
  return id.size() > 8
             ? id.substr(0, 4) + std::string(id.size() - 8, '*') + id.substr(id.size() - 4)
             : "****";
}

CheckOutcome longLivedKeys(ScanContext& context) {
  std::set<std::string> files;
  for (const auto& line : context.accounts().passwd) {
    if (line.fields.size() > 5 && line.fields[5].size() > 1) {
      files.insert(line.fields[5] + "/.aws/credentials");
      files.insert(line.fields[5] + "/.aws/config");
    }
  }
  for (const auto& f : context.root().glob("/home/*/.aws/credentials")) files.insert(f);
  files.insert("/root/.aws/credentials");
  auto regex = PosixRegex::compile(
      "^[[:space:]]*aws_access_key_id[[:space:]]*=[[:space:]]*AKIA[A-Z0-9]{12,}", true);
  if (!regex.ok()) return CheckOutcome::error(regex.error().message());
  std::vector<std::string> found, sources;
  size_t read = 0;
  for (const std::string& file : files) {
    auto text = context.root().read(file, 1 << 20);
    if (!text.ok()) continue;
    ++read;
    forEachLine(*text, [&](std::string_view line, size_t line_no) {
      if (!regex->search(line)) return;
      std::string id = trimmed(line.substr(line.find('=') + 1));
      found.push_back(maskKeyId(id.substr(0, id.find_first_of(" \t#"))));
      sources.push_back(file + ":" + std::to_string(line_no));
    });
  }
  std::string expected = "no long-lived access keys (AKIA...) on disk; use the instance role";
  if (found.empty()) {
    return CheckOutcome::pass("none in " + std::to_string(read) + " AWS credential files", expected,
                              "~/.aws of every account");
  }
  return CheckOutcome::fail("long-lived keys " + joinList(found), expected, joinList(sources));
}

bool listenerAllowed(const Listener& l, const std::vector<AllowedListener>& allowed) {
  for (const auto& a : allowed) {
    if (!a.protocol.empty() && a.protocol != l.socket.protocol) continue;
    if (a.port != 0 && a.port != l.socket.port) continue;
    if (!a.address.empty() && a.address != l.socket.address) continue;
    if (!a.process.empty() &&
        std::none_of(l.owners.begin(), l.owners.end(),
                     [&](const SocketOwner& o) { return o.comm == a.process; })) {
      continue;
    }
    return true;
  }
  return false;
}

std::string describeListener(const Listener& l) {
  std::string addr = l.socket.family == 6 ? "[" + l.socket.address + "]" : l.socket.address;
  std::string out = l.socket.protocol + " " + addr + ":" + std::to_string(l.socket.port);
  std::vector<std::string> owners;
  for (const auto& o : l.owners) owners.push_back(o.comm + "/" + std::to_string(o.pid));
  if (!owners.empty()) out += " (" + joinList(owners) + ")";
  return out;
}

}  // namespace

namespace {

// Whether a rule lets traffic for this listener's protocol and port in.
bool admits(const aws::IngressRule& rule, const Listener& l) {
  if (rule.protocol == "-1") return true;
  return rule.protocol == l.socket.protocol && rule.from_port <= l.socket.port &&
         l.socket.port <= rule.to_port;
}

std::string listenerName(const Listener& l) {
  std::string out = l.socket.protocol + "/" + std::to_string(l.socket.port);
  if (!l.owners.empty()) out += " (" + l.owners.front().comm + ")";
  return out;
}

// Listeners on all addresses against the instance's security groups: open
// to the internet, blocked by every group, or open to some sources only.
CheckOutcome securityGroupExposure(ScanContext& context) {
  const std::string expected = "no listener on all addresses is open to 0.0.0.0/0 or ::/0";
  const auto& listeners = context.listeners();
  if (!listeners.ok()) return CheckOutcome::error(listeners.error().message(), "/proc/net");
  const auto& groups = context.ec2SecurityGroups();
  if (!groups.ok())
    return CheckOutcome::error(groups.error().message(), "ec2:DescribeSecurityGroups");
  std::string source = "ec2:DescribeSecurityGroups";
  for (const auto& g : *groups) source += " " + g.id;
  source += ", /proc/net";
  std::vector<std::string> open, blocked;
  size_t all_addresses = 0;
  for (const Listener& l : listeners->listeners) {
    if (l.exposure != Exposure::kAllAddresses) continue;
    ++all_addresses;
    std::string world;
    bool admitted = false;
    for (const auto& g : *groups) {
      for (const auto& rule : g.ingress) {
        if (!admits(rule, l)) continue;
        admitted = true;
        for (const std::string& cidr : rule.cidrs) {
          if ((cidr == "0.0.0.0/0" || cidr == "::/0") && world.empty()) {
            world = cidr + " in " + g.id + (g.name.empty() ? "" : " (" + g.name + ")");
          }
        }
      }
    }
    if (!world.empty()) {
      open.push_back(listenerName(l) + " open to " + world);
    } else if (!admitted) {
      blocked.push_back(listenerName(l));
    }
  }
  if (!open.empty()) return CheckOutcome::fail(joinList(open), expected, source);
  std::string observed =
      std::to_string(all_addresses) + " listeners on all addresses, none open to the internet";
  if (!blocked.empty()) observed += "; blocked by every group: " + joinList(blocked);
  return CheckOutcome::pass(observed, expected, source);
}

}  // namespace

CheckOutcome runEc2Check(const rules::v1::Check& check, ScanContext& context) {
  using S = rules::v1::Ec2Setting;
  S setting = check.ec2().setting();
  if (setting == S::EC2_SETTING_NO_LONG_LIVED_KEYS) return longLivedKeys(context);
  const Ec2Facts& ec2 = context.ec2();
  if (!ec2.on_ec2) return CheckOutcome::notApplicable(ec2.reason);
  std::string source = ec2.endpoint;
  switch (setting) {
    case S::EC2_SETTING_IMDSV2_ENFORCED: {
      std::string expected = "a request without a token is refused (HTTP 401)";
      std::string observed = "GET /latest/meta-data/ without a token: " +
                             (ec2.tokenless_status ? "HTTP " + std::to_string(ec2.tokenless_status)
                                                   : std::string("no answer"));
      if (ec2.tokenless_status == 401) return CheckOutcome::pass(observed, expected, source);
      if (ec2.tokenless_status == 200)
        return CheckOutcome::fail(observed + " (IMDSv1 allowed)", expected, source);
      return CheckOutcome::error(observed, source);
    }
    case S::EC2_SETTING_INSTANCE_PROFILE: {
      std::string expected = "an instance profile (IAM role) is attached";
      if (!ec2.instance_profile_arn.empty()) {
        return CheckOutcome::pass(ec2.instance_profile_arn, expected,
                                  source + "/latest/meta-data/iam/info");
      }
      if (ec2.iam_info_status == 404) {
        return CheckOutcome::fail("no instance profile", expected,
                                  source + "/latest/meta-data/iam/info");
      }
      return CheckOutcome::error("iam/info answered HTTP " + std::to_string(ec2.iam_info_status),
                                 source);
    }
    case S::EC2_SETTING_SSM_AGENT: {
      std::string expected = "amazon-ssm-agent installed and enabled";
      for (const char* unit :
           {"amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"}) {
        const UnitInfo& info = context.unit(unit);
        if (info.enabled && !info.masked)
          return CheckOutcome::pass(std::string(unit) + " enabled", expected, info.path);
        if (!info.path.empty())
          return CheckOutcome::fail(std::string(unit) + " not enabled", expected, info.path);
      }
      return CheckOutcome::fail("amazon-ssm-agent not installed", expected, "systemd unit folders");
    }
    case S::EC2_SETTING_SECURITY_GROUP_EXPOSURE:
      if (!context.options().ec2_api) {
        return CheckOutcome::error("the EC2 API is not available to this scan", source);
      }
      return securityGroupExposure(context);
    case S::EC2_SETTING_IMDS_HOP_LIMIT: {
      uint32_t max = check.ec2().max_hop_limit() == 0 ? 1 : check.ec2().max_hop_limit();
      std::string expected = "HttpPutResponseHopLimit at most " + std::to_string(max);
      if (!context.options().ec2_api) {
        return CheckOutcome::error("the EC2 API is not available to this scan", source);
      }
      auto options = context.ec2Metadata();
      if (!options.ok())
        return CheckOutcome::error(options.error().message(), "ec2:DescribeInstances");
      std::string observed = "HttpPutResponseHopLimit " + std::to_string(options->hop_limit);
      if (options->hop_limit >= 1 && static_cast<uint32_t>(options->hop_limit) <= max) {
        return CheckOutcome::pass(observed, expected, "ec2:DescribeInstances");
      }
      return CheckOutcome::fail(observed, expected, "ec2:DescribeInstances");
    }
    default:
      return CheckOutcome::error("unknown EC2 setting");
  }
}

void validateEc2Check(const rules::v1::Check& check, std::vector<std::string>& problems) {
  if (check.ec2().setting() == rules::v1::EC2_SETTING_UNSPECIFIED)
    problems.push_back("setting: required");
}

namespace {

CheckOutcome fixableCveOutcome(const rules::v1::PatchCheck& spec, ScanContext& context) {
  const auto& cves = context.cves();
  if (!cves.ok()) {
    if (cves.error().code() == ErrorCode::kNotFound ||
        cves.error().code() == ErrorCode::kUnavailable) {
      return CheckOutcome::notApplicable(cves.error().message());
    }
    return CheckOutcome::error(cves.error().message());
  }
  std::vector<std::string> fixable;
  size_t unfixed = 0;
  for (const auto& c : cves->open) {
    if (!c.fixable()) {
      ++unfixed;
      continue;
    }
    fixable.push_back(c.cve + " in " + c.source_package + " " + c.installed_version +
                      " (fixed in " + c.fixed_version + ")");
  }
  std::string observed = std::to_string(fixable.size()) + " CVEs with a fix not installed (" +
                         std::to_string(unfixed) + " more without a fix yet)";
  if (!fixable.empty()) {
    std::vector<std::string> first(fixable.begin(),
                                   fixable.begin() + std::min<size_t>(fixable.size(), 10));
    observed += ": " + joinList(first) + (fixable.size() > 10 ? ", ..." : "");
  }
  const CveFeedInfo& feed = cves->feed;
  std::string source = feed.path + " (sha256 " + feed.sha256.substr(0, 16) + ", modified " +
                       formatTime(feed.modified) + ", release " + feed.release +
                       "), /var/lib/dpkg/status";
  std::string expected = "at most " + std::to_string(spec.max_fixable_cves()) +
                         " CVEs whose fixed version is not installed";
  return fixable.size() <= spec.max_fixable_cves() ? CheckOutcome::pass(observed, expected, source)
                                                   : CheckOutcome::fail(observed, expected, source);
}

}  // namespace

CheckOutcome runPatchCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.patches();
  std::vector<CheckOutcome> outcomes;
  if (spec.has_max_security_updates()) {
    const auto& updates = context.updates();
    if (!updates.ok()) return CheckOutcome::error(updates.error().message());
    std::vector<std::string> names;
    for (const auto& p : updates->pending) {
      if (!p.security) continue;
      std::string name = p.name + " " + p.candidate_version;
      if (!p.advisories.empty()) name += " (" + joinList(p.advisories) + ")";
      names.push_back(std::move(name));
    }
    std::string observed = std::to_string(names.size()) + " pending security updates (" +
                           std::to_string(updates->pending.size()) + " pending in all)";
    if (!names.empty()) {
      std::vector<std::string> first(names.begin(),
                                     names.begin() + std::min<size_t>(names.size(), 10));
      observed += ": " + joinList(first) + (names.size() > 10 ? ", ..." : "");
    }
    std::string expected =
        "at most " + std::to_string(spec.max_security_updates()) + " pending security updates";
    outcomes.push_back(names.size() <= spec.max_security_updates()
                           ? CheckOutcome::pass(observed, expected, updates->source)
                           : CheckOutcome::fail(observed, expected, updates->source));
  }
  if (spec.max_days_since_update() > 0) {
    const LastPackageChange& change = context.lastPackageChange();
    std::string expected =
        "a package change within " + std::to_string(spec.max_days_since_update()) + " days";
    if (!change.when) {
      outcomes.push_back(CheckOutcome::error("no record of package changes", change.source));
    } else {
      auto days =
          std::chrono::duration_cast<std::chrono::hours>(context.options().now - *change.when)
              .count() /
          24;
      std::string observed = std::to_string(days) + " days since the last package change (" +
                             formatTime(*change.when) + ")";
      outcomes.push_back(days <= spec.max_days_since_update()
                             ? CheckOutcome::pass(observed, expected, change.source)
                             : CheckOutcome::fail(observed, expected, change.source));
    }
  }
  if (spec.kernel_current()) {
    const KernelStatus& k = context.kernel();
    std::string expected = "running the newest installed kernel, no reboot pending";
    if (!context.live()) {
      outcomes.push_back(CheckOutcome::notApplicable("an image runs no kernel"));
    } else {
      std::string observed = "running " + k.running + ", newest installed " +
                             (k.newest_installed.empty() ? "unknown" : k.newest_installed);
      if (k.reboot_flag) {
        observed +=
            "; reboot required" +
            (k.reboot_flag_packages.empty() ? "" : " by " + joinList(k.reboot_flag_packages));
      }
      bool ok = !k.newer_kernel_installed && !k.reboot_flag;
      std::string source = "/proc/sys/kernel/osrelease, /boot, " + k.reboot_source;
      outcomes.push_back(ok ? CheckOutcome::pass(observed, expected, source)
                            : CheckOutcome::fail(observed, expected, source));
    }
  }
  if (spec.has_max_fixable_cves()) outcomes.push_back(fixableCveOutcome(spec, context));
  return combineOutcomes(outcomes);
}

void validatePatchCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  const auto& p = check.patches();
  if (!p.has_max_security_updates() && p.max_days_since_update() == 0 && !p.kernel_current() &&
      !p.has_max_fixable_cves()) {
    problems.push_back(
        "give max_security_updates, max_days_since_update, kernel_current or max_fixable_cves");
  }
}

CheckOutcome runListenerCheck(const rules::v1::Check& check, ScanContext& context) {
  if (!context.live()) return CheckOutcome::notApplicable("an image has no listening sockets");
  const auto& allowed = context.options().allowed_listeners;
  if (allowed.empty()) {
    return CheckOutcome::notApplicable(
        "no listener policy: posture.allowed_listeners is empty in the config");
  }
  const auto& scan = context.listeners();
  if (!scan.ok()) return CheckOutcome::error(scan.error().message());
  std::vector<std::string> unexpected;
  size_t considered = 0;
  for (const auto& l : scan->listeners) {
    if (l.exposure == Exposure::kLoopback && !check.listeners().include_loopback()) continue;
    ++considered;
    if (!listenerAllowed(l, allowed)) unexpected.push_back(describeListener(l));
  }
  std::string expected = "only the listeners in posture.allowed_listeners";
  std::string source = "/proc/net/{tcp,tcp6,udp,udp6}, /proc/PID/fd";
  if (unexpected.empty()) {
    return CheckOutcome::pass(std::to_string(considered) + " listeners, all allowed", expected,
                              source);
  }
  return CheckOutcome::fail("not allowed: " + joinList(unexpected), expected, source);
}

void validateListenerCheck(const rules::v1::Check&, std::vector<std::string>&) {}

CheckOutcome runEncryptionCheck(const rules::v1::Check&, ScanContext& context) {
  if (!context.live()) {
    return CheckOutcome::notApplicable("block devices are seen on the running host only");
  }
  const auto& volumes = context.volumes();
  if (!volumes.ok()) return CheckOutcome::error(volumes.error().message());
  std::vector<CheckOutcome> outcomes;
  std::string expected = "encrypted storage under every filesystem and swap area";
  for (const auto& v : *volumes) {
    std::string observed = v.mount_point + " on " + v.device + ": " +
                           std::string(verdictName(v.verdict)) + " (" + v.reason + ")";
    std::string source = "/proc/mounts, /sys/class/block";
    switch (v.verdict) {
      case EncryptionVerdict::kEncrypted:
        outcomes.push_back(CheckOutcome::pass(observed, expected, source));
        break;
      case EncryptionVerdict::kNotEncrypted:
        outcomes.push_back(CheckOutcome::fail(observed, expected, source));
        break;
      default:
        outcomes.push_back(CheckOutcome::error(observed, source));
        break;
    }
  }
  return combineOutcomes(outcomes);
}

void validateEncryptionCheck(const rules::v1::Check&, std::vector<std::string>&) {}

}  // namespace demarc::posture
