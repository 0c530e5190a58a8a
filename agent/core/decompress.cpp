#include "agent/core/decompress.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <functional>
#include <memory>

#include "agent/core/files.h"

namespace demarc {
namespace {

Error tooLarge(size_t max) {
  return Error(ErrorCode::kResourceExhausted,
               "decompressed data exceeds " + std::to_string(max) + " bytes");
}

// Where decoders put their output: counts it against the cap and hands it
// to the consumer, who may stop early.
class Sink {
 public:
  Sink(const ChunkConsumer& consume, size_t max) : consume_(consume), max_(max) {}
  // False when the decoder must stop: the cap was passed or the consumer
  // is done; status() tells which.
  bool put(const void* data, size_t size) {
    total_ += size;
    if (total_ > max_) {
      over_ = true;
      return false;
    }
    if (size > 0 && !consume_(std::string_view(static_cast<const char*>(data), size))) {
      stopped_ = true;
      return false;
    }
    return true;
  }
  Status status() const {
    if (over_) return tooLarge(max_);
    return okStatus();
  }
  bool stopped() const { return stopped_; }

 private:
  const ChunkConsumer& consume_;
  size_t max_;
  size_t total_ = 0;
  bool over_ = false;
  bool stopped_ = false;
};

constexpr size_t kChunk = 1 << 16;

Status gunzip(std::string_view data, Sink& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Error(ErrorCode::kInternal, "zlib init");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[kChunk];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    int rc = inflate(&zs, Z_NO_FLUSH);
    if (!sink.put(buf, sizeof(buf) - zs.avail_out)) return sink.status();
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return okStatus();
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

Status unxz(std::string_view data, Sink& sink) {
  lzma_stream zs = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&zs, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return Error(ErrorCode::kInternal, "xz init");
  }
  std::unique_ptr<lzma_stream, decltype(&lzma_end)> guard(&zs, &lzma_end);
  zs.next_in = reinterpret_cast<const uint8_t*>(data.data());
  zs.avail_in = data.size();
  uint8_t buf[kChunk];
  for (;;) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    lzma_ret rc = lzma_code(&zs, zs.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    if (!sink.put(buf, sizeof(buf) - zs.avail_out)) return sink.status();
    if (rc == LZMA_STREAM_END) return okStatus();
    if (rc != LZMA_OK) {
      return Error(ErrorCode::kCorrupt, "xz: corrupt or truncated data (code " +
                                            std::to_string(static_cast<int>(rc)) + ")");
    }
  }
}

Status unlz4(std::string_view data, Sink& sink) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Error(ErrorCode::kInternal, "lz4 init");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  char buf[kChunk];
  const char* in = data.data();
  size_t left = data.size();
  for (;;) {
    size_t out_size = sizeof(buf);
    size_t in_size = left;
    size_t hint = LZ4F_decompress(ctx.get(), buf, &out_size, in, &in_size, nullptr);
    if (LZ4F_isError(hint)) {
      return Error(ErrorCode::kCorrupt, std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    if (!sink.put(buf, out_size)) return sink.status();
    in += in_size;
    left -= in_size;
    if (hint == 0 && left == 0) return okStatus();  // the last frame is complete
    // More frames may follow a complete one; the context starts the next.
    if (left == 0 && out_size == 0) return Error(ErrorCode::kCorrupt, "lz4: truncated data");
  }
}

Status bunzip2(std::string_view data, Sink& sink) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) return Error(ErrorCode::kInternal, "bzip2 init");
  std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&bz, &BZ2_bzDecompressEnd);
  bz.next_in = const_cast<char*>(data.data());
  bz.avail_in = static_cast<unsigned>(std::min<size_t>(data.size(), UINT_MAX));
  char buf[kChunk];
  for (;;) {
    bz.next_out = buf;
    bz.avail_out = sizeof(buf);
    int rc = BZ2_bzDecompress(&bz);
    if (!sink.put(buf, sizeof(buf) - bz.avail_out)) return sink.status();
    if (rc == BZ_STREAM_END) return okStatus();
    if (rc != BZ_OK) {
      return Error(ErrorCode::kCorrupt, "bzip2: corrupt data (code " + std::to_string(rc) + ")");
    }
    if (bz.avail_in == 0 && bz.avail_out != 0) {
      return Error(ErrorCode::kCorrupt, "bzip2: truncated data");
    }
  }
}

Status unzstd(std::string_view data, Sink& sink) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (!ds) return Error(ErrorCode::kInternal, "zstd init");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char buf[kChunk];
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
    if (!sink.put(buf, o.pos)) return sink.status();
    full = o.pos == o.size;
  }
  if (hint != 0) return Error(ErrorCode::kCorrupt, "zstd: truncated data");
  return okStatus();
}

// A consumer that keeps everything, for the whole-buffer forms.
ChunkConsumer appendTo(std::string& out) {
  return [&out](std::string_view piece) {
    out.append(piece);
    return true;
  };
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

Status decompressChunks(std::string_view data, Compression kind, const ChunkConsumer& consume,
                        size_t max_output) {
  Sink sink(consume, max_output);
  switch (kind) {
    case Compression::kGzip:
      return gunzip(data, sink);
    case Compression::kXz:
      return unxz(data, sink);
    case Compression::kLz4:
      return unlz4(data, sink);
    case Compression::kBzip2:
      return bunzip2(data, sink);
    case Compression::kZstd:
      return unzstd(data, sink);
    case Compression::kNone:
      break;
  }
  while (!data.empty()) {
    size_t n = std::min(data.size(), kChunk);
    if (!sink.put(data.data(), n)) return sink.status();
    data.remove_prefix(n);
  }
  return okStatus();
}

Result<std::string> decompress(std::string_view data, Compression kind, size_t max_output) {
  std::string out;
  DEMARC_TRY(decompressChunks(data, kind, appendTo(out), max_output));
  return out;
}

Status readMaybeCompressedChunks(const HostRoot& root, std::string_view host_path,
                                 const ChunkConsumer& consume, size_t max_output) {
  // The compressed file is mapped, not copied: the main Debian list is ~19 MB
  // of lz4, and its pages can be dropped again under memory pressure.
  std::string where = root.path(host_path).string();
  DEMARC_ASSIGN_OR_RETURN(UniqueFd fd, root.open(host_path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errnoError("stat", errno).withContext(where);
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, "not a regular file").withContext(where);
  }
  auto size = static_cast<size_t>(st.st_size);
  if (size > max_output) return tooLarge(max_output).withContext(where);
  Compression kind = compressionOf(std::filesystem::path(host_path));
  if (size == 0) return decompressChunks({}, kind, consume, max_output);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) return errnoError("mmap", errno).withContext(where);
  std::unique_ptr<void, std::function<void(void*)>> unmap(map,
                                                          [size](void* p) { ::munmap(p, size); });
  ::madvise(map, size, MADV_SEQUENTIAL);
  auto status = decompressChunks(std::string_view(static_cast<const char*>(map), size), kind,
                                 consume, max_output);
  if (!status.ok()) return status.error().withContext(where);
  return status;
}

Result<std::string> readMaybeCompressed(const HostRoot& root, std::string_view host_path,
                                        size_t max_output) {
  std::string out;
  DEMARC_TRY(readMaybeCompressedChunks(root, host_path, appendTo(out), max_output));
  return out;
}

}  // namespace demarc
