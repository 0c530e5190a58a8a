#include "agent/posture/sshd.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "agent/core/text.h"

namespace demarc::posture {
namespace {

constexpr int kMaxIncludeDepth = 16;  // sshd's own limit
// A file that includes itself twice doubles the work at every level; an
// image under scan may be hostile, so the total is capped too.
constexpr int kMaxIncludedFiles = 256;

// OpenSSH's compiled-in defaults for the keywords hardening rules ask about.
constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kDefaults = {{
    {"permitrootlogin", "prohibit-password"},
    {"passwordauthentication", "yes"},
    {"permitemptypasswords", "no"},
    {"pubkeyauthentication", "yes"},
    {"hostbasedauthentication", "no"},
    {"ignorerhosts", "yes"},
    {"x11forwarding", "no"},
    {"allowtcpforwarding", "yes"},
    {"permituserenvironment", "no"},
    {"maxauthtries", "6"},
    {"maxsessions", "10"},
    {"maxstartups", "10:30:100"},
    {"logingracetime", "120"},
    {"clientaliveinterval", "0"},
    {"clientalivecountmax", "3"},
    {"loglevel", "INFO"},
    {"usepam", "no"},
    {"banner", "none"},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits arguments on whitespace, honouring double quotes.
std::vector<std::string> arguments(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    std::string arg;
    if (s[i] == '"') {
      size_t end = s.find('"', i + 1);
      arg = std::string(s.substr(i + 1, end == std::string_view::npos ? s.npos : end - i - 1));
      i = end == std::string_view::npos ? s.size() : end + 1;
    } else {
      size_t end = i;
      while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
      arg = std::string(s.substr(i, end - i));
      i = end;
    }
    out.push_back(std::move(arg));
  }
  return out;
}

struct Parser {
  const FileReader& read;
  const GlobExpander& glob;
  SshdConfig config;
  int included = 0;

  void parse(std::string_view text, const std::string& path, std::string match, int depth) {
    forEachLine(text, [&](std::string_view raw, size_t line_no) {
      std::string_view line = trimSpace(raw);
      if (line.empty() || line.front() == '#') return;
      size_t split = 0;
      while (split < line.size() && !std::isspace(static_cast<unsigned char>(line[split])) &&
             line[split] != '=') {
        ++split;
      }
      std::string keyword = lower(line.substr(0, split));
      std::string_view rest = trimSpace(line.substr(split));
      if (!rest.empty() && rest.front() == '=') rest = trimSpace(rest.substr(1));
      const std::string where = path + ":" + std::to_string(line_no);
      if (keyword.empty() || rest.empty()) {
        config.problems.push_back(where + ": '" + std::string(line.substr(0, 60)) +
                                  "' has no value");
        return;
      }
      if (keyword == "match") {
        match = lower(rest) == "all" ? "" : std::string(rest);
        return;
      }
      if (keyword == "include") {
        for (std::string pattern : arguments(rest)) {
          if (pattern.front() != '/') pattern = "/etc/ssh/" + pattern;
          if (depth + 1 > kMaxIncludeDepth) {
            config.problems.push_back(where + ": Include nested deeper than " +
                                      std::to_string(kMaxIncludeDepth) + " levels; not followed");
            continue;
          }
          for (const std::string& file : glob(pattern)) {
            if (++included > kMaxIncludedFiles) {
              config.problems.push_back(where + ": more than " + std::to_string(kMaxIncludedFiles) +
                                        " included files; the rest are not read");
              return;
            }
            auto text_of_file = read(file);
            if (!text_of_file) {
              config.problems.push_back(where + ": cannot read included " + file);
              continue;
            }
            // A Match inside the included file ends with it.
            parse(*text_of_file, file, match, depth + 1);
          }
        }
        return;
      }
      auto args = arguments(rest);
      std::string value;
      for (const auto& a : args) value += (value.empty() ? "" : " ") + a;
      config.lines.push_back({keyword, value, where, match});
    });
  }
};

}  // namespace

std::optional<SshdSetting> SshdConfig::effective(std::string_view keyword) const {
  std::string key = lower(keyword);
  for (const auto& s : lines) {
    if (s.keyword == key && s.match.empty()) return s;
  }
  for (const auto& [k, v] : kDefaults) {
    if (k == key) return SshdSetting{key, std::string(v), "sshd default", ""};
  }
  return std::nullopt;
}

std::vector<SshdSetting> SshdConfig::conditional(std::string_view keyword) const {
  std::string key = lower(keyword);
  std::vector<SshdSetting> out;
  for (const auto& s : lines) {
    if (s.keyword == key && !s.match.empty()) out.push_back(s);
  }
  return out;
}

SshdConfig parseSshdConfig(std::string_view text, const std::string& path, const FileReader& read,
                           const GlobExpander& glob) {
  Parser parser{read, glob, {}};
  parser.parse(text, path, "", 0);
  return std::move(parser.config);
}

SshdConfig readSshdConfig(const HostRoot& root) {
  const std::string main = "/etc/ssh/sshd_config";
  FileReader read = [&](const std::string& path) -> std::optional<std::string> {
    auto text = root.read(path, 1 << 20);
    if (!text.ok()) return std::nullopt;
    return *text;
  };
  GlobExpander expand = [&](const std::string& pattern) { return root.glob(pattern); };
  auto text = read(main);
  if (!text) {
    SshdConfig config;
    config.problems.push_back(main + ": cannot be read (is openssh-server installed?)");
    return config;
  }
  return parseSshdConfig(*text, main, read, expand);
}

}  // namespace demarc::posture
