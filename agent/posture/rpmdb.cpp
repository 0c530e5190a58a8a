#include "agent/posture/rpmdb.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>

namespace demarc::posture {
namespace {

constexpr uint32_t kTagName = 1000;
constexpr uint32_t kTagVersion = 1001;
constexpr uint32_t kTagRelease = 1002;
constexpr uint32_t kTagEpoch = 1003;
constexpr uint32_t kTagInstallTime = 1008;
constexpr uint32_t kTagArch = 1022;
constexpr uint32_t kTypeInt32 = 4;
constexpr uint32_t kTypeString = 6;
constexpr uint32_t kTypeI18nString = 9;

uint32_t be32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

}  // namespace

std::string RpmPackage::evr() const {
  std::string out = (epoch.empty() || epoch == "0") ? "" : epoch + ":";
  out += version;
  if (!release.empty()) out += "-" + release;
  return out;
}

Result<RpmPackage> parseRpmHeader(std::string_view blob) {
  if (blob.size() < 8) return Error(ErrorCode::kCorrupt, "rpm header shorter than 8 bytes");
  uint64_t count = be32(blob, 0);
  uint64_t data_size = be32(blob, 4);
  uint64_t data_start = 8 + count * 16;
  if (count > (1u << 16) || data_start + data_size > blob.size()) {
    return Error(ErrorCode::kCorrupt, "rpm header index or data larger than the blob");
  }
  std::string_view data = blob.substr(data_start, data_size);
  RpmPackage pkg;
  for (uint64_t i = 0; i < count; ++i) {
    size_t at = 8 + i * 16;
    uint32_t tag = be32(blob, at);
    uint32_t type = be32(blob, at + 4);
    uint32_t offset = be32(blob, at + 8);
    if (offset >= data.size()) continue;
    std::string* field = nullptr;
    switch (tag) {
      case kTagName:
        field = &pkg.name;
        break;
      case kTagVersion:
        field = &pkg.version;
        break;
      case kTagRelease:
        field = &pkg.release;
        break;
      case kTagArch:
        field = &pkg.arch;
        break;
      case kTagEpoch:
        if (type == kTypeInt32 && offset + 4 <= data.size()) {
          pkg.epoch = std::to_string(be32(data, offset));
        }
        continue;
      case kTagInstallTime:
        if (type == kTypeInt32 && offset + 4 <= data.size()) pkg.install_time = be32(data, offset);
        continue;
      default:
        continue;
    }
    if (type != kTypeString && type != kTypeI18nString) continue;
    size_t end = data.find('\0', offset);
    if (end == std::string_view::npos) {
      return Error(ErrorCode::kCorrupt, "rpm header string runs past the data store");
    }
    *field = std::string(data.substr(offset, end - offset));
  }
  if (pkg.name.empty() || pkg.version.empty()) {
    return Error(ErrorCode::kCorrupt, "rpm header without a name or version");
  }
  return pkg;
}

Result<std::vector<RpmPackage>> readRpmDatabase(const HostRoot& root,
                                                std::vector<std::string>* problems) {
  const std::string path = "/var/lib/rpm/rpmdb.sqlite";
  // rpm keeps the database in WAL mode, so SQLite must open it by its real
  // name (it finds -wal and -shm beside it). For an image, that name is
  // used only when it is the same file the contained open reaches: a
  // symlink out of the image is refused.
  DEMARC_ASSIGN_OR_RETURN(UniqueFd contained, root.open(path));
  struct stat inside {};
  struct stat outside {};
  std::string real = root.path(path).string();
  if (::fstat(contained.get(), &inside) != 0 || ::stat(real.c_str(), &outside) != 0 ||
      inside.st_dev != outside.st_dev || inside.st_ino != outside.st_ino) {
    return Error(ErrorCode::kPermissionDenied,
                 real + ": resolves outside the scanned root; not opened");
  }
  sqlite3* raw = nullptr;
  std::string uri = "file:" + real + "?mode=ro";
  int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  auto fail = [&](const std::string& what) {
    return Error(ErrorCode::kCorrupt,
                 real + ": " + what + ": " + (db ? sqlite3_errmsg(db.get()) : "out of memory"));
  };
  if (rc != SQLITE_OK) return fail("cannot open");
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT blob FROM Packages", -1, &raw_stmt, nullptr) !=
      SQLITE_OK) {
    return fail("not an rpm database");
  }
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw_stmt);
  std::vector<RpmPackage> out;
  size_t bad = 0;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const void* blob = sqlite3_column_blob(stmt.get(), 0);
    int size = sqlite3_column_bytes(stmt.get(), 0);
    auto pkg = parseRpmHeader(
        std::string_view(static_cast<const char*>(blob), blob ? static_cast<size_t>(size) : 0));
    if (pkg.ok()) {
      out.push_back(std::move(*pkg));
    } else {
      ++bad;
    }
  }
  if (rc != SQLITE_DONE) return fail("reading packages");
  if (bad > 0 && problems) {
    problems->push_back(root.path(path).string() + ": " + std::to_string(bad) +
                        " package headers could not be read");
  }
  return out;
}

}  // namespace demarc::posture
