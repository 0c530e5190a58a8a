#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

namespace demarc::evidence {

// Appends msg in the protobuf JSON mapping (proto field names, 64-bit
// integers as strings, enums by name, Timestamp/Duration as strings, default
// values omitted, map keys sorted). Written directly from reflection: the
// generic printer in protobuf's util converts through a binary round trip and
// allocates per field, which made it most of the cost of sealing.
// Invalid UTF-8 in strings (argv from the kernel, say) becomes U+FFFD.
void appendJson(const google::protobuf::Message& msg, std::string& out);

// Appends s as a quoted JSON string, escaped the same way.
void appendJsonString(std::string_view s, std::string& out);

}  // namespace demarc::evidence
