#include "agent/posture/deb822.h"

#include <strings.h>

namespace demarc::posture {

std::string_view Paragraph::get(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

void forEachParagraph(std::string_view text, const std::function<void(const Paragraph&)>& fn,
                      size_t* malformed_lines) {
  Paragraph para;
  size_t line_no = 0;
  // Continuation lines extend the previous value; since views must stay
  // views, a multi-line value spans from its first character to the end of
  // its last line in the original text.
  const char* value_start = nullptr;
  auto flush = [&] {
    if (!para.fields.empty()) fn(para);
    para.fields.clear();
    value_start = nullptr;
  };
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    const char* line_end = line.data() + line.size();
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      flush();
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (value_start == nullptr) {
        if (malformed_lines) ++*malformed_lines;
        continue;
      }
      para.fields.back().second =
          std::string_view(value_start, static_cast<size_t>(line_end - value_start));
      continue;
    }
    if (line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (malformed_lines) ++*malformed_lines;
      value_start = nullptr;
      continue;
    }
    if (para.fields.empty()) para.line = line_no;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    para.fields.emplace_back(line.substr(0, colon), value);
    value_start = value.data();
  }
  flush();
}

std::string_view stripClearsign(std::string_view text) {
  constexpr std::string_view kBegin = "-----BEGIN PGP SIGNED MESSAGE-----";
  if (!text.starts_with(kBegin)) return text;
  size_t body = text.find("\n\n");  // armor headers end at the first blank line
  if (body == std::string_view::npos) return {};
  text.remove_prefix(body + 2);
  size_t sig = text.find("\n-----BEGIN PGP SIGNATURE-----");
  return sig == std::string_view::npos ? text : text.substr(0, sig + 1);
}

}  // namespace demarc::posture
