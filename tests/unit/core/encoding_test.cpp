#include "agent/core/encoding.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(toHex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(toHex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileMatchesBytes) {
  testing::TempDir dir;
  std::string data(200000, 'x');
  auto path = dir.write("f", data);
  auto digest = sha256File(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, sha256(data));
  auto missing = sha256File(dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
}

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(toHex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(fromHex("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(fromHex("0"), std::nullopt);
  EXPECT_EQ(fromHex("zz"), std::nullopt);
}

// RFC 4648 section 10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    EXPECT_EQ(base64Decode(encoded), plain);
  }
}

TEST(Base64, RejectsMalformed) {
  EXPECT_EQ(base64Decode("Zg="), std::nullopt);       // length
  EXPECT_EQ(base64Decode("Z!=="), std::nullopt);      // alphabet
  EXPECT_EQ(base64Decode("Zh=="), std::nullopt);      // non-zero padding bits
  EXPECT_EQ(base64Decode("Zg==Zg=="), std::nullopt);  // padding in the middle
  EXPECT_EQ(base64Decode("Z=g="), std::nullopt);
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64Decode(base64Encode(all)), all);
}

}  // namespace
}  // namespace demarc
