#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace demarc {

// Calls fn(line, line_number) for each line of text (1-based numbers, no
// '\n', a trailing '\r' kept). The one line splitter host-file parsers share.
template <typename Fn>
void forEachLine(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    fn(line, line_no);
  }
}

// s without leading and trailing whitespace (space, \t, \r, \n, \v, \f).
constexpr std::string_view trimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  while (!s.empty() && kSpace.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && kSpace.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

// s cut at every sep ("a,,b" gives "a", "", "b"; "" gives one empty field).
inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t next = s.find(sep, pos);
    out.emplace_back(s.substr(pos, next == std::string_view::npos ? s.npos : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

}  // namespace demarc
