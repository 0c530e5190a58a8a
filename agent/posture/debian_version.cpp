#include "agent/posture/debian_version.h"

#include <cctype>

namespace demarc::posture {
namespace {

struct Parts {
  std::string_view epoch;  // digits, may be empty (0)
  std::string_view upstream;
  std::string_view revision;  // may be empty
};

Parts split(std::string_view v) {
  Parts p;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

// dpkg's order of a character in a non-digit run.
int order(int c) {
  if (std::isdigit(c)) return 0;
  if (std::isalpha(c)) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

int compareNumber(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

// The verrevcmp() of dpkg's lib/dpkg/version.c, on string_views.
int compareFragment(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? order(static_cast<unsigned char>(a[i])) : 0;
      int bc = j < b.size() ? order(static_cast<unsigned char>(b[j])) : 0;
      if (ac != bc) return ac < bc ? -1 : 1;
      // A NUL byte orders like the end of the string, so one side may be
      // done already (found by tests/fuzz).
      if (i < a.size()) ++i;
      if (j < b.size()) ++j;
    }
    size_t ai = i;
    size_t bj = j;
    while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
    while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
    int c = compareNumber(a.substr(ai, i - ai), b.substr(bj, j - bj));
    if (c != 0) return c;
  }
  return 0;
}

}  // namespace

int compareDebianVersions(std::string_view a, std::string_view b) {
  Parts pa = split(a);
  Parts pb = split(b);
  if (int c = compareNumber(pa.epoch, pb.epoch); c != 0) return c;
  if (int c = compareFragment(pa.upstream, pb.upstream); c != 0) return c;
  return compareFragment(pa.revision, pb.revision);
}

}  // namespace demarc::posture
