#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view bytes);
// Streams the file; errors name the path.
Result<Sha256Digest> sha256File(const std::filesystem::path& path);
// Streams an open file from its current offset; errors name `what`.
Result<Sha256Digest> sha256Fd(int fd, const std::string& what);

std::string toHex(std::string_view bytes);
std::string toHex(const Sha256Digest& digest);
std::optional<std::string> fromHex(std::string_view hex);

// Standard base64 with padding (RFC 4648 section 4), as DSSE uses.
std::string base64Encode(std::string_view bytes);
// Strict: rejects characters outside the alphabet and bad padding.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace demarc
