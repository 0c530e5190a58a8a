#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace demarc::testing {

// The protobuf JSON mapping as demarc writes it (proto field names, 64-bit
// integers as strings, enums by name, Timestamp/Duration as strings,
// defaults omitted, map keys sorted), written through reflection field by
// field: the first encoder demarc had, kept as the oracle the wire-format
// encoder in agent/evidence/json.cpp is checked against.
std::string reflectiveJson(const google::protobuf::Message& msg);

}  // namespace demarc::testing
