#include "agent/core/decompress.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace demarc {
namespace {

Error tooLarge(size_t max) {
  return Error(ErrorCode::kResourceExhausted,
               "decompressed data exceeds " + std::to_string(max) + " bytes");
}

Result<std::string> gunzip(std::string_view data, size_t max) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Error(ErrorCode::kInternal, "zlib init");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > max) return tooLarge(max);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return out;
      // Concatenated gzip members are one stream to gzip(1).
      if (inflateReset(&zs) != Z_OK) return Error(ErrorCode::kCorrupt, "gzip: bad member");
      continue;
    }
    if (rc != Z_OK) {
      return Error(ErrorCode::kCorrupt,
                   std::string("gzip: ") + (zs.msg ? zs.msg : "truncated or corrupt data"));
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      return Error(ErrorCode::kCorrupt, "gzip: truncated data");
    }
  }
}

Result<std::string> unxz(std::string_view data, size_t max) {
  lzma_stream zs = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&zs, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return Error(ErrorCode::kInternal, "xz init");
  }
  std::unique_ptr<lzma_stream, decltype(&lzma_end)> guard(&zs, &lzma_end);
  zs.next_in = reinterpret_cast<const uint8_t*>(data.data());
  zs.avail_in = data.size();
  std::string out;
  uint8_t buf[1 << 16];
  for (;;) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    lzma_ret rc = lzma_code(&zs, zs.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    out.append(reinterpret_cast<char*>(buf), sizeof(buf) - zs.avail_out);
    if (out.size() > max) return tooLarge(max);
    if (rc == LZMA_STREAM_END) return out;
    if (rc != LZMA_OK) {
      return Error(ErrorCode::kCorrupt, "xz: corrupt or truncated data (code " +
                                            std::to_string(static_cast<int>(rc)) + ")");
    }
  }
}

Result<std::string> unlz4(std::string_view data, size_t max) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Error(ErrorCode::kInternal, "lz4 init");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  std::string out;
  char buf[1 << 16];
  const char* in = data.data();
  size_t left = data.size();
  for (;;) {
    size_t out_size = sizeof(buf);
    size_t in_size = left;
    size_t hint = LZ4F_decompress(ctx.get(), buf, &out_size, in, &in_size, nullptr);
    if (LZ4F_isError(hint)) {
      return Error(ErrorCode::kCorrupt, std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    out.append(buf, out_size);
    if (out.size() > max) return tooLarge(max);
    in += in_size;
    left -= in_size;
    if (hint == 0 && left == 0) return out;  // the last frame is complete
    // More frames may follow a complete one; the context starts the next.
    if (left == 0 && out_size == 0) return Error(ErrorCode::kCorrupt, "lz4: truncated data");
  }
}

Result<std::string> bunzip2(std::string_view data, size_t max) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) return Error(ErrorCode::kInternal, "bzip2 init");
  std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&bz, &BZ2_bzDecompressEnd);
  bz.next_in = const_cast<char*>(data.data());
  bz.avail_in = static_cast<unsigned>(std::min<size_t>(data.size(), UINT_MAX));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    bz.next_out = buf;
    bz.avail_out = sizeof(buf);
    int rc = BZ2_bzDecompress(&bz);
    out.append(buf, sizeof(buf) - bz.avail_out);
    if (out.size() > max) return tooLarge(max);
    if (rc == BZ_STREAM_END) return out;
    if (rc != BZ_OK) {
      return Error(ErrorCode::kCorrupt, "bzip2: corrupt data (code " + std::to_string(rc) + ")");
    }
    if (bz.avail_in == 0 && bz.avail_out != 0) {
      return Error(ErrorCode::kCorrupt, "bzip2: truncated data");
    }
  }
}

Result<std::string> unzstd(std::string_view data, size_t max) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (!ds) return Error(ErrorCode::kInternal, "zstd init");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  char buf[1 << 16];
  // 0 once a frame is decoded and flushed; a full output buffer means the
  // decoder may still hold output after the input is used up.
  size_t hint = 1;
  bool full = true;
  while (in.pos < in.size || (full && hint != 0)) {
    ZSTD_outBuffer o{buf, sizeof(buf), 0};
    hint = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(hint)) {
      return Error(ErrorCode::kCorrupt, std::string("zstd: ") + ZSTD_getErrorName(hint));
    }
    out.append(buf, o.pos);
    if (out.size() > max) return tooLarge(max);
    full = o.pos == o.size;
  }
  if (hint != 0) return Error(ErrorCode::kCorrupt, "zstd: truncated data");
  return out;
}

}  // namespace

Compression compressionOf(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (ext == ".gz") return Compression::kGzip;
  if (ext == ".xz") return Compression::kXz;
  if (ext == ".lz4") return Compression::kLz4;
  if (ext == ".bz2") return Compression::kBzip2;
  if (ext == ".zst") return Compression::kZstd;
  return Compression::kNone;
}

Result<std::string> decompress(std::string_view data, Compression kind, size_t max_output) {
  switch (kind) {
    case Compression::kGzip:
      return gunzip(data, max_output);
    case Compression::kXz:
      return unxz(data, max_output);
    case Compression::kLz4:
      return unlz4(data, max_output);
    case Compression::kBzip2:
      return bunzip2(data, max_output);
    case Compression::kZstd:
      return unzstd(data, max_output);
    case Compression::kNone:
      break;
  }
  if (data.size() > max_output) return tooLarge(max_output);
  return std::string(data);
}

Result<std::string> readMaybeCompressed(const HostRoot& root, std::string_view host_path,
                                        size_t max_output) {
  DEMARC_ASSIGN_OR_RETURN(std::string raw, root.read(host_path, max_output + 1));
  auto out = decompress(raw, compressionOf(std::filesystem::path(host_path)), max_output);
  if (!out.ok()) return out.error().withContext(root.path(host_path).string());
  return out;
}

}  // namespace demarc
