#include "agent/aws/xml.h"

namespace demarc::aws {

void forEachElement(std::string_view xml, std::string_view tag,
                    const std::function<void(std::string_view)>& fn) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  for (size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at)) {
    at += open.size();
    size_t end = xml.find(close, at);
    if (end == std::string_view::npos) return;
    fn(xml.substr(at, end - at));
    at = end + close.size();
  }
}

std::string firstElement(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) return "";
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return "";
  return std::string(xml.substr(start, end - start));
}

}  // namespace demarc::aws
