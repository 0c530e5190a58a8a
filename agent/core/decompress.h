#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc {

enum class Compression { kNone, kGzip, kXz, kLz4, kBzip2, kZstd };

// From the file name: .gz, .xz, .lz4, .bz2, .zst; anything else is plain.
Compression compressionOf(const std::filesystem::path& path);

// Receives decompressed data piece by piece (64 KiB at most); returning
// false stops decompression early (not an error).
using ChunkConsumer = std::function<bool(std::string_view)>;

// Decompresses a buffer into the consumer without holding the output, so
// large lists can be parsed in bounded memory. The output is capped.
Status decompressChunks(std::string_view data, Compression kind, const ChunkConsumer& consume,
                        size_t max_output = 1ULL << 30);

// Decompresses a whole buffer. The output is capped (max_output) so that a
// damaged or hostile file cannot exhaust memory; errors say what failed.
Result<std::string> decompress(std::string_view data, Compression kind,
                               size_t max_output = 1ULL << 30);

// Reads a host file through root and decompresses it by its extension
// into the consumer. Errors name the path.
Status readMaybeCompressedChunks(const HostRoot& root, std::string_view host_path,
                                 const ChunkConsumer& consume, size_t max_output = 1ULL << 30);

// The same, whole.
Result<std::string> readMaybeCompressed(const HostRoot& root, std::string_view host_path,
                                        size_t max_output = 1ULL << 30);

// gzip (one member) of data. Deterministic: no name or time in the header,
// so the same bytes always compress to the same bytes (a batch shipped
// again after a crash becomes the same object).
std::string gzipCompress(std::string_view data, int level = 6);

}  // namespace demarc
