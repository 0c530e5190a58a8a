#include "agent/posture/platform.h"

#include <algorithm>
#include <charconv>

#include "agent/core/text.h"

namespace demarc::posture {
namespace {

std::string unquote(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

// -1, 0, 1 comparing "22.04" with "22.4" numerically per component.
int compareDotted(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& s) {
      size_t dot = s.find('.');
      std::string_view part = s.substr(0, dot);
      s.remove_prefix(dot == std::string_view::npos ? s.size() : dot + 1);
      unsigned long value = 0;
      std::from_chars(part.data(), part.data() + part.size(), value);
      return value;
    };
    unsigned long x = take(a);
    unsigned long y = take(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

OsRelease parseOsRelease(std::string_view text) {
  OsRelease os;
  forEachLine(text, [&](std::string_view line, size_t) {
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || line.starts_with('#')) return;
    std::string_view key = line.substr(0, eq);
    std::string value = unquote(line.substr(eq + 1));
    if (key == "ID") {
      os.id = value;
    } else if (key == "VERSION_ID") {
      os.version_id = value;
    } else if (key == "VERSION_CODENAME") {
      os.version_codename = value;
    } else if (key == "PRETTY_NAME") {
      os.pretty_name = value;
    } else if (key == "ID_LIKE") {
      size_t pos = 0;
      while (pos < value.size()) {
        size_t sp = value.find(' ', pos);
        if (sp == std::string::npos) sp = value.size();
        if (sp > pos) os.id_like.push_back(value.substr(pos, sp - pos));
        pos = sp + 1;
      }
    }
  });
  return os;
}

Result<OsRelease> readOsRelease(const HostRoot& root) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = root.read(path, 64 * 1024);
    if (!text.ok()) continue;
    OsRelease os = parseOsRelease(*text);
    os.source = path;
    if (os.id.empty()) {
      return Error(ErrorCode::kInvalidArgument, root.path(path).string() + ": no ID= line");
    }
    return os;
  }
  return Error(ErrorCode::kNotFound, "neither " + root.path("/etc/os-release").string() +
                                         " nor /usr/lib/os-release can be read");
}

Result<PlatformTerm> parsePlatformTerm(std::string_view text) {
  PlatformTerm term;
  size_t op = text.find(">=");
  term.family = std::string(text.substr(0, op));
  if (op != std::string_view::npos) term.min_version = std::string(text.substr(op + 2));
  auto valid_family = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
  };
  auto valid_version = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  };
  if (!valid_family(term.family) ||
      (op != std::string_view::npos && !valid_version(term.min_version))) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(text) +
                     "' is not a platform such as debian, ubuntu>=22.04 or amzn>=2023");
  }
  return term;
}

bool matchesPlatform(const OsRelease& os, const PlatformTerm& term) {
  if (os.id == term.family) {
    return term.min_version.empty() || compareDotted(os.version_id, term.min_version) >= 0;
  }
  if (!term.min_version.empty()) return false;
  return std::find(os.id_like.begin(), os.id_like.end(), term.family) != os.id_like.end();
}

PackageFamily packageFamilyOf(const OsRelease& os) {
  auto is = [&](std::string_view family) {
    return os.id == family ||
           std::find(os.id_like.begin(), os.id_like.end(), family) != os.id_like.end();
  };
  if (is("debian") || is("ubuntu")) return PackageFamily::kDpkg;
  if (is("rhel") || is("fedora") || is("amzn") || is("centos") || is("suse")) {
    return PackageFamily::kRpm;
  }
  return PackageFamily::kUnknown;
}

}  // namespace demarc::posture
