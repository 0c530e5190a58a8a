#include "agent/core/posix_regex.h"

namespace demarc {

void PosixRegex::Deleter::operator()(regex_t* r) const {
  ::regfree(r);
  delete r;
}

Result<PosixRegex> PosixRegex::compile(const std::string& pattern, bool ignore_case) {
  PosixRegex out;
  auto* r = new regex_t{};
  int rc = ::regcomp(r, pattern.c_str(), REG_EXTENDED | REG_NOSUB | (ignore_case ? REG_ICASE : 0));
  if (rc != 0) {
    char message[256];
    ::regerror(rc, r, message, sizeof(message));
    delete r;
    return Error(ErrorCode::kInvalidArgument,
                 "bad regular expression '" + pattern + "': " + message);
  }
  out.regex_.reset(r);
  return out;
}

bool PosixRegex::search(std::string_view line) const {
  constexpr size_t kMaxLine = 8192;  // longer lines are judged on their start
  std::string copy(line.substr(0, kMaxLine));
  return ::regexec(regex_.get(), copy.c_str(), 0, nullptr, 0) == 0;
}

}  // namespace demarc
