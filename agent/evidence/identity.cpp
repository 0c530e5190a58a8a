#include "agent/evidence/identity.h"

#include <openssl/rand.h>

#include <cctype>
#include <cstdio>

#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/evidence/codec.h"

namespace demarc::evidence {
namespace {

std::string readOr(const HostRoot& root, std::string_view path) {
  auto line = root.readLine(path);
  return line.ok() ? *line : std::string();
}

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

v1::HostIdentity readHostIdentity(const HostRoot& root) {
  v1::HostIdentity host;
  host.set_hostname(readOr(root, "/proc/sys/kernel/hostname"));
  host.set_machine_id(readOr(root, "/etc/machine-id"));
  host.set_boot_id(readOr(root, "/proc/sys/kernel/random/boot_id"));
  return host;
}

std::string hostKey(const v1::HostIdentity& host) {
  std::string raw;
  if (!host.instance_id().empty()) {
    raw = host.instance_id();
  } else if (!host.machine_id().empty()) {
    raw = "host-" + host.machine_id();
  } else if (!host.hostname().empty()) {
    raw = "host-" + host.hostname();
  } else {
    raw = "host-unknown";
  }
  for (char& c : raw) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return raw;
}

Result<std::string> loadOrCreateAgentId(const std::filesystem::path& path) {
  auto existing = readFilePrefix(path, 128);
  if (existing.ok()) {
    std::string id = *existing;
    while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
    if (!isUuid(id)) {
      return Error(ErrorCode::kCorrupt, path.string() + " does not hold an agent id (a UUID); " +
                                            "remove it only together with the signing key");
    }
    return id;
  }
  if (existing.error().code() != ErrorCode::kNotFound) return existing.error();
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) return Error(ErrorCode::kInternal, "RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char id[37];
  std::snprintf(id, sizeof(id),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  DEMARC_TRY(ensureDirectory(path.parent_path(), 0700));
  DEMARC_TRY(writeFileAtomic(path, std::string(id) + "\n", {.mode = 0644, .fsync = true}));
  return std::string(id);
}

v1::Record makeEnrollment(const Signer& signer, const std::string& agent_id,
                          const v1::HostIdentity& host, SystemTime now) {
  v1::Record record;
  *record.mutable_time() = toTimestamp(now);
  v1::Enrollment& e = *record.mutable_enrollment();
  e.set_agent_id(agent_id);
  e.set_key_id(signer.keyId());
  e.set_algorithm("ed25519");
  e.set_public_key(base64Encode(signer.publicKeyRaw()));
  e.set_public_key_pem(signer.publicKeyPem());
  *e.mutable_host() = host;
  *e.mutable_key_created() = toTimestamp(signer.created());
  return record;
}

}  // namespace demarc::evidence
