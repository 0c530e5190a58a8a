#include "agent/posture/scanner.h"

#include <algorithm>
#include <exception>

#include "agent/posture/checks/util.h"

namespace demarc::posture {
namespace {

void addRefs(google::protobuf::Map<std::string, std::string>& out, const char* framework,
             const google::protobuf::RepeatedPtrField<std::string>& refs) {
  if (refs.empty()) return;
  out[framework] = joinList({refs.begin(), refs.end()});
}

CheckOutcome evaluateRule(const LoadedRule& lr, ScanContext& context) {
  const rules::v1::Rule& rule = lr.rule;
  if (!lr.platforms.empty()) {
    const auto& os = context.os();
    if (!os.ok()) return CheckOutcome::notApplicable("the OS is unknown: " + os.error().message());
    bool match = false;
    for (const auto& p : lr.platforms) match = match || matchesPlatform(*os, p);
    if (!match) {
      return CheckOutcome::notApplicable(
          "for " + joinList({rule.platforms().begin(), rule.platforms().end()}) + ", not " +
              os->id + " " + os->version_id,
          os->source);
    }
  }
  if (!rule.requires_package().empty()) {
    const auto& packages = context.installedPackages();
    if (packages.ok() && !packages->count(rule.requires_package())) {
      return CheckOutcome::notApplicable(rule.requires_package() + " is not installed",
                                         "package database");
    }
  }
  std::vector<CheckOutcome> outcomes;
  for (const auto& check : rule.checks()) {
    const CheckKind* kind = findCheckKind(check.kind_case());
    if (kind == nullptr) {
      outcomes.push_back(CheckOutcome::error("no such check kind"));
      continue;
    }
    try {
      outcomes.push_back(kind->run(check, context));
    } catch (const std::exception& e) {
      outcomes.push_back(
          CheckOutcome::error(std::string(kind->name) + " check failed: " + e.what()));
    }
  }
  return combineOutcomes(outcomes);
}

demarc::v1::InventoryItem item(std::string kind, std::string name, std::string source) {
  demarc::v1::InventoryItem i;
  i.set_kind(std::move(kind));
  i.set_name(std::move(name));
  i.set_source(std::move(source));
  return i;
}

}  // namespace

size_t ScanReport::count(demarc::v1::CheckStatus status) const {
  size_t n = 0;
  for (const auto& r : results) n += r.outcome.status == status;
  return n;
}

ScanReport runScan(const RuleSet& rules, ScanContext& context,
                   const std::function<bool(const LoadedRule&)>& select) {
  ScanReport report;
  report.started = std::chrono::system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  report.root = context.root().root().string();
  report.live = context.live();
  report.rules_digest = rules.digest;
  const auto& os = context.os();
  report.os = os.ok() ? (os->pretty_name.empty() ? os->id + " " + os->version_id : os->pretty_name)
                      : "unknown (" + os.error().message() + ")";
  for (const auto& lr : rules.rules) {
    if (select && !select(lr)) continue;
    report.results.push_back(RuleResult{&lr, evaluateRule(lr, context)});
  }
  report.elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  return report;
}

demarc::v1::Finding toFinding(const RuleResult& result) {
  const rules::v1::Rule& rule = result.rule->rule;
  demarc::v1::Finding f;
  f.set_rule_id(rule.id());
  f.set_title(rule.title());
  f.set_status(result.outcome.status);
  f.set_severity(rule.severity());
  f.set_observed(result.outcome.observed);
  f.set_expected(result.outcome.expected);
  f.set_source(result.outcome.source);
  f.set_remediation(rule.remediation());
  auto& refs = *f.mutable_references();
  addRefs(refs, "cis", rule.references().cis());
  addRefs(refs, "nist_800_53", rule.references().nist_800_53());
  addRefs(refs, "pci_dss_4", rule.references().pci_dss_4());
  addRefs(refs, "iso_27001_2022", rule.references().iso_27001_2022());
  addRefs(refs, "hipaa", rule.references().hipaa());
  return f;
}

std::vector<demarc::v1::InventoryItem> collectInventory(ScanContext& context) {
  std::vector<demarc::v1::InventoryItem> out;
  if (const auto& os = context.os(); os.ok()) {
    auto i = item("os", os->pretty_name, os->source);
    (*i.mutable_attributes())["id"] = os->id;
    (*i.mutable_attributes())["version_id"] = os->version_id;
    out.push_back(std::move(i));
  }
  const KernelStatus& k = context.kernel();
  if (!k.running.empty() || !k.newest_installed.empty()) {
    auto i = item("kernel", k.running.empty() ? k.newest_installed : k.running,
                  "/proc/sys/kernel/osrelease, /boot");
    (*i.mutable_attributes())["newest_installed"] = k.newest_installed;
    (*i.mutable_attributes())["reboot_required"] = k.reboot_flag ? "true" : "false";
    out.push_back(std::move(i));
  }
  if (const auto& updates = context.updates(); updates.ok()) {
    for (const auto& p : updates->pending) {
      auto i = item("pending_update", p.name, updates->source);
      auto& a = *i.mutable_attributes();
      a["arch"] = p.arch;
      a["installed"] = p.installed_version;
      a["candidate"] = p.candidate_version;
      a["security"] = p.security ? "true" : "false";
      if (!p.suites.empty()) a["suites"] = joinList(p.suites);
      if (!p.advisories.empty()) a["advisories"] = joinList(p.advisories);
      if (!p.cves.empty()) a["cves"] = joinList(p.cves);
      out.push_back(std::move(i));
    }
  }
  if (const auto& cves = context.cves(); cves.ok()) {
    for (const auto& c : cves->open) {
      auto i = item("cve", c.cve, cves->feed.path);
      auto& a = *i.mutable_attributes();
      a["source_package"] = c.source_package;
      a["packages"] = joinList(c.binaries);
      a["installed"] = c.installed_version;
      a["fixed"] = c.fixable() ? c.fixed_version : "none yet";
      a["urgency"] = c.urgency;
      a["feed_sha256"] = cves->feed.sha256;
      out.push_back(std::move(i));
    }
  }
  if (context.live()) {
    if (const auto& scan = context.listeners(); scan.ok()) {
      for (const auto& l : scan->listeners) {
        auto i =
            item("listener",
                 l.socket.protocol + " " + l.socket.address + ":" + std::to_string(l.socket.port),
                 "/proc/net/" + l.socket.protocol + (l.socket.family == 6 ? "6" : ""));
        auto& a = *i.mutable_attributes();
        a["exposure"] = std::string(exposureName(l.exposure));
        a["uid"] = std::to_string(l.socket.uid);
        a["net_namespace"] = l.net_namespace;
        std::vector<std::string> pids, exes;
        for (const auto& o : l.owners) {
          pids.push_back(std::to_string(o.pid));
          exes.push_back(o.executable);
          a["cgroup"] = o.cgroup;
        }
        a["pids"] = joinList(pids);
        a["executables"] = joinList(exes);
        out.push_back(std::move(i));
      }
    }
    if (const auto& volumes = context.volumes(); volumes.ok()) {
      for (const auto& v : *volumes) {
        auto i = item("volume", v.mount_point, "/proc/mounts, /sys/class/block");
        auto& a = *i.mutable_attributes();
        a["device"] = v.device;
        a["fstype"] = v.fstype;
        a["encryption"] = std::string(verdictName(v.verdict));
        a["reason"] = v.reason;
        std::vector<std::string> chain;
        for (const auto& layer : v.chain) chain.push_back(layer.kind + ":" + layer.name);
        a["chain"] = joinList(chain, " > ");
        a["ebs_volume_ids"] = joinList(v.ebs_volume_ids);
        out.push_back(std::move(i));
      }
    }
  }
  return out;
}

std::optional<demarc::v1::CveFeed> cveFeedRecord(ScanContext& context) {
  const auto& cves = context.cves();
  if (!cves.ok()) return std::nullopt;
  demarc::v1::CveFeed feed;
  feed.set_path(cves->feed.path);
  feed.set_sha256(cves->feed.sha256);
  feed.mutable_modified()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(cves->feed.modified.time_since_epoch())
          .count());
  feed.set_release(cves->feed.release);
  feed.set_entries(static_cast<uint32_t>(cves->feed.entries));
  feed.set_open(static_cast<uint32_t>(cves->open.size()));
  feed.set_fixable(static_cast<uint32_t>(std::count_if(
      cves->open.begin(), cves->open.end(), [](const OpenCve& c) { return c.fixable(); })));
  return feed;
}

}  // namespace demarc::posture
