#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/evidence/record.pb.h"
#include "agent/evidence/verify.pb.h"

namespace demarc::report {

// The frameworks the rule packs reference, in the order a report lists
// them, with the names auditors know them by.
struct Framework {
  std::string key;  // as in Finding.references: "nist_800_53"
  std::string title;
};
const std::vector<Framework>& frameworks();

// Whether a batch is of the instance a filter names (instance id, hostname
// or agent id); an empty filter takes every instance.
bool ofInstance(const v1::BatchHeader& header, const std::string& instance);

// What `demarc report` shows, built one verified record at a time: memory
// grows with the number of instances, rules and scans, not with telemetry.
class PostureReport {
 public:
  struct Filter {
    std::string instance;  // instance id or agent id; empty: all
    std::optional<SystemTime> since, until;
  };
  explicit PostureReport(Filter filter) : filter_(std::move(filter)) {}

  // A record of a verified batch (header: that batch's header).
  void add(const v1::BatchHeader& header, const v1::Record& record);
  // The JSON summary: verification first, then per instance posture by
  // framework, the chart series and the fleet rows.
  nlohmann::json summary(const verify::v1::Report& verification) const;

 private:
  struct Scan {
    std::string scan_id;
    SystemTime time{};
    v1::ScanSummary summary;
    uint64_t pending_security = 0;
    uint64_t pending = 0;
    std::optional<int64_t> days_since_update;
    std::vector<std::string> listeners;
  };
  struct Instance {
    std::string agent_id;
    v1::HostIdentity host;
    std::optional<SystemTime> last_heartbeat;
    std::vector<Scan> scans;  // in time order
    // Findings of the newest scan only (an older scan's are replaced).
    std::string findings_scan;
    std::vector<v1::Finding> findings;
    uint64_t process_events = 0, network_events = 0, privilege_events = 0;
  };
  bool wanted(const v1::BatchHeader& header, const v1::Record& record) const;
  Scan& scanFor(Instance& in, const std::string& scan_id, SystemTime t);

  Filter filter_;
  std::map<std::string, Instance> instances_;  // by agent id
};

}  // namespace demarc::report
