#include "agent/posture/checks/util.h"

#include <algorithm>

#include "agent/core/text.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {

std::vector<std::string> expandPaths(ScanContext& context, const std::string& path) {
  if (path.find_first_of("*?[") == std::string::npos) {
    if (context.root().lstat(path).ok()) return {path};
    return {};
  }
  return context.root().glob(path);
}

std::optional<FoundSetting> findSetting(ScanContext& context, const std::vector<std::string>& files,
                                        std::string_view key, bool first_wins,
                                        bool case_sensitive_key) {
  std::optional<FoundSetting> found;
  std::string wanted = case_sensitive_key ? std::string(key) : lowered(key);
  for (const std::string& pattern : files) {
    for (const std::string& file : expandPaths(context, pattern)) {
      auto text = context.root().read(file, 4 << 20);
      if (!text.ok()) continue;
      bool stop = false;
      forEachLine(*text, [&](std::string_view line, size_t line_no) {
        if (stop) return;
        std::string l = trimmed(line);
        if (l.empty() || l[0] == '#' || l[0] == ';' || l[0] == '[') return;
        size_t sep = l.find_first_of(" \t=");
        if (sep == std::string::npos) return;
        std::string name = trimmed(std::string_view(l).substr(0, sep));
        if ((case_sensitive_key ? name : lowered(name)) != wanted) return;
        std::string_view rest = std::string_view(l).substr(sep);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        if (!rest.empty() && rest.front() == '=') rest.remove_prefix(1);
        std::string value = trimmed(rest);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        found = FoundSetting{value, file + ":" + std::to_string(line_no)};
        if (first_wins) stop = true;
      });
      if (stop) return found;
    }
  }
  return found;
}

std::string trimmed(std::string_view s) { return std::string(trimSpace(s)); }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string joinList(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

}  // namespace demarc::posture
