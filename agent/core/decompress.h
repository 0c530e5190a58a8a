#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc {

enum class Compression { kNone, kGzip, kXz, kLz4 };

// From the file name: .gz, .xz, .lz4, anything else is plain.
Compression compressionOf(const std::filesystem::path& path);

// Decompresses a whole buffer. The output is capped (max_output) so that a
// damaged or hostile file cannot exhaust memory; errors say what failed.
Result<std::string> decompress(std::string_view data, Compression kind,
                               size_t max_output = 1ULL << 30);

// Reads and decompresses a file by its extension. Errors name the path.
Result<std::string> readMaybeCompressed(const std::filesystem::path& path,
                                        size_t max_output = 1ULL << 30);

}  // namespace demarc
