#include "agent/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <vector>

#include "agent/core/encoding.h"

namespace demarc::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Trimall: no blanks around the value, runs of blanks inside become one
// space.
std::string trimAll(std::string_view value) {
  std::string out;
  bool blank = false;
  for (char c : value) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      blank = !out.empty();
      continue;
    }
    if (blank) out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

struct Url {
  std::string scheme;
  std::string host;  // with a port other than the scheme's default
  std::string path;
  std::string query;
};

Result<Url> parseUrl(std::string_view url) {
  Url out;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "not an absolute URL: " + std::string(url));
  }
  out.scheme = lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  rest.remove_prefix(path_start == std::string_view::npos ? rest.size() : path_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "URL without a plain host: " + std::string(url));
  }
  std::string host = lower(authority);
  if ((out.scheme == "https" && host.ends_with(":443")) ||
      (out.scheme == "http" && host.ends_with(":80"))) {
    host.resize(host.rfind(':'));
  }
  out.host = std::move(host);
  size_t q = rest.find('?');
  out.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(rest.substr(q + 1));
  return out;
}

// RFC 3986 section 5.2.4, and empty segments dropped: services other than
// S3 sign the path in this form.
std::string normalizePath(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segments;
  std::string_view rest = path;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

// Query pairs as sent (already encoded), sorted by name, then value.
std::string canonicalQuery(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    pairs.emplace_back(pair.substr(0, eq),
                       eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(name);
    out.push_back('=');
    out.append(value);
  }
  return out;
}

const std::string* findHeader(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (sameName(n, name)) return &v;
  }
  return nullptr;
}

void setHeader(HttpRequest& request, std::string_view name, std::string value) {
  std::erase_if(request.headers, [&](const auto& h) { return sameName(h.first, name); });
  request.headers.emplace_back(std::string(name), std::move(value));
}

std::string amzDate(SystemTime now) {
  time_t secs = std::chrono::system_clock::to_time_t(now);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

std::string uriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<std::string> canonicalRequest(const HttpRequest& request, bool s3,
                                     std::string* signed_headers) {
  DEMARC_ASSIGN_OR_RETURN(Url url, parseUrl(request.url));
  // Header names in lower case, in order; repeated names join with ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string n = lower(name);
    if (n == "authorization" || n == "user-agent" || n == "expect" || n == "x-amzn-trace-id") {
      continue;
    }
    auto [it, fresh] = headers.try_emplace(n, trimAll(value));
    if (!fresh) it->second += "," + trimAll(value);
  }
  headers.try_emplace("host", url.host);

  std::string out = request.method;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.push_back('\n');
  // S3 signs the path as sent; the others normalize it and encode it again.
  if (s3) {
    out += url.path.empty() ? "/" : url.path;
  } else {
    out += uriEncode(normalizePath(url.path), true);
  }
  out.push_back('\n');
  out += canonicalQuery(url.query);
  out.push_back('\n');
  std::string names;
  for (const auto& [name, value] : headers) {
    out += name + ":" + value + "\n";
    if (!names.empty()) names.push_back(';');
    names += name;
  }
  out.push_back('\n');
  out += names;
  out.push_back('\n');
  const std::string* payload_hash = findHeader(request, "x-amz-content-sha256");
  out += payload_hash != nullptr ? *payload_hash : toHex(sha256(request.body));
  if (signed_headers != nullptr) *signed_headers = std::move(names);
  return out;
}

std::string SigV4Signer::signingKey(const Credentials& credentials, const SigningScope& scope,
                                    std::string_view day) {
  std::string key_for = credentials.secret_access_key + '\n' + std::string(day) + '\n' +
                        scope.region + '\n' + scope.service;
  std::lock_guard lock(mu_);
  if (key_for != key_for_) {
    std::string k = hmac("AWS4" + credentials.secret_access_key, day);
    k = hmac(k, scope.region);
    k = hmac(k, scope.service);
    key_ = hmac(k, "aws4_request");
    key_for_ = std::move(key_for);
  }
  return key_;
}

Status SigV4Signer::sign(HttpRequest& request, const Credentials& credentials,
                         const SigningScope& scope, SystemTime now) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Error(ErrorCode::kInvalidArgument, "no AWS credentials to sign the request with");
  }
  const bool s3 = scope.service == "s3";
  const std::string date = amzDate(now);
  const std::string day = date.substr(0, 8);
  std::erase_if(request.headers, [](const auto& h) { return sameName(h.first, "authorization"); });
  setHeader(request, "X-Amz-Date", date);
  if (!credentials.session_token.empty()) {
    setHeader(request, "X-Amz-Security-Token", credentials.session_token);
  }
  if (s3) setHeader(request, "X-Amz-Content-SHA256", toHex(sha256(request.body)));

  std::string signed_headers;
  DEMARC_ASSIGN_OR_RETURN(std::string canonical, canonicalRequest(request, s3, &signed_headers));
  const std::string credential_scope =
      day + "/" + scope.region + "/" + scope.service + "/aws4_request";
  const std::string string_to_sign = std::string(kAlgorithm) + "\n" + date + "\n" +
                                     credential_scope + "\n" + toHex(sha256(canonical));
  const std::string signature = toHex(hmac(signingKey(credentials, scope, day), string_to_sign));
  request.headers.emplace_back(
      "Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                           credential_scope + ", SignedHeaders=" + signed_headers +
                           ", Signature=" + signature);
  return okStatus();
}

}  // namespace demarc::aws
