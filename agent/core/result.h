#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace demarc {

// What kind of failure the environment caused. Callers branch on the code;
// people read the message.
enum class ErrorCode {
  kInvalidArgument,    // bad input: config, file contents, command line
  kNotFound,           // a file or object that should exist does not
  kPermissionDenied,   // unsafe or refused permissions
  kIo,                 // a system call failed
  kCorrupt,            // data that fails its own integrity checks
  kUnavailable,        // a dependency (kernel feature, endpoint) is not there
  kResourceExhausted,  // a configured cap was reached
  kInternal,           // a library returned something unexpected
};

std::string_view errorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message", for adding what was being done when it failed.
  Error withContext(std::string_view context) const {
    return Error(code_, std::string(context) + ": " + message_);
  }

 private:
  ErrorCode code_;
  std::string message_;
};

// An error from errno: "what: strerror(errno)".
Error errnoError(std::string_view what, int err);

// Value or error. No exceptions cross component boundaries; errors the
// environment causes come back through this type. Calling value() on an error
// is a broken invariant and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    checkOk();
    return std::get<0>(state_);
  }
  const T& value() const& {
    checkOk();
    return std::get<0>(state_);
  }
  T&& value() && {
    checkOk();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(state_);
  }

 private:
  void checkOk() const {
    if (!ok()) std::abort();
  }
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) std::abort();
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status okStatus() { return {}; }

}  // namespace demarc

// Early return on error, for functions that return any Result<...>.
#define DEMARC_TRY(expr)                                             \
  do {                                                               \
    auto demarc_try_status_ = (expr);                                \
    if (!demarc_try_status_.ok()) return demarc_try_status_.error(); \
  } while (0)

#define DEMARC_CONCAT_INNER(a, b) a##b
#define DEMARC_CONCAT(a, b) DEMARC_CONCAT_INNER(a, b)
#define DEMARC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
// DEMARC_ASSIGN_OR_RETURN(auto x, f()) declares x from f()'s value or returns its error.
#define DEMARC_ASSIGN_OR_RETURN(lhs, expr) \
  DEMARC_ASSIGN_OR_RETURN_IMPL(DEMARC_CONCAT(demarc_result_, __LINE__), lhs, expr)
