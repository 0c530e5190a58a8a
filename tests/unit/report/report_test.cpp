// The report and the timeline from records made here (no kernel, no
// sealing): aggregation, filters, gaps, and the two JSON forms agreeing.
#include <gtest/gtest.h>

#include <sstream>

#include "agent/evidence/codec.h"
#include "agent/report/html.h"
#include "agent/report/posture_report.h"
#include "agent/report/timeline.h"

namespace demarc::report {
namespace {

using nlohmann::json;

SystemTime at(int64_t seconds) { return fromUnixTime(1764500000 + seconds); }

v1::BatchHeader headerOf(const std::string& agent, const std::string& instance) {
  v1::BatchHeader h;
  h.set_agent_id(agent);
  h.mutable_host()->set_instance_id(instance);
  h.mutable_host()->set_hostname("host-" + instance);
  return h;
}

v1::Record finding(int64_t t, const std::string& scan, const std::string& rule, bool pass,
                   v1::Severity severity, const std::string& nist, const std::string& pack) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  auto& f = *r.mutable_finding();
  f.set_rule_id(rule);
  f.set_scan_id(scan);
  f.set_status(pass ? v1::CHECK_STATUS_PASS : v1::CHECK_STATUS_FAIL);
  f.set_severity(severity);
  f.set_pack(pack);
  f.set_observed("seen " + rule);
  f.set_source("/etc/" + rule);
  (*f.mutable_references())["nist_800_53"] = nist;
  (*f.mutable_references())["hipaa"] = "164.312(b)";
  return r;
}

v1::Record scanSummary(int64_t t, const std::string& scan, uint32_t pass, uint32_t fail) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  r.mutable_scan()->set_scan_id(scan);
  r.mutable_scan()->set_pass(pass);
  r.mutable_scan()->set_fail(fail);
  return r;
}

v1::Record inventory(int64_t t, const std::string& scan, const std::string& kind,
                     const std::string& name, bool security = false) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  auto& i = *r.mutable_inventory();
  i.set_scan_id(scan);
  i.set_kind(kind);
  i.set_name(name);
  if (security) (*i.mutable_attributes())["security"] = "true";
  return r;
}

TEST(PostureReport, NewestScanPerInstanceByFrameworkControlWithChartsAndFleet) {
  PostureReport report({});
  auto a = headerOf("agent-a", "i-a");
  auto b = headerOf("agent-b", "i-b");
  // Instance a: an old scan (replaced), then a newer one.
  report.add(a, finding(0, "s1", "old-rule", false, v1::SEVERITY_CRITICAL, "AC-1", "old"));
  report.add(a, scanSummary(0, "s1", 0, 1));
  report.add(a, inventory(0, "s1", "pending_update", "libc6", true));
  report.add(a, inventory(0, "s1", "listener", "tcp 0.0.0.0:22"));
  report.add(a, finding(100, "s2", "ssh-root", false, v1::SEVERITY_HIGH, "AC-6, IA-2", "ssh"));
  report.add(a, finding(100, "s2", "ssh-proto", true, v1::SEVERITY_MEDIUM, "AC-6", "ssh"));
  report.add(a, finding(100, "s2", "fs-tmp", true, v1::SEVERITY_LOW, "CM-7", "filesystem"));
  auto recent = finding(100, "s2", "patch-recent", false, v1::SEVERITY_MEDIUM, "SI-2", "patches");
  recent.mutable_finding()->set_observed("41 days since the last package change (2026-10-20)");
  report.add(a, recent);
  report.add(a, scanSummary(100, "s2", 2, 2));
  report.add(a, inventory(100, "s2", "listener", "tcp 0.0.0.0:22"));
  report.add(a, inventory(100, "s2", "listener", "tcp 0.0.0.0:443"));
  v1::Record hb;
  *hb.mutable_time() = evidence::toTimestamp(at(130));
  hb.mutable_heartbeat()->set_state(v1::Heartbeat::STATE_RUNNING);
  report.add(a, hb);
  // Instance b: all passing.
  report.add(b, finding(50, "t1", "ssh-root", true, v1::SEVERITY_HIGH, "AC-6", "ssh"));
  report.add(b, scanSummary(50, "t1", 1, 0));

  json s = report.summary(verify::v1::Report());
  ASSERT_EQ(s["instances"].size(), 2u);
  const json& ia = s["instances"][0];
  EXPECT_EQ(ia["instance_id"], "i-a");
  EXPECT_EQ(ia["pass"], 2);
  EXPECT_EQ(ia["fail"], 2);
  EXPECT_EQ(ia["score"], 50.0);
  EXPECT_EQ(ia["open_high"], 1);  // the old scan's CRITICAL is gone
  EXPECT_EQ(ia["last_heartbeat"], formatTime(at(130)));
  ASSERT_EQ(ia["failing"].size(), 2u);
  EXPECT_EQ(ia["failing"][0]["severity"], "HIGH");  // most severe first
  EXPECT_EQ(ia["failing"][0]["observed"], "seen ssh-root");
  json nist;
  for (const json& fw : ia["frameworks"]) {
    if (fw["key"] == "nist_800_53") nist = fw;
  }
  // "AC-6, IA-2" counts once for each control.
  std::map<std::string, std::pair<int, int>> controls;
  for (const json& c : nist["controls"]) controls[c["control"]] = {c["pass"], c["fail"]};
  EXPECT_EQ(controls["AC-6"], std::make_pair(1, 1));
  EXPECT_EQ(controls["IA-2"], std::make_pair(0, 1));
  EXPECT_EQ(controls["CM-7"], std::make_pair(1, 0));
  EXPECT_FALSE(controls.count("AC-1"));
  const json& scans = ia["charts"]["scans"];
  ASSERT_EQ(scans.size(), 2u);
  EXPECT_EQ(scans[0]["pending_security_updates"], 1);
  EXPECT_EQ(scans[0]["listening_ports"], 1);
  EXPECT_EQ(scans[1]["listening_ports"], 2);
  EXPECT_EQ(scans[1]["days_since_update"], 41);
  EXPECT_TRUE(scans[0]["days_since_update"].is_null());
  json severity;
  for (const json& row : ia["charts"]["severity"])
    severity[row["severity"].get<std::string>()] = row["fail"];
  EXPECT_EQ(severity["HIGH"], 1);
  EXPECT_EQ(severity["MEDIUM"], 1);
  EXPECT_EQ(severity["CRITICAL"], 0);
  ASSERT_EQ(s["fleet"].size(), 2u);
  EXPECT_EQ(s["fleet"][1]["score"], 100.0);

  // The page: a fleet table, each instance, nothing escaping its text.
  std::string html = renderReportHtml(s);
  EXPECT_NE(html.find("id=\"fleet-table\""), std::string::npos);
  EXPECT_NE(html.find("i-b"), std::string::npos);
  EXPECT_NE(html.find("seen ssh-root"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);

  // Filters: one instance, a time window.
  PostureReport only_b({"i-b", {}, {}});
  PostureReport before({"", {}, at(60)});
  for (auto* r : {&only_b, &before}) {
    r->add(a, finding(100, "s2", "ssh-root", false, v1::SEVERITY_HIGH, "AC-6", "ssh"));
    r->add(b, finding(50, "t1", "ssh-root", true, v1::SEVERITY_HIGH, "AC-6", "ssh"));
  }
  EXPECT_EQ(only_b.summary({})["instances"].size(), 1u);
  EXPECT_EQ(before.summary({})["instances"][0]["instance_id"], "i-b");
}

TEST(Html, EscapesTextAndScriptData) {
  EXPECT_EQ(htmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  std::string data = scriptSafeJson(json{{"argv", {"</script><script>alert(1)</script>"}}});
  EXPECT_EQ(data.find("</"), std::string::npos);
  EXPECT_EQ(json::parse(data)["argv"][0], "</script><script>alert(1)</script>");
}

v1::Record exec(int64_t t, const std::string& id, uint32_t pid, const std::string& exe,
                std::vector<std::string> ancestry, uint32_t uid = 1000) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  auto& p = *r.mutable_process();
  p.set_kind(v1::ProcessEvent::KIND_EXEC);
  p.set_exec_id(id);
  p.set_pid(pid);
  p.set_uid(uid);
  p.set_euid(uid);
  p.set_executable(exe);
  p.add_argv(exe);
  p.add_argv("--flag with space");
  p.set_cwd("/work");
  for (const auto& a : ancestry) p.add_ancestry()->set_exec_id(a);
  return r;
}

v1::Record connect(int64_t t, const std::string& id, const std::string& remote, uint32_t port,
                   v1::NetworkEvent::Kind kind = v1::NetworkEvent::KIND_CONNECT) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  auto& n = *r.mutable_network();
  n.set_kind(kind);
  n.set_exec_id(id);
  n.set_protocol("tcp");
  n.set_local_address("10.0.0.5");
  n.set_local_port(40000);
  n.set_remote_address(remote);
  n.set_remote_port(port);
  n.set_bytes_sent(kind == v1::NetworkEvent::KIND_CLOSE ? 120 : 0);
  return r;
}

v1::Record setuid(int64_t t, const std::string& id) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  auto& p = *r.mutable_privilege();
  p.set_kind("setuid");
  p.set_syscall("setresuid");
  p.set_exec_id(id);
  p.mutable_before()->set_uid(1000);
  p.mutable_before()->set_euid(1000);
  return r;  // after: uid 0
}

v1::Record heartbeat(int64_t t, v1::Heartbeat::State state) {
  v1::Record r;
  *r.mutable_time() = evidence::toTimestamp(at(t));
  r.mutable_heartbeat()->set_state(state);
  r.mutable_heartbeat()->set_interval_ms(1000);
  return r;
}

std::vector<v1::Record> day() {
  return {heartbeat(0, v1::Heartbeat::STATE_STARTED), exec(1, "init", 1, "/sbin/init", {}, 0),
          exec(2, "sshd", 100, "/usr/sbin/sshd", {"init"}, 0),
          exec(3, "bash", 200, "/bin/bash", {"sshd", "init"}),
          exec(4, "curl", 300, "/usr/bin/curl", {"bash", "sshd", "init"}),
          connect(5, "curl", "203.0.113.7", 443),
          connect(6, "curl", "203.0.113.7", 443, v1::NetworkEvent::KIND_CLOSE),
          exec(7, "cron", 400, "/usr/sbin/cron", {"init"}, 0),
          connect(8, "cron", "198.51.100.1", 80), setuid(8, "bash"),
          heartbeat(9, v1::Heartbeat::STATE_RUNNING),
          // 30 s of silence: a gap (allowed 2 x 1 s + 10 s).
          heartbeat(39, v1::Heartbeat::STATE_RUNNING), heartbeat(40, v1::Heartbeat::STATE_STOPPING),
          // A clean stop and a restart later: not a gap.
          heartbeat(100, v1::Heartbeat::STATE_STARTED)};
}

json timelineOf(Timeline::Filter filter) {
  Timeline t(std::move(filter));
  auto h = headerOf("agent-a", "i-a");
  for (const auto& r : day()) t.add(h, r);
  json built = t.toJson();
  std::ostringstream streamed;
  t.writeJson(streamed);
  EXPECT_EQ(json::parse(streamed.str()), built) << "the streamed JSON differs from the built one";
  return built;
}

std::vector<std::string> ids(const json& timeline) {
  std::vector<std::string> out;
  for (const json& p : timeline["processes"]) out.push_back(p["exec_id"]);
  return out;
}

TEST(Timeline, TreeFiltersAndGaps) {
  json all = timelineOf({});
  EXPECT_EQ(ids(all), (std::vector<std::string>{"init", "sshd", "bash", "curl", "cron"}));
  ASSERT_EQ(all["gaps"].size(), 1u);
  EXPECT_EQ(all["gaps"][0]["last_heartbeat"], formatTime(at(9)));
  EXPECT_EQ(all["gaps"][0]["resumed"], formatTime(at(39)));
  // What did sshd start: itself and below.
  Timeline::Filter f;
  f.exec_id = "sshd";
  EXPECT_EQ(ids(timelineOf(f)), (std::vector<std::string>{"sshd", "bash", "curl"}));
  f = {};
  f.pid = 200;
  EXPECT_EQ(ids(timelineOf(f)), (std::vector<std::string>{"bash", "curl"}));
  // Who talked to an address (and port).
  f = {};
  f.addr = "203.0.113.7";
  json talk = timelineOf(f);
  EXPECT_EQ(ids(talk), (std::vector<std::string>{"curl"}));
  ASSERT_EQ(talk["processes"][0]["connections"].size(), 2u);
  EXPECT_EQ(talk["processes"][0]["connections"][1]["bytes_sent"], 120);
  f = {};
  f.port = 80;
  EXPECT_EQ(ids(timelineOf(f)), (std::vector<std::string>{"cron"}));
  // What ran as root in a window.
  f = {};
  f.uid = 0;
  f.since = at(2);
  EXPECT_EQ(ids(timelineOf(f)), (std::vector<std::string>{"sshd", "cron"}));
  // The text view: indented, arguments quoted as a shell needs them.
  Timeline t({});
  auto h = headerOf("agent-a", "i-a");
  for (const auto& r : day()) t.add(h, r);
  std::ostringstream text;
  t.writeText(text);
  EXPECT_NE(text.str().find("      └ [300] /usr/bin/curl '--flag with space'"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("tcp connect 10.0.0.5:40000 -> 203.0.113.7:443"), std::string::npos);
  EXPECT_NE(text.str().find("!! evidence gap"), std::string::npos);
  EXPECT_NE(text.str().find("privilege setuid (setresuid) uid 1000->0 euid 1000->0"),
            std::string::npos);
  ASSERT_EQ(all["processes"][2]["exec_id"], "bash");
  EXPECT_EQ(all["processes"][2]["privilege"][0]["kind"], "setuid");
  EXPECT_EQ(t.firstGap(), std::make_pair(at(9), at(39)));
}

}  // namespace
}  // namespace demarc::report
