#include "agent/evidence/signer.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "agent/core/encoding.h"
#include "agent/core/files.h"

namespace demarc::evidence {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string opensslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> rawPublicKey(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return Error(ErrorCode::kInvalidArgument, "not an Ed25519 key");
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != 32) {
    return Error(ErrorCode::kInternal, "cannot read public key: " + opensslError());
  }
  return raw;
}

Status checkKeyFilePermissions(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errnoError("stat " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, path.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return Error(ErrorCode::kPermissionDenied,
                 "refusing signing key " + path.string() + ": mode " + mode +
                     " lets group or others access it; run: chmod 600 " + path.string());
  }
  if (st.st_uid != ::geteuid()) {
    return Error(ErrorCode::kPermissionDenied, "refusing signing key " + path.string() +
                                                   ": owned by uid " + std::to_string(st.st_uid) +
                                                   ", not by this process (uid " +
                                                   std::to_string(::geteuid()) + ")");
  }
  return okStatus();
}

Result<EvpPkeyPtr> generateKey() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Error(ErrorCode::kInternal, "Ed25519 key generation failed: " + opensslError());
  return key;
}

}  // namespace

std::string preAuthPrefix(std::string_view payload_type, size_t payload_size) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload_size);
  out += ' ';
  return out;
}

std::string preAuthEncoding(std::string_view payload_type, std::string_view payload) {
  std::string out = preAuthPrefix(payload_type, payload.size());
  out += payload;
  return out;
}

std::string keyIdOf(std::string_view raw_public_key) { return toHex(sha256(raw_public_key)); }

Signer::Signer(EvpPkeyPtr key) : key_(std::move(key)) {
  auto raw = rawPublicKey(key_.get());
  if (!raw.ok()) std::abort();  // callers only construct from Ed25519 keys
  public_raw_ = *raw;
  key_id_ = keyIdOf(public_raw_);
}

Result<Signer> Signer::generate() {
  DEMARC_ASSIGN_OR_RETURN(EvpPkeyPtr key, generateKey());
  Signer signer(std::move(key));
  signer.created_ = std::chrono::system_clock::now();
  signer.created_now_ = true;
  return signer;
}

Result<Signer> Signer::loadOrCreate(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    DEMARC_TRY(ensureDirectory(path.parent_path(), 0700));
    DEMARC_ASSIGN_OR_RETURN(Signer signer, generate());
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), signer.key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
      return Error(ErrorCode::kInternal, "cannot encode private key: " + opensslError());
    }
    DEMARC_TRY(writeFileAtomic(path, bioContents(bio.get()), {.mode = 0600, .fsync = true}));
    std::filesystem::path pub = path;
    pub += ".pub";
    DEMARC_TRY(writeFileAtomic(pub, signer.publicKeyPem(), {.mode = 0644, .fsync = true}));
    return signer;
  }
  DEMARC_TRY(checkKeyFilePermissions(path));
  DEMARC_ASSIGN_OR_RETURN(std::string pem, readFilePrefix(path, 64 * 1024));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error(ErrorCode::kInvalidArgument,
                 "signing key " + path.string() + " is not a PEM private key: " + opensslError());
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Error(ErrorCode::kInvalidArgument,
                 "signing key " + path.string() + " is not an Ed25519 key");
  }
  Signer signer(std::move(key));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    signer.created_ = fromUnixTime(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  return signer;
}

Result<std::string> Signer::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return Error(ErrorCode::kInternal, "Ed25519 sign init failed: " + opensslError());
  }
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Error(ErrorCode::kInternal, "Ed25519 signing failed: " + opensslError());
  }
  sig.resize(len);
  return sig;
}

std::string Signer::publicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) std::abort();
  return bioContents(bio.get());
}

Result<std::string> loadPublicKeyFile(const std::filesystem::path& path) {
  DEMARC_ASSIGN_OR_RETURN(std::string pem, readFilePrefix(path, 64 * 1024));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    BioPtr again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr));
  }
  if (!key) {
    return Error(ErrorCode::kInvalidArgument,
                 path.string() + ": not a PEM public key: " + opensslError());
  }
  auto raw = rawPublicKey(key.get());
  if (!raw.ok()) return raw.error().withContext(path.string());
  return raw;
}

bool verifyEd25519(std::string_view raw_public_key, std::string_view message,
                   std::string_view signature) {
  if (raw_public_key.size() != 32 || signature.size() != 64) return false;
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_public_key.data()),
      raw_public_key.size()));
  if (!key) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  bool ok =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace demarc::evidence
