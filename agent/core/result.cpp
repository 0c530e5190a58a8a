#include "agent/core/result.h"

#include <cstring>

namespace demarc {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kPermissionDenied:
      return "permission denied";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kCorrupt:
      return "corrupt data";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

Error errnoError(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  if (err == ENOSPC || err == EDQUOT) code = ErrorCode::kResourceExhausted;
  return Error(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace demarc
