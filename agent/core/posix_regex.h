#pragma once

#include <regex.h>

#include <memory>
#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc {

// A compiled POSIX extended regular expression. POSIX rather than
// std::regex: no recursion that a long line could overflow, and bounded
// work per line.
class PosixRegex {
 public:
  static Result<PosixRegex> compile(const std::string& pattern, bool ignore_case);
  bool search(std::string_view line) const;

 private:
  struct Deleter {
    void operator()(regex_t* r) const;
  };
  std::unique_ptr<regex_t, Deleter> regex_;
};

}  // namespace demarc
