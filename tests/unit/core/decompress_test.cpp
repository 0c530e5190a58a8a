#include "agent/core/decompress.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include <random>

#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

std::string sample() {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "Package: pkg" + std::to_string(i) + "\nVersion: 1.0\n\n";
  return s;
}

std::string xz(const std::string& in) {
  std::string out(lzma_stream_buffer_bound(in.size()), '\0');
  size_t pos = 0;
  lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(in.data()),
                          in.size(), reinterpret_cast<uint8_t*>(out.data()), &pos, out.size());
  out.resize(pos);
  return out;
}

std::string lz4(const std::string& in) {
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  out.resize(n);
  return out;
}

std::string bzip2(const std::string& in) {
  std::string out(in.size() + in.size() / 100 + 600, '\0');
  auto n = static_cast<unsigned>(out.size());
  BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(in.data()),
                           static_cast<unsigned>(in.size()), 9, 0, 0);
  out.resize(n);
  return out;
}

std::string zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
  return out;
}

TEST(Decompress, EveryFormatRoundTrips) {
  std::string plain = sample();
  EXPECT_EQ(*decompress(gzipCompress(plain), Compression::kGzip), plain);
  EXPECT_EQ(*decompress(xz(plain), Compression::kXz), plain);
  EXPECT_EQ(*decompress(lz4(plain), Compression::kLz4), plain);
  EXPECT_EQ(*decompress(bzip2(plain), Compression::kBzip2), plain);
  EXPECT_EQ(*decompress(zstd(plain), Compression::kZstd), plain);
  EXPECT_EQ(*decompress(plain, Compression::kNone), plain);
}

TEST(Decompress, TruncatedAndGarbageAreErrors) {
  std::string plain = sample();
  for (auto [data, kind] :
       {std::pair{gzipCompress(plain), Compression::kGzip}, std::pair{xz(plain), Compression::kXz},
        std::pair{lz4(plain), Compression::kLz4}, std::pair{bzip2(plain), Compression::kBzip2},
        std::pair{zstd(plain), Compression::kZstd}}) {
    auto cut = decompress(data.substr(0, data.size() / 2), kind);
    EXPECT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code(), ErrorCode::kCorrupt) << cut.error().message();
    EXPECT_FALSE(decompress("not compressed at all", kind).ok());
  }
}

TEST(Decompress, InPiecesWithoutHoldingTheOutput) {
  std::string plain = sample();
  for (auto [data, kind] :
       {std::pair{gzipCompress(plain), Compression::kGzip}, std::pair{xz(plain), Compression::kXz},
        std::pair{lz4(plain), Compression::kLz4}, std::pair{bzip2(plain), Compression::kBzip2},
        std::pair{zstd(plain), Compression::kZstd}, std::pair{plain, Compression::kNone}}) {
    std::string joined;
    size_t pieces = 0;
    size_t largest = 0;
    auto status = decompressChunks(data, kind, [&](std::string_view piece) {
      joined.append(piece);
      largest = std::max(largest, piece.size());
      ++pieces;
      return true;
    });
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(joined, plain);
    EXPECT_GT(pieces, 1u);
    EXPECT_LE(largest, 65536u);
    // The consumer can stop early; that is not an error.
    size_t calls = 0;
    EXPECT_TRUE(decompressChunks(data, kind, [&](std::string_view) { return ++calls < 2; }).ok());
    EXPECT_EQ(calls, 2u);
  }
}

TEST(Decompress, OutputIsCapped) {
  std::string plain = sample();
  for (auto [data, kind] :
       {std::pair{lz4(plain), Compression::kLz4}, std::pair{bzip2(plain), Compression::kBzip2},
        std::pair{zstd(plain), Compression::kZstd}}) {
    auto r = decompress(data, kind, 1000);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  }
}

TEST(Decompress, ByFileExtension) {
  testing::TempDir dir;
  std::string plain = sample();
  dir.write("x_Packages.lz4", lz4(plain));
  HostRoot root(dir.path());
  EXPECT_EQ(*readMaybeCompressed(root, "/x_Packages.lz4"), plain);
  dir.write("z-updateinfo.xml.zst", zstd(plain));
  EXPECT_EQ(*readMaybeCompressed(root, "/z-updateinfo.xml.zst"), plain);
  dir.write("w-primary.sqlite.bz2", bzip2(plain));
  EXPECT_EQ(*readMaybeCompressed(root, "/w-primary.sqlite.bz2"), plain);
  dir.write("empty_Packages", "");
  EXPECT_EQ(*readMaybeCompressed(root, "/empty_Packages"), "");
  std::filesystem::create_directories(dir / "folder.gz");
  auto folder = readMaybeCompressed(root, "/folder.gz");
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.error().message().find("folder.gz"), std::string::npos);
  dir.write("y_Packages.xz", "garbage");
  auto r = readMaybeCompressed(root, "/y_Packages.xz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("y_Packages.xz"), std::string::npos);
}

// Files are read a piece at a time (256 KiB): input that does not compress
// well spans many reads, and a frame or member may end anywhere in a piece.
TEST(Decompress, LargeFilesStreamAcrossReads) {
  std::mt19937_64 rng(42);
  std::string plain;
  while (plain.size() < (3u << 20)) plain += std::to_string(rng()) + "\n";
  testing::TempDir dir;
  HostRoot root(dir.path());
  std::string two_members =
      gzipCompress(plain.substr(0, 1000003)) + gzipCompress(plain.substr(1000003));
  for (const auto& [name, data] :
       {std::pair{std::string("a.gz"), two_members}, std::pair{std::string("a.xz"), xz(plain)},
        std::pair{std::string("a.lz4"), lz4(plain)}, std::pair{std::string("a.bz2"), bzip2(plain)},
        std::pair{std::string("a.zst"), zstd(plain)}, std::pair{std::string("a"), plain}}) {
    ASSERT_GT(data.size(), 1u << 20) << name;
    dir.write(name, data);
    auto whole = readMaybeCompressed(root, "/" + name);
    ASSERT_TRUE(whole.ok()) << name << ": " << whole.error().message();
    EXPECT_TRUE(*whole == plain) << name;
    if (name == "a") continue;
    dir.write("cut-" + name, data.substr(0, data.size() - 1000));
    auto cut = readMaybeCompressed(root, "/cut-" + name);
    ASSERT_FALSE(cut.ok()) << name;
    EXPECT_EQ(cut.error().code(), ErrorCode::kCorrupt) << cut.error().message();
    EXPECT_NE(cut.error().message().find("cut-" + name), std::string::npos);
  }
}

}  // namespace
}  // namespace demarc
