#include "agent/core/mount_table.h"

#include "agent/core/text.h"

namespace demarc {

std::vector<MountEntry> parseMountTable(std::string_view text, const std::string& path) {
  std::vector<MountEntry> out;
  auto unescape = [](std::string_view s) {  // fstab and /proc/mounts write ' ' as \040
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
        r.push_back(
            static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
        i += 3;
      } else {
        r.push_back(s[i]);
      }
    }
    return r;
  };
  forEachLine(text, [&](std::string_view line, size_t line_no) {
    std::vector<std::string> fields;
    size_t pos = 0;
    while (pos < line.size()) {
      size_t start = line.find_first_not_of(" \t", pos);
      if (start == std::string_view::npos) break;
      if (fields.empty() && line[start] == '#') return;
      size_t end = line.find_first_of(" \t", start);
      if (end == std::string_view::npos) end = line.size();
      fields.push_back(unescape(line.substr(start, end - start)));
      pos = end;
    }
    if (fields.size() < 4) return;
    MountEntry e{fields[0], fields[1], fields[2], split(fields[3], ','),
                 path + ":" + std::to_string(line_no)};
    out.push_back(std::move(e));
  });
  return out;
}

}  // namespace demarc
