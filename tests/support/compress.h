#pragma once

#include <string>

namespace demarc::testing {

// gzip of the bytes (one member), for fixtures of compressed files.
std::string gzip(const std::string& in);

}  // namespace demarc::testing
