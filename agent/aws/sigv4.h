#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "agent/aws/http_client.h"
#include "agent/core/clock.h"
#include "agent/core/result.h"

namespace demarc::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

// What a request is signed for: "us-east-1" and "s3", "logs" or "ec2".
struct SigningScope {
  std::string region;
  std::string service;
};

// AWS Signature Version 4, header form, as the services demarc calls want
// it: S3 (payload hash header, the path signed as sent), JSON-protocol
// services such as CloudWatch Logs and query-protocol services such as EC2
// (path normalized and encoded once more).
//
// The request's URL must already be percent-encoded (uriEncode); the signer
// adds X-Amz-Date, X-Amz-Security-Token for temporary credentials,
// X-Amz-Content-SHA256 for S3, and Authorization, replacing earlier ones so
// a request can be signed again for a retry. Thread-safe.
class SigV4Signer {
 public:
  Status sign(HttpRequest& request, const Credentials& credentials, const SigningScope& scope,
              SystemTime now);

 private:
  // The signing key depends only on the secret, the day, the region and
  // the service: it is derived once a day, not per request.
  std::string signingKey(const Credentials& credentials, const SigningScope& scope,
                         std::string_view day);

  std::mutex mu_;
  std::string key_for_;  // secret, day, region and service the key is for
  std::string key_;
};

// Percent-encoding for URLs that are signed: every byte but the unreserved
// characters (A-Z a-z 0-9 - _ . ~) becomes %XX (upper-case hex); '/' is
// kept when keep_slash (paths), encoded otherwise (query keys and values).
std::string uriEncode(std::string_view s, bool keep_slash);

// The canonical request of a SigV4 signature (exposed for tests and for
// debugging a SignatureDoesNotMatch: AWS's error shows the one it computed).
// `request` carries the headers to sign; signed_headers receives their names.
Result<std::string> canonicalRequest(const HttpRequest& request, bool s3,
                                     std::string* signed_headers);

}  // namespace demarc::aws
