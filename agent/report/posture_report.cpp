#include "agent/report/posture_report.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "agent/evidence/codec.h"

namespace demarc::report {
namespace {

using nlohmann::json;

// "SI-2, RA-5" -> {"SI-2", "RA-5"}
std::vector<std::string> controlsOf(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string c = text.substr(start, comma == std::string::npos ? comma : comma - start);
    while (!c.empty() && c.front() == ' ') c.erase(c.begin());
    while (!c.empty() && c.back() == ' ') c.pop_back();
    if (!c.empty()) out.push_back(std::move(c));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// CHECK_STATUS_NOT_APPLICABLE -> not_applicable, SEVERITY_HIGH -> HIGH
std::string enumSuffix(const std::string& name, std::string_view prefix, bool lower) {
  std::string out = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  if (lower) {
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  return out;
}

std::string statusName(v1::CheckStatus s) {
  return enumSuffix(v1::CheckStatus_Name(s), "CHECK_STATUS_", true);
}

std::string severityName(v1::Severity s) {
  return enumSuffix(v1::Severity_Name(s), "SEVERITY_", false);
}

// "12 days since the last package change (...)" -> 12
std::optional<int64_t> leadingNumber(const std::string& text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  return v;
}

json findingJson(const v1::Finding& f) {
  json refs = json::object();
  for (const auto& [k, v] : f.references()) refs[k] = v;
  return {{"rule_id", f.rule_id()},
          {"title", f.title()},
          {"status", statusName(f.status())},
          {"severity", severityName(f.severity())},
          {"observed", f.observed()},
          {"expected", f.expected()},
          {"source", f.source()},
          {"remediation", f.remediation()},
          {"pack", f.pack()},
          {"references", refs}};
}

}  // namespace

const std::vector<Framework>& frameworks() {
  static const std::vector<Framework> kFrameworks = {
      {"cis", "CIS Benchmarks"},        {"nist_800_53", "NIST SP 800-53"},
      {"pci_dss_4", "PCI DSS v4.0"},    {"iso_27001_2022", "ISO/IEC 27001:2022 Annex A"},
      {"hipaa", "HIPAA Security Rule"},
  };
  return kFrameworks;
}

bool ofInstance(const v1::BatchHeader& header, const std::string& instance) {
  return instance.empty() || header.host().instance_id() == instance ||
         header.host().hostname() == instance || header.agent_id() == instance;
}

bool PostureReport::wanted(const v1::BatchHeader& header, const v1::Record& record) const {
  if (!ofInstance(header, filter_.instance)) return false;
  SystemTime t = evidence::fromTimestamp(record.time());
  if (filter_.since && t < *filter_.since) return false;
  if (filter_.until && t > *filter_.until) return false;
  return true;
}

PostureReport::Scan& PostureReport::scanFor(Instance& in, const std::string& scan_id,
                                            SystemTime t) {
  for (auto it = in.scans.rbegin(); it != in.scans.rend(); ++it) {
    if (it->scan_id == scan_id) return *it;
  }
  Scan scan;
  scan.scan_id = scan_id;
  scan.time = t;
  auto at = std::upper_bound(in.scans.begin(), in.scans.end(), t,
                             [](SystemTime v, const Scan& s) { return v < s.time; });
  return *in.scans.insert(at, std::move(scan));
}

void PostureReport::add(const v1::BatchHeader& header, const v1::Record& record) {
  if (!wanted(header, record)) return;
  Instance& in = instances_[header.agent_id()];
  in.agent_id = header.agent_id();
  in.host = header.host();
  SystemTime t = evidence::fromTimestamp(record.time());
  switch (record.kind_case()) {
    case v1::Record::kHeartbeat:
      in.last_heartbeat = in.last_heartbeat ? std::max(*in.last_heartbeat, t) : t;
      break;
    case v1::Record::kScan: {
      Scan& scan = scanFor(in, record.scan().scan_id(), t);
      scan.summary = record.scan();
      break;
    }
    case v1::Record::kFinding: {
      const v1::Finding& f = record.finding();
      Scan& scan = scanFor(in, f.scan_id(), t);
      if (f.rule_id() == "patch-recent") scan.days_since_update = leadingNumber(f.observed());
      // Keep the findings of the newest scan.
      if (in.findings_scan != f.scan_id()) {
        if (!in.scans.empty() && in.scans.back().scan_id != f.scan_id()) break;  // older
        in.findings_scan = f.scan_id();
        in.findings.clear();
      }
      in.findings.push_back(f);
      break;
    }
    case v1::Record::kInventory: {
      const v1::InventoryItem& item = record.inventory();
      Scan& scan = scanFor(in, item.scan_id(), t);
      if (item.kind() == "pending_update") {
        ++scan.pending;
        auto sec = item.attributes().find("security");
        if (sec != item.attributes().end() && sec->second == "true") ++scan.pending_security;
      } else if (item.kind() == "listener") {
        scan.listeners.push_back(item.name());
      }
      break;
    }
    case v1::Record::kProcess:
      ++in.process_events;
      break;
    case v1::Record::kNetwork:
      ++in.network_events;
      break;
    case v1::Record::kPrivilege:
      ++in.privilege_events;
      break;
    default:
      break;
  }
}

json PostureReport::summary(const verify::v1::Report& verification) const {
  json out;
  // Verification first: what the rest stands on.
  json v;
  v["ok"] = verification.ok();
  v["path"] = verification.path();
  v["verified_at"] = verification.verified_at();
  v["files"] = verification.files();
  v["agents"] = json::array();
  for (const auto& a : verification.agents()) {
    json agent = {{"agent_id", a.agent_id()},
                  {"instance_id", a.host().instance_id()},
                  {"hostname", a.host().hostname()},
                  {"batches_found", a.batches_found()},
                  {"batches_verified", a.batches_verified()},
                  {"records_verified", a.records_verified()},
                  {"first_time", a.first_time()},
                  {"last_time", a.last_time()}};
    agent["keys"] = json::array();
    for (const auto& k : a.keys())
      agent["keys"].push_back({{"key_id", k.key_id()}, {"source", k.source()}});
    agent["defects"] = json::array();
    agent["heartbeat_gaps"] = json::array();
    for (const auto& d : a.defects()) {
      json defect = {{"kind", d.kind()},
                     {"message", d.message()},
                     {"file", d.file()},
                     {"sequence", d.sequence()}};
      if (d.kind() == "heartbeat_silence") agent["heartbeat_gaps"].push_back(defect);
      agent["defects"].push_back(std::move(defect));
    }
    agent["declared_gaps"] = json::array();
    for (const auto& g : a.gaps()) {
      agent["declared_gaps"].push_back({{"sequence", g.sequence()},
                                        {"reason", g.gap().reason()},
                                        {"records_lost", g.gap().records_lost()}});
    }
    agent["drops"] = json::object();
    for (const auto& [k, n] : a.drops()) agent["drops"][k] = n;
    agent["notes"] = a.notes();
    v["agents"].push_back(std::move(agent));
  }
  v["unattributed"] = json::array();
  for (const auto& d : verification.unattributed()) {
    v["unattributed"].push_back({{"kind", d.kind()}, {"message", d.message()}, {"file", d.file()}});
  }
  out["verification"] = std::move(v);

  out["instances"] = json::array();
  out["fleet"] = json::array();
  for (const auto& [agent_id, in] : instances_) {
    json inst;
    inst["agent_id"] = agent_id;
    inst["instance_id"] = in.host.instance_id();
    inst["hostname"] = in.host.hostname();
    inst["account_id"] = in.host.account_id();
    inst["region"] = in.host.region();
    inst["last_heartbeat"] = in.last_heartbeat ? formatTime(*in.last_heartbeat) : "";
    inst["telemetry"] = {{"process_events", in.process_events},
                         {"network_events", in.network_events},
                         {"privilege_events", in.privilege_events}};
    const Scan* newest = nullptr;
    for (const Scan& s : in.scans) {
      if (s.scan_id == in.findings_scan) newest = &s;
    }
    uint64_t pass = 0, fail = 0, high = 0;
    std::map<std::string, std::map<std::string, std::pair<uint64_t, uint64_t>>> controls;
    std::map<std::string, std::pair<uint64_t, uint64_t>> sections;  // pack -> pass, fail
    std::map<std::string, uint64_t> by_severity;
    json failing = json::array();
    for (const v1::Finding& f : in.findings) {
      bool passed = f.status() == v1::CHECK_STATUS_PASS;
      bool failed = f.status() == v1::CHECK_STATUS_FAIL;
      if (!passed && !failed) continue;
      pass += passed;
      fail += failed;
      auto& section = sections[f.pack().empty() ? "other" : f.pack()];
      (passed ? section.first : section.second) += 1;
      if (failed) {
        ++by_severity[severityName(f.severity())];
        if (f.severity() >= v1::SEVERITY_HIGH) ++high;
        failing.push_back(findingJson(f));
      }
      for (const auto& [framework, text] : f.references()) {
        for (const std::string& control : controlsOf(text)) {
          auto& counts = controls[framework][control];
          (passed ? counts.first : counts.second) += 1;
        }
      }
    }
    std::stable_sort(failing.begin(), failing.end(), [](const json& a, const json& b) {
      static const std::vector<std::string> order = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"};
      auto rank = [&](const json& j) {
        auto it = std::find(order.begin(), order.end(), j["severity"].get<std::string>());
        return it - order.begin();
      };
      return rank(a) < rank(b);
    });
    inst["scan"] = newest ? json{{"scan_id", newest->scan_id},
                                 {"time", formatTime(newest->time)},
                                 {"os", newest->summary.os()},
                                 {"rules", newest->summary.rules()}}
                          : json(nullptr);
    inst["pass"] = pass;
    inst["fail"] = fail;
    double score =
        pass + fail ? 100.0 * static_cast<double>(pass) / static_cast<double>(pass + fail) : 0;
    inst["score"] = static_cast<double>(static_cast<int64_t>(score * 10 + 0.5)) / 10;
    inst["open_high"] = high;
    json fw = json::array();
    for (const Framework& framework : frameworks()) {
      json entry = {{"key", framework.key}, {"title", framework.title}};
      json rows = json::array();
      uint64_t fp = 0, ff = 0;
      auto it = controls.find(framework.key);
      if (it != controls.end()) {
        for (const auto& [control, counts] : it->second) {
          rows.push_back({{"control", control}, {"pass", counts.first}, {"fail", counts.second}});
          fp += counts.first;
          ff += counts.second;
        }
      }
      entry["controls"] = std::move(rows);
      entry["pass"] = fp;
      entry["fail"] = ff;
      fw.push_back(std::move(entry));
    }
    inst["frameworks"] = std::move(fw);
    inst["failing"] = std::move(failing);
    json charts;
    charts["sections"] = json::array();
    for (const auto& [pack, counts] : sections) {
      charts["sections"].push_back(
          {{"section", pack}, {"pass", counts.first}, {"fail", counts.second}});
    }
    charts["severity"] = json::array();
    for (const char* s : {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"}) {
      auto found = by_severity.find(s);
      charts["severity"].push_back(
          {{"severity", s}, {"fail", found == by_severity.end() ? 0 : found->second}});
    }
    charts["scans"] = json::array();
    for (const Scan& s : in.scans) {
      json point = {{"time", formatTime(s.time)},
                    {"pending_updates", s.pending},
                    {"pending_security_updates", s.pending_security},
                    {"listening_ports", s.listeners.size()},
                    {"pass", s.summary.pass()},
                    {"fail", s.summary.fail()}};
      point["days_since_update"] = s.days_since_update ? json(*s.days_since_update) : json(nullptr);
      charts["scans"].push_back(std::move(point));
    }
    inst["charts"] = std::move(charts);
    inst["listening_ports"] = newest ? json(newest->listeners) : json::array();
    out["fleet"].push_back({{"agent_id", agent_id},
                            {"instance_id", in.host.instance_id()},
                            {"hostname", in.host.hostname()},
                            {"score", inst["score"]},
                            {"last_heartbeat", inst["last_heartbeat"]},
                            {"open_high", high}});
    out["instances"].push_back(std::move(inst));
  }
  return out;
}

}  // namespace demarc::report
