#include "agent/core/decompress.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

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

// Where decoders get their input: one buffer, or a file read in pieces so
// that a large compressed list is never held whole (not even mapped: mapped
// pages count in the agent's resident size).
class Input {
 public:
  explicit Input(std::string_view data) : rest_(data) {}
  explicit Input(int fd) : fd_(fd), buffer_(kReadSize) {}

  // The next piece of input, at most max bytes; empty at the end, after
  // which eof() is true.
  Result<std::string_view> next(size_t max = SIZE_MAX) {
    if (fd_ < 0) {
      std::string_view piece = rest_.substr(0, std::min(max, rest_.size()));
      rest_.remove_prefix(piece.size());
      eof_ = piece.empty();
      return piece;
    }
    for (;;) {
      ssize_t n = ::read(fd_, buffer_.data(), std::min(max, buffer_.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errnoError("read", errno);
      eof_ = n == 0;
      return std::string_view(buffer_.data(), static_cast<size_t>(n));
    }
  }
  bool eof() const { return eof_; }

 private:
  static constexpr size_t kReadSize = 1 << 18;
  std::string_view rest_;
  int fd_ = -1;
  std::vector<char> buffer_;
  bool eof_ = false;
};

Status gunzip(Input& input, Sink& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Error(ErrorCode::kInternal, "zlib init");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  auto refill = [&]() -> Status {
    DEMARC_ASSIGN_OR_RETURN(std::string_view piece, input.next(UINT_MAX));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    zs.avail_in = static_cast<uInt>(piece.size());
    return okStatus();
  };
  char buf[kChunk];
  for (;;) {
    if (zs.avail_in == 0 && !input.eof()) DEMARC_TRY(refill());
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    int rc = inflate(&zs, Z_NO_FLUSH);
    if (!sink.put(buf, sizeof(buf) - zs.avail_out)) return sink.status();
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0 && !input.eof()) DEMARC_TRY(refill());
      if (zs.avail_in == 0) return okStatus();
      // Concatenated gzip members are one stream to gzip(1).
      if (inflateReset(&zs) != Z_OK) return Error(ErrorCode::kCorrupt, "gzip: bad member");
      continue;
    }
    bool starved = zs.avail_in == 0 && zs.avail_out != 0;
    if (rc == Z_OK || (rc == Z_BUF_ERROR && starved)) {
      if (starved && input.eof()) return Error(ErrorCode::kCorrupt, "gzip: truncated data");
      continue;
    }
    return Error(ErrorCode::kCorrupt,
                 std::string("gzip: ") + (zs.msg ? zs.msg : "truncated or corrupt data"));
  }
}

Status unxz(Input& input, Sink& sink) {
  lzma_stream zs = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&zs, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return Error(ErrorCode::kInternal, "xz init");
  }
  std::unique_ptr<lzma_stream, decltype(&lzma_end)> guard(&zs, &lzma_end);
  uint8_t buf[kChunk];
  for (;;) {
    if (zs.avail_in == 0 && !input.eof()) {
      DEMARC_ASSIGN_OR_RETURN(std::string_view piece, input.next());
      zs.next_in = reinterpret_cast<const uint8_t*>(piece.data());
      zs.avail_in = piece.size();
    }
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    lzma_ret rc = lzma_code(&zs, zs.avail_in == 0 && input.eof() ? LZMA_FINISH : LZMA_RUN);
    if (!sink.put(buf, sizeof(buf) - zs.avail_out)) return sink.status();
    if (rc == LZMA_STREAM_END) return okStatus();
    if (rc != LZMA_OK) {
      return Error(ErrorCode::kCorrupt, "xz: corrupt or truncated data (code " +
                                            std::to_string(static_cast<int>(rc)) + ")");
    }
  }
}

Status unlz4(Input& input, Sink& sink) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Error(ErrorCode::kInternal, "lz4 init");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  char buf[kChunk];
  std::string_view in;
  for (;;) {
    if (in.empty() && !input.eof()) {
      DEMARC_ASSIGN_OR_RETURN(in, input.next());
    }
    size_t out_size = sizeof(buf);
    size_t in_size = in.size();
    size_t hint = LZ4F_decompress(ctx.get(), buf, &out_size, in.data(), &in_size, nullptr);
    if (LZ4F_isError(hint)) {
      return Error(ErrorCode::kCorrupt, std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    if (!sink.put(buf, out_size)) return sink.status();
    in.remove_prefix(in_size);
    if (in.empty() && !input.eof() && (hint == 0 || out_size == 0)) {
      DEMARC_ASSIGN_OR_RETURN(in, input.next());
    }
    if (hint == 0 && in.empty()) return okStatus();  // the last frame is complete
    // More frames may follow a complete one; the context starts the next.
    if (in.empty() && out_size == 0) return Error(ErrorCode::kCorrupt, "lz4: truncated data");
  }
}

Status bunzip2(Input& input, Sink& sink) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) return Error(ErrorCode::kInternal, "bzip2 init");
  std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&bz, &BZ2_bzDecompressEnd);
  char buf[kChunk];
  for (;;) {
    if (bz.avail_in == 0 && !input.eof()) {
      DEMARC_ASSIGN_OR_RETURN(std::string_view piece, input.next(UINT_MAX));
      bz.next_in = const_cast<char*>(piece.data());
      bz.avail_in = static_cast<unsigned>(piece.size());
    }
    bz.next_out = buf;
    bz.avail_out = sizeof(buf);
    int rc = BZ2_bzDecompress(&bz);
    if (!sink.put(buf, sizeof(buf) - bz.avail_out)) return sink.status();
    if (rc == BZ_STREAM_END) return okStatus();
    if (rc != BZ_OK) {
      return Error(ErrorCode::kCorrupt, "bzip2: corrupt data (code " + std::to_string(rc) + ")");
    }
    if (bz.avail_in == 0 && bz.avail_out != 0 && input.eof()) {
      return Error(ErrorCode::kCorrupt, "bzip2: truncated data");
    }
  }
}

Status unzstd(Input& input, Sink& sink) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (!ds) return Error(ErrorCode::kInternal, "zstd init");
  ZSTD_inBuffer in{nullptr, 0, 0};
  char buf[kChunk];
  // 0 once a frame is decoded and flushed; a full output buffer means the
  // decoder may still hold output after the input is used up.
  size_t hint = 1;
  bool full = true;
  for (;;) {
    if (in.pos == in.size && !input.eof()) {
      DEMARC_ASSIGN_OR_RETURN(std::string_view piece, input.next());
      in = {piece.data(), piece.size(), 0};
    }
    if (in.pos == in.size && input.eof() && !(full && hint != 0)) break;
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

Status decode(Input& input, Compression kind, Sink& sink) {
  switch (kind) {
    case Compression::kGzip:
      return gunzip(input, sink);
    case Compression::kXz:
      return unxz(input, sink);
    case Compression::kLz4:
      return unlz4(input, sink);
    case Compression::kBzip2:
      return bunzip2(input, sink);
    case Compression::kZstd:
      return unzstd(input, sink);
    case Compression::kNone:
      break;
  }
  for (;;) {
    DEMARC_ASSIGN_OR_RETURN(std::string_view piece, input.next(kChunk));
    if (piece.empty()) return okStatus();
    if (!sink.put(piece.data(), piece.size())) return sink.status();
  }
}

// A consumer that keeps everything, for the whole-buffer forms.
ChunkConsumer appendTo(std::string& out) {
  return [&out](std::string_view piece) {
    out.append(piece);
    return true;
  };
}

}  // namespace

std::string gzipCompress(std::string_view data, int level) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&zs, &deflateEnd);
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  // The bound covers the whole input: one call finishes the stream.
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  return out;
}

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
  Input input(data);
  return decode(input, kind, sink);
}

Result<std::string> decompress(std::string_view data, Compression kind, size_t max_output) {
  std::string out;
  DEMARC_TRY(decompressChunks(data, kind, appendTo(out), max_output));
  return out;
}

Status readMaybeCompressedChunks(const HostRoot& root, std::string_view host_path,
                                 const ChunkConsumer& consume, size_t max_output) {
  std::string where = root.path(host_path).string();
  DEMARC_ASSIGN_OR_RETURN(UniqueFd fd, root.open(host_path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errnoError("stat", errno).withContext(where);
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, "not a regular file").withContext(where);
  }
  if (static_cast<size_t>(st.st_size) > max_output) return tooLarge(max_output).withContext(where);
  // The main Debian list is ~19 MB of lz4: read and decoded a piece at a time.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Sink sink(consume, max_output);
  Input input(fd.get());
  auto status = decode(input, compressionOf(std::filesystem::path(host_path)), sink);
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
