#include "agent/report/html.h"

#include <algorithm>
#include <cstdio>

namespace demarc::report {
namespace {

using nlohmann::json;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  std::string s = buf;
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

constexpr std::string_view kStyle = R"(
:root { --pass: #2e7d32; --fail: #c62828; --warn: #ef6c00; --ink: #1c1c1c; --muted: #666; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 2px solid #ddd; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--pass); font-weight: 600; } .bad { color: var(--fail); font-weight: 600; }
.sev-CRITICAL, .sev-HIGH { color: var(--fail); font-weight: 600; } .sev-MEDIUM { color: var(--warn); }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; color: #fff; font-weight: 600; }
.badge.ok { background: var(--pass); color: #fff; } .badge.bad { background: var(--fail); color: #fff; }
.figures { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.figure b { display: block; font-size: 22px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
svg { width: 100%; height: auto; } svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .pass { fill: var(--pass); } svg .fail { fill: var(--fail); } svg .neutral { fill: #607d8b; }
svg .line-a { stroke: var(--fail); fill: none; stroke-width: 2; }
svg .line-b { stroke: #1565c0; fill: none; stroke-width: 2; }
svg .dot-a { fill: var(--fail); } svg .dot-b { fill: #1565c0; }
details > summary { cursor: pointer; }
code { font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-before: auto; break-after: avoid; } table, .chart { break-inside: avoid; }
  details { display: block; } details > summary { list-style: none; }
  details:not([open]) > *:not(summary) { display: block; }
  a { color: inherit; text-decoration: none; }
}
)";

}  // namespace

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string scriptSafeJson(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      out += "\\u003c";  // inside strings only: JSON has no '<' elsewhere
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string pageStart(std::string_view title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  // Nothing is fetched at view time: no scripts, fonts or images from
  // elsewhere.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n";
  out += "<title>" + htmlEscape(title) + "</title>\n<style>";
  out += kStyle;
  out += "</style></head><body>\n";
  return out;
}

std::string pageEnd() { return "</body></html>\n"; }

std::string svgBars(std::string_view title, const std::vector<BarRow>& rows) {
  double max = 0;
  for (const auto& r : rows) {
    double total = 0;
    for (const auto& [v, cls] : r.segments) total += v;
    max = std::max(max, total);
  }
  const int label_w = 130, bar_w = 260, row_h = 20, top = 22;
  const int height = top + static_cast<int>(rows.size()) * row_h + 8;
  std::string out = "<figure class=\"chart\"><svg viewBox=\"0 0 " +
                    std::to_string(label_w + bar_w + 60) + " " + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"" + htmlEscape(title) + "\">";
  out += "<text x=\"0\" y=\"14\" font-weight=\"600\">" + htmlEscape(title) + "</text>";
  int y = top;
  for (const auto& r : rows) {
    out += "<text x=\"0\" y=\"" + std::to_string(y + 13) + "\">" +
           htmlEscape(r.label.substr(0, 20)) + "</text>";
    double x = label_w;
    for (const auto& [v, cls] : r.segments) {
      double w = max > 0 ? v / max * bar_w : 0;
      if (w > 0) {
        out += "<rect class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + std::to_string(y + 2) +
               "\" width=\"" + num(w) + "\" height=\"" + std::to_string(row_h - 5) + "\"><title>" +
               htmlEscape(r.label) + " " + cls + ": " + num(v) + "</title></rect>";
      }
      x += w;
    }
    std::string counts;
    for (const auto& [v, cls] : r.segments) counts += (counts.empty() ? "" : "/") + num(v);
    out +=
        "<text x=\"" + num(x + 4) + "\" y=\"" + std::to_string(y + 13) + "\">" + counts + "</text>";
    y += row_h;
  }
  out += "</svg></figure>";
  return out;
}

std::string svgLines(std::string_view title, const std::vector<std::string>& labels,
                     const std::vector<Series>& series) {
  const int w = 380, h = 170, left = 36, right = 10, top = 24, bottom = 34;
  double max = 1;
  for (const auto& s : series) {
    for (const auto& v : s.values) {
      if (v) max = std::max(max, *v);
    }
  }
  auto xOf = [&](size_t i) {
    return labels.size() <= 1 ? left + (w - left - right) / 2.0
                              : left + static_cast<double>(i) * (w - left - right) /
                                           static_cast<double>(labels.size() - 1);
  };
  auto yOf = [&](double v) { return top + (h - top - bottom) * (1 - v / max); };
  std::string out = "<figure class=\"chart\"><svg viewBox=\"0 0 " + std::to_string(w) + " " +
                    std::to_string(h) + "\" role=\"img\" aria-label=\"" + htmlEscape(title) + "\">";
  out += "<text x=\"0\" y=\"14\" font-weight=\"600\">" + htmlEscape(title) + "</text>";
  out += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(h - bottom) +
         "\" x2=\"" + std::to_string(w - right) + "\" y2=\"" + std::to_string(h - bottom) +
         "\" stroke=\"#999\"/>";
  out += "<text x=\"2\" y=\"" + num(yOf(max) + 4) + "\">" + num(max) + "</text>";
  out += "<text x=\"2\" y=\"" + std::to_string(h - bottom) + "\">0</text>";
  if (!labels.empty()) {
    out += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(h - bottom + 14) +
           "\">" + htmlEscape(labels.front().substr(0, 16)) + "</text>";
    if (labels.size() > 1) {
      out += "<text x=\"" + std::to_string(w - right) + "\" y=\"" +
             std::to_string(h - bottom + 14) + "\" text-anchor=\"end\">" +
             htmlEscape(labels.back().substr(0, 16)) + "</text>";
    }
  }
  int legend_x = left;
  for (const auto& s : series) {
    std::string points;
    for (size_t i = 0; i < s.values.size() && i < labels.size(); ++i) {
      if (!s.values[i]) continue;
      points += num(xOf(i)) + "," + num(yOf(*s.values[i])) + " ";
      out += "<circle class=\"dot-" + s.css_class + "\" cx=\"" + num(xOf(i)) + "\" cy=\"" +
             num(yOf(*s.values[i])) + "\" r=\"3\"><title>" + htmlEscape(labels[i]) + ": " +
             htmlEscape(s.name) + " " + num(*s.values[i]) + "</title></circle>";
    }
    if (!points.empty())
      out += "<polyline class=\"line-" + s.css_class + "\" points=\"" + points + "\"/>";
    out += "<rect class=\"dot-" + s.css_class + "\" x=\"" + std::to_string(legend_x) + "\" y=\"" +
           std::to_string(h - 12) + "\" width=\"10\" height=\"10\"/><text x=\"" +
           std::to_string(legend_x + 14) + "\" y=\"" + std::to_string(h - 3) + "\">" +
           htmlEscape(s.name) + "</text>";
    legend_x += 14 + static_cast<int>(s.name.size()) * 6 + 16;
  }
  out += "</svg></figure>";
  return out;
}

std::string renderReportHtml(const json& summary) {
  const json& v = summary["verification"];
  std::string out = pageStart("demarc evidence report");
  out += "<h1>Evidence report</h1><p class=\"meta\">Source <code>" + htmlEscape(str(v, "path")) +
         "</code>, verified at " + htmlEscape(str(v, "verified_at")) + "</p>\n";

  // Verification first: everything below stands on it.
  bool ok = v.value("ok", false);
  out += "<h2 id=\"verification\">Verification</h2><p><span class=\"badge " +
         std::string(ok ? "ok" : "bad") + "\" id=\"verification-result\">" +
         (ok ? "VERIFIED" : "DEFECTS FOUND") + "</span> " + str(v, "files") +
         " objects read. Only records of batches that verified are used below; batches that "
         "failed are listed here and nowhere else.</p>\n";
  out +=
      "<table id=\"verification-table\"><tr><th>Instance</th><th class=n>Batches verified</th>"
      "<th>Time covered</th><th>Key</th><th class=n>Heartbeat gaps</th><th>Drop counters</th>"
      "<th>Defects</th></tr>\n";
  for (const json& a : v["agents"]) {
    std::string keys;
    for (const json& k : a["keys"]) {
      keys += "<code>" + htmlEscape(str(k, "key_id").substr(0, 16)) + "…</code> " +
              htmlEscape(str(k, "source")) + "<br>";
    }
    std::string drops;
    for (const auto& [k, n] : a["drops"].items()) {
      drops += htmlEscape(k) + ": " + n.dump() + "<br>";
    }
    std::string defects;
    for (const json& d : a["defects"]) {
      defects += "<span class=bad>" + htmlEscape(str(d, "kind")) +
                 "</span>: " + htmlEscape(str(d, "message")) + "<br>";
    }
    out += "<tr><td>" +
           htmlEscape(str(a, "instance_id").empty() ? str(a, "hostname") : str(a, "instance_id")) +
           "<br><span class=meta>agent " + htmlEscape(str(a, "agent_id").substr(0, 8)) +
           "</span></td><td class=n>" + str(a, "batches_verified") + " of " +
           str(a, "batches_found") + "</td><td>" + htmlEscape(str(a, "first_time")) + " →<br>" +
           htmlEscape(str(a, "last_time")) + "</td><td>" + keys + "</td><td class=n>" +
           std::to_string(a["heartbeat_gaps"].size()) + "</td><td>" +
           (drops.empty() ? "none" : drops) + "</td><td>" +
           (defects.empty() ? "<span class=ok>none</span>" : defects) + "</td></tr>\n";
  }
  for (const json& d : v["unattributed"]) {
    out += "<tr><td colspan=6>" + htmlEscape(str(d, "file")) + "</td><td><span class=bad>" +
           htmlEscape(str(d, "kind")) + "</span>: " + htmlEscape(str(d, "message")) +
           "</td></tr>\n";
  }
  out += "</table>\n";

  const json& instances = summary["instances"];
  if (instances.size() > 1) {
    out +=
        "<h2 id=\"fleet\">Fleet</h2><table id=\"fleet-table\"><tr><th>Instance</th><th>Host</th>"
        "<th class=n>Score</th><th>Last heartbeat</th><th class=n>Open HIGH findings</th></tr>\n";
    for (const json& row : summary["fleet"]) {
      out += "<tr><td><a href=\"#i-" + htmlEscape(str(row, "agent_id")) + "\">" +
             htmlEscape(str(row, "instance_id")) + "</a></td><td>" +
             htmlEscape(str(row, "hostname")) + "</td><td class=n>" +
             num(row["score"].get<double>()) + "%</td><td>" +
             htmlEscape(str(row, "last_heartbeat")) + "</td><td class=n>" + str(row, "open_high") +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }

  for (const json& in : instances) {
    std::string name =
        str(in, "instance_id").empty() ? str(in, "hostname") : str(in, "instance_id");
    out += "<h2 id=\"i-" + htmlEscape(str(in, "agent_id")) + "\">" + htmlEscape(name) + "</h2>";
    out += "<p class=meta>" + htmlEscape(str(in, "hostname")) + " · account " +
           htmlEscape(str(in, "account_id")) + " · " + htmlEscape(str(in, "region")) +
           (in["scan"].is_null() ? std::string(" · no posture scan in the evidence")
                                 : " · scan " + htmlEscape(str(in["scan"], "time")) + " (" +
                                       htmlEscape(str(in["scan"], "os")) + ")") +
           "</p>";
    out += "<div class=figures><div class=figure>Score<b class=score>" +
           num(in["score"].get<double>()) +
           "%</b></div><div class=figure>Passing rules<b class=pass-count>" + str(in, "pass") +
           "</b></div><div class=figure>Failing rules<b class=fail-count>" + str(in, "fail") +
           "</b></div><div class=figure>Open HIGH/CRITICAL<b class=high-count>" +
           str(in, "open_high") +
           "</b></div><div class=figure>Last heartbeat<b style=\"font-size:13px\">" +
           htmlEscape(str(in, "last_heartbeat")) + "</b></div></div>\n";

    // Charts.
    const json& charts = in["charts"];
    std::vector<BarRow> sections, severity;
    for (const json& s : charts["sections"]) {
      sections.push_back({str(s, "section"),
                          {{s["pass"].get<double>(), "pass"}, {s["fail"].get<double>(), "fail"}}});
    }
    for (const json& s : charts["severity"]) {
      severity.push_back({str(s, "severity"), {{s["fail"].get<double>(), "fail"}}});
    }
    std::vector<std::string> labels;
    Series age{"days since last update", "b", {}}, security{"pending security updates", "a", {}};
    Series ports{"listening ports", "b", {}};
    for (const json& p : charts["scans"]) {
      labels.push_back(str(p, "time"));
      age.values.push_back(p["days_since_update"].is_null()
                               ? std::nullopt
                               : std::optional<double>(p["days_since_update"].get<double>()));
      security.values.push_back(p["pending_security_updates"].get<double>());
      ports.values.push_back(p["listening_ports"].get<double>());
    }
    out += "<div class=charts>" + svgBars("Rules passing / failing per section", sections) +
           svgBars("Failing findings by severity", severity) +
           svgLines("Patch age and pending security updates", labels, {age, security}) +
           svgLines("Listening ports over time", labels, {ports}) + "</div>\n";

    // Posture by framework.
    out += "<h3>Posture by framework</h3>";
    for (const json& fw : in["frameworks"]) {
      out += "<details class=framework" +
             std::string(fw["fail"].get<uint64_t>() > 0 ? " open" : "") + "><summary><b>" +
             htmlEscape(str(fw, "title")) + "</b>: " + str(fw, "pass") + " passing and " +
             str(fw, "fail") + " failing checks over " + std::to_string(fw["controls"].size()) +
             " controls</summary><table><tr><th>Control</th>"
             "<th class=n>Pass</th><th class=n>Fail</th></tr>";
      for (const json& c : fw["controls"]) {
        bool failing = c["fail"].get<uint64_t>() > 0;
        out += "<tr><td>" + htmlEscape(str(c, "control")) + "</td><td class=n>" + str(c, "pass") +
               "</td><td class=\"n" + std::string(failing ? " bad" : "") + "\">" + str(c, "fail") +
               "</td></tr>";
      }
      out += "</table></details>\n";
    }

    out +=
        "<h3>Failing findings</h3><table class=findings><tr><th>Severity</th><th>Rule</th>"
        "<th>Observed</th><th>Source</th><th>Remediation</th></tr>\n";
    for (const json& f : in["failing"]) {
      std::string refs;
      for (const auto& [k, val] : f["references"].items()) {
        refs += htmlEscape(k) + " " + htmlEscape(val.get<std::string>()) + "; ";
      }
      out += "<tr><td class=\"sev-" + htmlEscape(str(f, "severity")) + "\">" +
             htmlEscape(str(f, "severity")) + "</td><td><b>" + htmlEscape(str(f, "title")) +
             "</b><br><code>" + htmlEscape(str(f, "rule_id")) + "</code><br><span class=meta>" +
             refs + "</span></td><td>" + htmlEscape(str(f, "observed")) +
             "<br><span class=meta>expected: " + htmlEscape(str(f, "expected")) +
             "</span></td><td><code>" + htmlEscape(str(f, "source")) + "</code></td><td>" +
             htmlEscape(str(f, "remediation")) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += pageEnd();
  return out;
}

}  // namespace demarc::report
