#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc::evidence {

// Appends msg in the protobuf JSON mapping (proto field names, 64-bit
// integers as strings, enums by name, Timestamp/Duration as strings, default
// values omitted, map keys sorted). Written directly from reflection: the
// generic printer in protobuf's util converts through a binary round trip and
// allocates per field, which made it most of the cost of sealing.
// Invalid UTF-8 in strings (argv from the kernel, say) becomes U+FFFD.
void appendJson(const google::protobuf::Message& msg, std::string& out);

// Reads one JSON object in the same mapping into msg (replacing what it
// held). Accepts what protobuf's JSON parser accepts for demarc's records,
// unknown fields ignored; errors say what is wrong and at which byte.
Status parseJson(std::string_view text, google::protobuf::Message& msg);

// Appends s as a quoted JSON string, escaped the same way.
void appendJsonString(std::string_view s, std::string& out);

}  // namespace demarc::evidence
