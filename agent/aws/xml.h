#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace demarc::aws {

// AWS's XML replies (S3, EC2 and other query services) are small and
// regular; these read them without a general XML parser. Element text is
// returned as it stands (entities are not decoded: demarc asks for
// URL-encoded keys where that matters).

// The text of the first <tag>...</tag>; empty when there is none.
std::string firstElement(std::string_view xml, std::string_view tag);

// Calls fn with the text of every <tag>...</tag>, in order (not nested in
// each other: for repeated siblings such as S3's <Contents>).
void forEachElement(std::string_view xml, std::string_view tag,
                    const std::function<void(std::string_view)>& fn);

}  // namespace demarc::aws
