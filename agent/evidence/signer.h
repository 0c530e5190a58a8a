#pragma once

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "agent/core/clock.h"
#include "agent/core/result.h"

namespace demarc::evidence {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// The DSSE payload type of a demarc batch.
inline constexpr std::string_view kBatchPayloadType = "application/vnd.demarc.batch.v1+jsonl";

// DSSE pre-authentication encoding:
//   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
std::string preAuthEncoding(std::string_view payload_type, std::string_view payload);
// What precedes the payload in it, for signing a payload built in place
// right after it.
std::string preAuthPrefix(std::string_view payload_type, size_t payload_size);

// Key id: hex SHA-256 of the raw 32-byte Ed25519 public key.
std::string keyIdOf(std::string_view raw_public_key);

// An Ed25519 signing key held through OpenSSL's EVP API.
class Signer {
 public:
  // Loads the key at path, or creates it (mode 0600, with PATH.pub beside it)
  // when the file does not exist. Refuses a key file that group or others can
  // read or write, or that another user owns.
  static Result<Signer> loadOrCreate(const std::filesystem::path& path);
  // A fresh key held only in memory (tests, benchmarks).
  static Result<Signer> generate();

  Signer(Signer&&) = default;
  Signer& operator=(Signer&&) = default;

  Result<std::string> sign(std::string_view message) const;
  const std::string& keyId() const { return key_id_; }
  const std::string& publicKeyRaw() const { return public_raw_; }
  std::string publicKeyPem() const;
  // When the key file was created (its mtime), for the enrollment record.
  SystemTime created() const { return created_; }
  bool createdNow() const { return created_now_; }

 private:
  explicit Signer(EvpPkeyPtr key);
  EvpPkeyPtr key_;
  std::string public_raw_;
  std::string key_id_;
  SystemTime created_{};
  bool created_now_ = false;
};

// Raw 32-byte Ed25519 public key from a PEM file (SubjectPublicKeyInfo, or a
// private key whose public half is taken).
Result<std::string> loadPublicKeyFile(const std::filesystem::path& path);

bool verifyEd25519(std::string_view raw_public_key, std::string_view message,
                   std::string_view signature);

}  // namespace demarc::evidence
