#include "agent/evidence/signer.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "agent/core/encoding.h"
#include "tests/support/temp_dir.h"

namespace demarc::evidence {
namespace {

// The example from the DSSE protocol specification.
TEST(Pae, MatchesDsseSpec) {
  EXPECT_EQ(preAuthEncoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(preAuthEncoding("", ""), "DSSEv1 0  0 ");
}

TEST(Signer, SignsAndVerifies) {
  auto signer = Signer::generate();
  ASSERT_TRUE(signer.ok());
  auto sig = signer->sign("message");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(verifyEd25519(signer->publicKeyRaw(), "message", *sig));
  EXPECT_FALSE(verifyEd25519(signer->publicKeyRaw(), "messagf", *sig));
  std::string bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(verifyEd25519(signer->publicKeyRaw(), "message", bad));
  auto other = Signer::generate();
  EXPECT_FALSE(verifyEd25519(other->publicKeyRaw(), "message", *sig));
  EXPECT_FALSE(verifyEd25519("short", "message", *sig));
}

TEST(Signer, KeyIdIsSha256OfRawPublicKey) {
  auto signer = Signer::generate();
  EXPECT_EQ(signer->keyId(), toHex(sha256(signer->publicKeyRaw())));
  EXPECT_EQ(signer->keyId().size(), 64u);
}

TEST(Signer, CreatesKeyWithMode0600AndReloadsIt) {
  testing::TempDir dir;
  auto path = dir / "state/signing.key";
  auto created = Signer::loadOrCreate(path);
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_TRUE(created->createdNow());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = Signer::loadOrCreate(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_FALSE(loaded->createdNow());
  EXPECT_EQ(loaded->keyId(), created->keyId());
  // The public half written beside it is the same key.
  auto pub = loadPublicKeyFile(dir / "state/signing.key.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, created->publicKeyRaw());
}

TEST(Signer, RefusesKeyReadableByOthers) {
  testing::TempDir dir;
  auto path = dir / "signing.key";
  ASSERT_TRUE(Signer::loadOrCreate(path).ok());
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto refused = Signer::loadOrCreate(path);
    ASSERT_FALSE(refused.ok()) << std::oct << mode;
    EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_NE(refused.error().message().find("chmod 600"), std::string::npos);
  }
}

TEST(Signer, RefusesGarbageKeyFile) {
  testing::TempDir dir;
  auto path = dir.write("signing.key", "not a key");
  ::chmod(path.c_str(), 0600);
  auto r = Signer::loadOrCreate(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(path.string()), std::string::npos);
}

TEST(PublicKeyFile, RejectsNonKeys) {
  testing::TempDir dir;
  auto r = loadPublicKeyFile(dir.write("x.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("x.pem"), std::string::npos);
}

}  // namespace
}  // namespace demarc::evidence
