#include "agent/posture/cve_feed.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>

#include "agent/core/decompress.h"
#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/posture/debian_version.h"

namespace demarc::posture {
namespace {

using Json = nlohmann::json;

// The tracker's shape: {SOURCE: {CVE: {"releases": {RELEASE: {"status":
// ..., "fixed_version": ..., "urgency": ...}}, ...}}}. Depth counts open
// objects; keys[d] is the key that opened depth d + 1.
class TrackerSax : public nlohmann::json_sax<Json> {
 public:
  TrackerSax(std::string_view release, TrackerEntries& out) : release_(release), out_(out) {}

  bool null() override { return scalar(""); }
  bool boolean(bool /*value*/) override { return scalar(""); }
  bool number_integer(number_integer_t /*value*/) override { return scalar(""); }
  bool number_unsigned(number_unsigned_t /*value*/) override { return scalar(""); }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override {
    return scalar("");
  }
  bool string(string_t& value) override { return scalar(value); }
  bool binary(binary_t& /*value*/) override { return scalar(""); }

  bool start_object(std::size_t /*size*/) override {
    if (array_depth_ > 0) return true;
    ++depth_;
    if (depth_ == 5 && inRelease()) current_ = TrackerEntry{keys_[1], "", "", ""};
    return true;
  }
  bool end_object() override {
    if (array_depth_ > 0) return true;
    if (depth_ == 5 && current_) {
      out_[keys_[0]].push_back(std::move(*current_));
      current_.reset();
      ++entries_;
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t /*size*/) override {
    if (array_depth_ == 0 && depth_ <= 1) return scalar("");  // the same shape error
    ++array_depth_;
    return true;
  }
  bool end_array() override {
    --array_depth_;
    return true;
  }
  bool key(string_t& value) override {
    if (array_depth_ > 0) return true;
    if (depth_ >= 1 && depth_ <= 5) keys_[depth_ - 1] = value;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) override {
    error_ = "byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

  size_t entries() const { return entries_; }
  const std::string& error() const { return error_; }

 private:
  // Within releases.RELEASE of a CVE: depth 5 is the release's object.
  bool inRelease() const { return keys_[2] == "releases" && keys_[3] == release_; }

  bool scalar(std::string_view value) {
    if (array_depth_ > 0) return true;
    if (depth_ == 0) {
      error_ = "the feed is not a JSON object of source packages";
      return false;
    }
    if (depth_ == 1) {
      error_ = "source package \"" + keys_[0] + "\": expected an object of CVEs";
      return false;
    }
    if (depth_ == 5 && current_) {
      const std::string& k = keys_[4];
      if (k == "status") current_->status = value;
      if (k == "fixed_version") current_->fixed_version = value;
      if (k == "urgency") current_->urgency = value;
    }
    return true;
  }

  std::string release_;
  TrackerEntries& out_;
  std::string keys_[5];
  size_t depth_ = 0;
  size_t array_depth_ = 0;
  std::optional<TrackerEntry> current_;
  size_t entries_ = 0;
  std::string error_;
};

// Reads a file through a fixed buffer and hashes every byte it hands out,
// so the digest is that of the bytes the parser saw.
class HashingFileBuf : public std::streambuf {
 public:
  explicit HashingFileBuf(int fd) : fd_(fd), md_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(md_.get(), EVP_sha256(), nullptr);
  }
  std::string hexDigest() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_.get(), out, &len);
    return toHex(std::string_view(reinterpret_cast<const char*>(out), len));
  }
  bool failed() const { return failed_; }

 protected:
  int_type underflow() override {
    ssize_t n = 0;
    do {
      n = ::read(fd_, buffer_, sizeof(buffer_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) failed_ = true;
    if (n <= 0) return traits_type::eof();
    EVP_DigestUpdate(md_.get(), buffer_, static_cast<size_t>(n));
    setg(buffer_, buffer_, buffer_ + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  int fd_;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md_{nullptr, &EVP_MD_CTX_free};
  char buffer_[1 << 16];
  bool failed_ = false;
};

}  // namespace

Result<TrackerEntries> parseDebianTracker(std::istream& json, std::string_view release) {
  TrackerEntries out;
  TrackerSax sax(release, out);
  bool ok = false;
  try {
    ok = Json::sax_parse(json, &sax, nlohmann::detail::input_format_t::json, true, false);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kCorrupt, e.what());
  }
  if (!ok) {
    return Error(ErrorCode::kCorrupt,
                 sax.error().empty() ? std::string("not valid JSON") : sax.error());
  }
  return out;
}

std::vector<OpenCve> matchTracker(const TrackerEntries& entries,
                                  const std::vector<InstalledPackage>& installed) {
  // Source package and version -> the binaries installed from it.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> sources;
  for (const auto& p : installed) sources[{p.source, p.source_version}].push_back(p.name);
  std::vector<OpenCve> out;
  for (const auto& [key, binaries] : sources) {
    const auto& [source, version] = key;
    auto it = entries.find(source);
    if (it == entries.end()) continue;
    for (const TrackerEntry& e : it->second) {
      OpenCve cve{e.cve, source, binaries, version, "", e.urgency};
      if (e.status == "resolved") {
        if (e.fixed_version.empty() || e.fixed_version == "0") continue;
        if (compareDebianVersions(version, e.fixed_version) >= 0) continue;
        cve.fixed_version = e.fixed_version;
      } else if (e.status != "open") {
        continue;  // "undetermined": the tracker does not know yet
      }
      out.push_back(std::move(cve));
    }
  }
  std::sort(out.begin(), out.end(), [](const OpenCve& a, const OpenCve& b) {
    return std::tie(a.source_package, a.installed_version, a.cve) <
           std::tie(b.source_package, b.installed_version, b.cve);
  });
  return out;
}

Result<CveReport> readCveFeed(const std::string& path, std::string_view release,
                              const std::vector<InstalledPackage>& installed) {
  CveReport report;
  report.feed.path = path;
  report.feed.release = std::string(release);
  auto fail = [&](const Error& e) { return e.withContext(path); };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(errnoError("open", errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errnoError("stat", errno));
  if (!S_ISREG(st.st_mode)) return fail(Error(ErrorCode::kInvalidArgument, "not a regular file"));
  report.feed.modified = fromUnixTime(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

  Result<TrackerEntries> entries = TrackerEntries{};
  Compression kind = compressionOf(path);
  if (kind == Compression::kNone) {
    HashingFileBuf buf(fd.get());
    std::istream in(&buf);
    entries = parseDebianTracker(in, release);
    if (buf.failed()) return fail(Error(ErrorCode::kIo, "read failed"));
    report.feed.sha256 = buf.hexDigest();
  } else {
    DEMARC_ASSIGN_OR_RETURN(std::string raw, readFdPrefix(fd.get(), 1ULL << 30, path));
    report.feed.sha256 = toHex(sha256(raw));
    auto text = decompress(raw, kind);
    if (!text.ok()) return fail(text.error());
    raw.clear();
    std::istringstream in(std::move(*text));
    entries = parseDebianTracker(in, release);
  }
  if (!entries.ok()) return fail(entries.error());
  for (const auto& [source, list] : *entries) report.feed.entries += list.size();
  report.open = matchTracker(*entries, installed);
  return report;
}

}  // namespace demarc::posture
