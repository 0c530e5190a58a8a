#include "agent/posture/checks/check.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace demarc::posture {
namespace {

using demarc::v1::CheckStatus;

int rank(CheckStatus s) {
  switch (s) {
    case demarc::v1::CHECK_STATUS_NOT_APPLICABLE:
      return 0;
    case demarc::v1::CHECK_STATUS_PASS:
      return 1;
    case demarc::v1::CHECK_STATUS_FAIL:
      return 2;
    default:
      return 3;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool parseNumber(std::string_view s, double* out) {
  std::string t = trim(s);
  if (t.empty()) return false;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && ptr == t.data() + t.size() && std::isfinite(*out);
}

std::string formatNumber(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

void append(std::string& out, std::string_view sep, std::string_view part) {
  if (part.empty()) return;
  if (!out.empty()) out += sep;
  out += part;
}

}  // namespace

CheckOutcome CheckOutcome::pass(std::string observed, std::string expected, std::string source) {
  return {demarc::v1::CHECK_STATUS_PASS, std::move(observed), std::move(expected),
          std::move(source)};
}
CheckOutcome CheckOutcome::fail(std::string observed, std::string expected, std::string source) {
  return {demarc::v1::CHECK_STATUS_FAIL, std::move(observed), std::move(expected),
          std::move(source)};
}
CheckOutcome CheckOutcome::notApplicable(std::string reason, std::string source) {
  return {demarc::v1::CHECK_STATUS_NOT_APPLICABLE, std::move(reason), "", std::move(source)};
}
CheckOutcome CheckOutcome::error(std::string reason, std::string source) {
  return {demarc::v1::CHECK_STATUS_ERROR, std::move(reason), "", std::move(source)};
}

CheckOutcome combineOutcomes(const std::vector<CheckOutcome>& outcomes) {
  if (outcomes.empty()) return CheckOutcome::notApplicable("nothing to check");
  if (outcomes.size() == 1) return outcomes.front();
  CheckOutcome out;
  out.status = demarc::v1::CHECK_STATUS_NOT_APPLICABLE;
  std::set<std::string> sources;
  std::set<std::string> expectations;
  for (const auto& o : outcomes) {
    if (rank(o.status) > rank(out.status)) out.status = o.status;
  }
  // A rule that passes on some parts and is not applicable to others passes.
  for (const auto& o : outcomes) {
    append(out.observed, "; ", o.observed);
    if (expectations.insert(o.expected).second) append(out.expected, "; ", o.expected);
    if (!o.source.empty() && sources.insert(o.source).second) append(out.source, ", ", o.source);
  }
  return out;
}

ExpectVerdict evaluateExpect(const rules::v1::Expect& expect, std::string_view raw) {
  ExpectVerdict verdict;
  verdict.expected = describeExpect(expect);
  std::string value = trim(raw);
  std::string value_lower = lower(value);
  bool ok = true;
  if (expect.any_of_size() > 0) {
    ok = ok && std::any_of(expect.any_of().begin(), expect.any_of().end(),
                           [&](const std::string& a) { return lower(a) == value_lower; });
  }
  double number = 0;
  bool numeric = parseNumber(value, &number);
  if (expect.has_min()) ok = ok && numeric && number >= expect.min();
  if (expect.has_max()) ok = ok && numeric && number <= expect.max();
  if (expect.nonzero()) ok = ok && numeric && number != 0;
  if (expect.none_of_size() > 0) {
    size_t pos = 0;
    while (pos <= value_lower.size()) {
      size_t comma = value_lower.find(',', pos);
      if (comma == std::string::npos) comma = value_lower.size();
      std::string item = trim(std::string_view(value_lower).substr(pos, comma - pos));
      for (const auto& bad : expect.none_of()) {
        if (lower(bad) == item) ok = false;
      }
      pos = comma + 1;
    }
  }
  verdict.ok = ok;
  return verdict;
}

std::string describeExpect(const rules::v1::Expect& expect) {
  std::string out;
  if (expect.any_of_size() == 1) {
    append(out, " and ", expect.any_of(0));
  } else if (expect.any_of_size() > 1) {
    std::string list;
    for (const auto& a : expect.any_of()) append(list, ", ", a);
    append(out, " and ", "one of " + list);
  }
  if (expect.has_min()) append(out, " and ", ">= " + formatNumber(expect.min()));
  if (expect.has_max()) append(out, " and ", "<= " + formatNumber(expect.max()));
  if (expect.nonzero()) append(out, " and ", "not 0");
  if (expect.none_of_size() > 0) {
    std::string list;
    for (const auto& a : expect.none_of()) append(list, ", ", a);
    append(out, " and ", "none of " + list);
  }
  return out;
}

void validateExpect(const rules::v1::Expect& expect, std::vector<std::string>& problems) {
  if (expect.any_of_size() == 0 && !expect.has_min() && !expect.has_max() &&
      expect.none_of_size() == 0 && !expect.nonzero()) {
    problems.push_back("expect: give at least one of any_of, min, max, none_of, nonzero");
  }
}

}  // namespace demarc::posture
