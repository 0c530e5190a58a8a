#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace demarc::report {

// Text for HTML element content and attribute values.
std::string htmlEscape(std::string_view text);

// Text inside <script type="application/json">: "</" cannot end the element.
std::string scriptSafeJson(const nlohmann::json& value);

// Opening of a self-contained page (no external scripts, fonts or requests;
// a print stylesheet), up to and including <body>.
std::string pageStart(std::string_view title);
std::string pageEnd();

// Horizontal bars, each a stack of (value, css class) segments, labelled;
// inline SVG that prints.
struct BarRow {
  std::string label;
  std::vector<std::pair<double, std::string>> segments;
};
std::string svgBars(std::string_view title, const std::vector<BarRow>& rows);

// A line per series over labelled points (nulls skipped); inline SVG.
struct Series {
  std::string name;
  std::string css_class;
  std::vector<std::optional<double>> values;
};
std::string svgLines(std::string_view title, const std::vector<std::string>& labels,
                     const std::vector<Series>& series);

// The auditor's report page from PostureReport::summary().
std::string renderReportHtml(const nlohmann::json& summary);

}  // namespace demarc::report
