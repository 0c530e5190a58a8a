#include "agent/core/clock.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace demarc {
namespace {

bool readInt(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  out = v;
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || (s.front() != c && std::tolower(static_cast<unsigned char>(s.front())) != c)) {
    return false;
  }
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::string formatTime(SystemTime t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  int64_t secs = micros / 1'000'000;
  int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  time_t tt = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string formatDate(SystemTime t) { return formatTime(t).substr(0, 10); }

std::optional<SystemTime> parseTime(std::string_view s) {
  struct tm tm {};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!readInt(s, 4, year) || !expect(s, '-') || !readInt(s, 2, mon) || !expect(s, '-') ||
      !readInt(s, 2, day) || !expect(s, 't') || !readInt(s, 2, hour) || !expect(s, ':') ||
      !readInt(s, 2, min) || !expect(s, ':') || !readInt(s, 2, sec)) {
    return std::nullopt;
  }
  // SystemTime holds nanoseconds in 64 bits: years 1678..2262. Evidence
  // times outside 1970..2200 are mistakes anyway.
  if (year < 1970 || year > 2200 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
      min > 59 || sec > 60) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    int64_t scale = 100'000'000;
    size_t n = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
      if (scale > 0) nanos += (s.front() - '0') * scale;
      scale /= 10;
      s.remove_prefix(1);
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  int offset_minutes = 0;
  if (!s.empty() && (s.front() == 'Z' || s.front() == 'z')) {
    s.remove_prefix(1);
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!readInt(s, 2, oh) || !expect(s, ':') || !readInt(s, 2, om)) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t secs = timegm(&tm);
  secs -= static_cast<time_t>(offset_minutes) * 60;
  return fromUnixTime(secs, nanos);
}

}  // namespace demarc
