#include "agent/aws/credentials.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <map>

#include "agent/core/files.h"
#include "agent/core/text.h"

namespace demarc::aws {
namespace {

std::optional<std::string> nonEmpty(const Environment& env, const std::string& name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

class EnvironmentSource : public CredentialSource {
 public:
  explicit EnvironmentSource(Environment env) : env_(std::move(env)) {}
  std::string name() const override { return "environment"; }
  Result<SourcedCredentials> fetch() override {
    auto id = nonEmpty(env_, "AWS_ACCESS_KEY_ID");
    auto secret = nonEmpty(env_, "AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) return Error(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID is not set");
    if (!id || !secret) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                       " is not set although " +
                       (id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is");
    }
    SourcedCredentials out;
    out.credentials = {*id, *secret, nonEmpty(env_, "AWS_SESSION_TOKEN").value_or("")};
    out.source = "environment";
    return out;
  }

 private:
  Environment env_;
};

// One section of an INI file: key -> value, with the line each came from.
struct IniSection {
  std::map<std::string, std::pair<std::string, size_t>> values;
};

// The sections of an AWS shared file ("[name]" headers, "key = value"
// lines, '#' and ';' comments). Errors name the file and line.
Result<std::map<std::string, IniSection>> parseIni(const std::string& text,
                                                   const std::string& path) {
  std::map<std::string, IniSection> sections;
  IniSection* current = nullptr;
  size_t line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    line = trimSpace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return Error(ErrorCode::kInvalidArgument,
                     path + ":" + std::to_string(line_no) + ": a section header needs a closing ]");
      }
      current = &sections[std::string(trimSpace(line.substr(1, line.size() - 2)))];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   path + ":" + std::to_string(line_no) + ": expected key = value");
    }
    if (current == nullptr) continue;  // before any section: ignored, as the CLI does
    current->values[std::string(trimSpace(line.substr(0, eq)))] = {
        std::string(trimSpace(line.substr(eq + 1))), line_no};
  }
  return sections;
}

class SharedFilesSource : public CredentialSource {
 public:
  explicit SharedFilesSource(Environment env) : env_(std::move(env)) {}
  std::string name() const override { return "shared credentials and config files"; }

  Result<SourcedCredentials> fetch() override {
    std::string home = nonEmpty(env_, "HOME").value_or("/root");
    std::string profile = nonEmpty(env_, "AWS_PROFILE").value_or("default");
    std::string credentials_path =
        nonEmpty(env_, "AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials");
    std::string config_path = nonEmpty(env_, "AWS_CONFIG_FILE").value_or(home + "/.aws/config");
    // The credentials file names sections by profile; the config file says
    // "profile NAME", except for the default profile.
    struct Candidate {
      std::string path;
      std::string section;
    };
    bool any_file = false;
    for (const Candidate& c :
         {Candidate{credentials_path, profile},
          Candidate{config_path, profile == "default" ? profile : "profile " + profile}}) {
      auto text = readFilePrefix(c.path, 1 << 20);
      if (!text.ok()) {
        if (text.error().code() == ErrorCode::kNotFound) continue;
        return text.error();
      }
      any_file = true;
      DEMARC_ASSIGN_OR_RETURN(auto sections, parseIni(*text, c.path));
      auto section = sections.find(c.section);
      if (section == sections.end()) continue;
      const auto& v = section->second.values;
      auto id = v.find("aws_access_key_id");
      auto secret = v.find("aws_secret_access_key");
      if (id == v.end() && secret == v.end()) {
        if (v.count("role_arn") || v.count("sso_session") || v.count("sso_start_url") ||
            v.count("credential_process")) {
          return Error(ErrorCode::kInvalidArgument,
                       c.path + " [" + c.section +
                           "]: only static keys are read (aws_access_key_id and "
                           "aws_secret_access_key); roles, SSO and credential_process are not");
        }
        continue;
      }
      if (id == v.end() || secret == v.end() || id->second.first.empty() ||
          secret->second.first.empty()) {
        return Error(ErrorCode::kInvalidArgument, c.path + " [" + c.section +
                                                      "]: needs both aws_access_key_id and " +
                                                      "aws_secret_access_key");
      }
      SourcedCredentials out;
      out.credentials.access_key_id = id->second.first;
      out.credentials.secret_access_key = secret->second.first;
      if (auto token = v.find("aws_session_token"); token != v.end()) {
        out.credentials.session_token = token->second.first;
      }
      out.source = c.path + " [" + c.section + "]";
      return out;
    }
    if (profile != "default" && any_file) {
      return Error(ErrorCode::kInvalidArgument, "AWS_PROFILE=" + profile + ": no such profile in " +
                                                    credentials_path + " or " + config_path);
    }
    return Error(ErrorCode::kNotFound, "no credentials for profile " + profile + " in " +
                                           credentials_path + " or " + config_path);
  }

 private:
  Environment env_;
};

// The container endpoint may be reached over plain HTTP only on the
// addresses ECS and EKS use, or loopback.
bool plainHttpAllowed(std::string_view url) {
  for (std::string_view host :
       {"http://169.254.170.2", "http://169.254.170.23", "http://[fd00:ec2::23]", "http://127.",
        "http://localhost", "http://[::1]"}) {
    if (url.starts_with(host)) {
      char next = url.size() > host.size() ? url[host.size()] : '/';
      if (host.back() == '.' || next == '/' || next == ':') return true;
    }
  }
  return false;
}

class ContainerSource : public CredentialSource {
 public:
  ContainerSource(Environment env, std::string relative_base)
      : env_(std::move(env)), relative_base_(std::move(relative_base)) {}
  std::string name() const override { return "container credentials endpoint"; }

  Result<SourcedCredentials> fetch() override {
    std::string url;
    if (auto relative = nonEmpty(env_, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      url = relative_base_ + *relative;
    } else if (auto full = nonEmpty(env_, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      url = *full;
      if (!url.starts_with("https://") && !plainHttpAllowed(url)) {
        return Error(ErrorCode::kInvalidArgument,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain HTTP only to loopback or the "
                     "ECS/EKS credential addresses, got " +
                         url);
      }
    } else {
      return Error(ErrorCode::kNotFound, "no container credentials endpoint is set");
    }
    HttpRequest r;
    r.url = url;
    r.connect_timeout = std::chrono::seconds(2);
    r.total_timeout = std::chrono::seconds(5);
    r.bypass_proxy = true;
    r.max_response_bytes = 64 << 10;
    if (auto file = nonEmpty(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      DEMARC_ASSIGN_OR_RETURN(std::string token, readFilePrefix(*file, 16 << 10));
      r.headers.emplace_back("Authorization", std::string(trimSpace(token)));
    } else if (auto token = nonEmpty(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      r.headers.emplace_back("Authorization", *token);
    }
    DEMARC_ASSIGN_OR_RETURN(HttpResponse response, http_.send(r));
    if (response.status != 200) {
      return Error(ErrorCode::kUnavailable, "container credentials endpoint " + url + ": HTTP " +
                                                std::to_string(response.status));
    }
    DEMARC_ASSIGN_OR_RETURN(
        SourcedCredentials out,
        parseCredentialJson(response.body, "container credentials endpoint " + url));
    out.source = "container credentials endpoint " + url;
    return out;
  }

 private:
  Environment env_;
  std::string relative_base_;
  HttpClient http_;
};

class InstanceRoleSource : public CredentialSource {
 public:
  InstanceRoleSource(std::string endpoint, std::chrono::milliseconds timeout)
      : imds_(std::move(endpoint), timeout) {}
  std::string name() const override { return "instance profile (IMDSv2)"; }

  Result<SourcedCredentials> fetch() override {
    auto token = imds_.token(std::chrono::seconds(21600));
    if (!token.ok()) {
      // Not on EC2 (or metadata turned off): this source is not configured.
      return Error(ErrorCode::kNotFound, "instance metadata: " + token.error().message());
    }
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    DEMARC_ASSIGN_OR_RETURN(HttpResponse roles, imds_.get(base, *token));
    if (roles.status == 404) {
      return Error(ErrorCode::kNotFound, "the instance has no instance profile (IAM role)");
    }
    if (roles.status != 200) {
      return Error(ErrorCode::kUnavailable,
                   "instance metadata " + base + ": HTTP " + std::to_string(roles.status));
    }
    std::string role(trimSpace(roles.body.substr(0, roles.body.find('\n'))));
    if (role.empty() || role.find('/') != std::string::npos) {
      return Error(ErrorCode::kCorrupt, "instance metadata " + base + ": no role name");
    }
    DEMARC_ASSIGN_OR_RETURN(HttpResponse creds, imds_.get(base + role, *token));
    if (creds.status != 200) {
      return Error(ErrorCode::kUnavailable,
                   "instance metadata " + base + role + ": HTTP " + std::to_string(creds.status));
    }
    DEMARC_ASSIGN_OR_RETURN(SourcedCredentials out,
                            parseCredentialJson(creds.body, "instance metadata " + base + role));
    out.source = "instance role " + role;
    return out;
  }

 private:
  ImdsClient imds_;
};

}  // namespace

Environment processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<SourcedCredentials> parseCredentialJson(std::string_view json, const std::string& what) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error(ErrorCode::kCorrupt, what + ": the reply is not a JSON object");
  }
  if (doc.contains("Code") && doc["Code"].is_string() && doc["Code"] != "Success") {
    return Error(ErrorCode::kUnavailable, what + ": Code " + doc["Code"].get<std::string>());
  }
  auto field = [&](const char* name) -> std::string {
    auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  SourcedCredentials out;
  out.credentials = {field("AccessKeyId"), field("SecretAccessKey"), field("Token")};
  for (const char* required : {"AccessKeyId", "SecretAccessKey"}) {
    if (field(required).empty()) {
      return Error(ErrorCode::kCorrupt, what + ": the reply has no " + std::string(required));
    }
  }
  if (std::string expiration = field("Expiration"); !expiration.empty()) {
    out.expiration = parseTime(expiration);
    if (!out.expiration) {
      return Error(ErrorCode::kCorrupt,
                   what + ": Expiration '" + expiration + "' is not an RFC 3339 time");
    }
  }
  return out;
}

std::unique_ptr<CredentialSource> environmentSource(Environment env) {
  return std::make_unique<EnvironmentSource>(std::move(env));
}
std::unique_ptr<CredentialSource> sharedFilesSource(Environment env) {
  return std::make_unique<SharedFilesSource>(std::move(env));
}
std::unique_ptr<CredentialSource> containerSource(Environment env, std::string relative_base) {
  return std::make_unique<ContainerSource>(std::move(env), std::move(relative_base));
}
std::unique_ptr<CredentialSource> instanceRoleSource(std::string imds_endpoint,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<InstanceRoleSource>(std::move(imds_endpoint), timeout);
}

CredentialChain::CredentialChain(std::vector<std::unique_ptr<CredentialSource>> sources,
                                 const Clock& clock, std::chrono::seconds refresh_before)
    : sources_(std::move(sources)), clock_(clock), refresh_before_(refresh_before) {}

bool CredentialChain::fresh(const SourcedCredentials& c, SystemTime now) const {
  return !c.expiration || now + refresh_before_ < *c.expiration;
}

Result<SourcedCredentials> CredentialChain::fetch() {
  if (chosen_ != nullptr) return chosen_->fetch();
  std::string tried;
  for (auto& source : sources_) {
    auto got = source->fetch();
    if (got.ok()) {
      chosen_ = source.get();
      return got;
    }
    if (got.error().code() != ErrorCode::kNotFound) {
      return got.error().withContext("AWS credentials from " + source->name());
    }
    tried += (tried.empty() ? "" : "; ") + source->name() + ": " + got.error().message();
  }
  return Error(ErrorCode::kNotFound, "no AWS credentials found (" + tried + ")");
}

Result<SourcedCredentials> CredentialChain::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    SystemTime now = clock_.now();
    if (current_ && fresh(*current_, now)) return *current_;
    if (!refreshing_) break;
    // Someone else is refreshing: keep using what is still valid.
    if (current_ && (!current_->expiration || now < *current_->expiration)) return *current_;
    refreshed_.wait(lock);
  }
  refreshing_ = true;
  lock.unlock();
  auto got = fetch();
  lock.lock();
  refreshing_ = false;
  refreshed_.notify_all();
  if (!got.ok()) {
    // Credentials that have not expired yet still serve.
    if (current_ && current_->expiration && clock_.now() < *current_->expiration) return *current_;
    return got.error();
  }
  current_ = *got;
  return got;
}

void CredentialChain::invalidate() {
  std::lock_guard lock(mu_);
  current_.reset();
}

}  // namespace demarc::aws
