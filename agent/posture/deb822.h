#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace demarc::posture {

// One paragraph of a deb822 file (dpkg status, apt Packages, Release):
// field name -> value, values of multi-line fields joined with '\n'. Views
// point into the parsed text.
struct Paragraph {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  size_t line = 0;  // first line, 1-based, for error messages
  // First value of a field (names compare case-insensitively), or "".
  std::string_view get(std::string_view name) const;
};

// Calls fn for every paragraph. Lines that are neither "Name: value" nor
// continuations are skipped and counted in *malformed_lines when given, so a
// damaged file yields what can be read plus a count of what could not.
void forEachParagraph(std::string_view text, const std::function<void(const Paragraph&)>& fn,
                      size_t* malformed_lines = nullptr);

// The body of a clearsigned file (InRelease): the text between the PGP
// header block and the signature. Unsigned text is returned as it is.
std::string_view stripClearsign(std::string_view text);

}  // namespace demarc::posture
