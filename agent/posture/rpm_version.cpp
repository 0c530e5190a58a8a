#include "agent/posture/rpm_version.h"

#include <cctype>

namespace demarc::posture {
namespace {

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool isAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

}  // namespace

int rpmvercmp(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t i = 0;
  size_t j = 0;
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^') ++i;
    while (j < b.size() && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^') ++j;
    char ca = at(a, i);
    char cb = at(b, j);
    if (ca == '~' || cb == '~') {
      if (ca != '~') return 1;
      if (cb != '~') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '^' || cb == '^') {
      if (ca == '\0') return -1;
      if (cb == '\0') return 1;
      if (ca != '^') return 1;
      if (cb != '^') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '\0' || cb == '\0') break;
    size_t ei = i;
    size_t ej = j;
    bool numeric = isDigit(ca);
    auto same_kind = [numeric](char c) { return numeric ? isDigit(c) : isAlpha(c); };
    while (ei < a.size() && same_kind(a[ei])) ++ei;
    while (ej < b.size() && same_kind(b[ej])) ++ej;
    if (ej == j) return numeric ? 1 : -1;  // a number is newer than letters
    std::string_view sa = a.substr(i, ei - i);
    std::string_view sb = b.substr(j, ej - j);
    if (numeric) {
      while (sa.size() > 1 && sa.front() == '0') sa.remove_prefix(1);
      while (sb.size() > 1 && sb.front() == '0') sb.remove_prefix(1);
      if (sa.size() != sb.size()) return sa.size() > sb.size() ? 1 : -1;
    }
    if (int c = sa.compare(sb); c != 0) return c < 0 ? -1 : 1;
    i = ei;
    j = ej;
  }
  bool a_done = i >= a.size();
  bool b_done = j >= b.size();
  if (a_done && b_done) return 0;
  return a_done ? -1 : 1;
}

int compareRpmVersions(std::string_view a, std::string_view b) {
  auto split = [](std::string_view v, std::string_view& epoch, std::string_view& version,
                  std::string_view& release) {
    size_t colon = v.find(':');
    epoch = colon == std::string_view::npos ? std::string_view("0") : v.substr(0, colon);
    if (colon != std::string_view::npos) v.remove_prefix(colon + 1);
    size_t dash = v.rfind('-');
    release = dash == std::string_view::npos ? std::string_view() : v.substr(dash + 1);
    version = dash == std::string_view::npos ? v : v.substr(0, dash);
  };
  std::string_view ea, va, ra, eb, vb, rb;
  split(a, ea, va, ra);
  split(b, eb, vb, rb);
  if (int c = rpmvercmp(ea.empty() ? "0" : ea, eb.empty() ? "0" : eb); c != 0) return c;
  if (int c = rpmvercmp(va, vb); c != 0) return c;
  if (ra.empty() || rb.empty()) return 0;
  return rpmvercmp(ra, rb);
}

}  // namespace demarc::posture
