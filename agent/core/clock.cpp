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

void appendDigits(int64_t v, int width, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  for (auto n = end - buf; n < width; ++n) out.push_back('0');
  out.append(buf, end);
}

}  // namespace

void appendUtcDateTime(int64_t unix_seconds, std::string& out) {
  // Days to a proleptic Gregorian date: Howard Hinnant's civil_from_days.
  int64_t days = unix_seconds / 86400;
  int64_t rem = unix_seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  appendDigits(year, year >= 0 ? 4 : 0, out);
  out.push_back('-');
  appendDigits(month, 2, out);
  out.push_back('-');
  appendDigits(day, 2, out);
  out.push_back('T');
  appendDigits(rem / 3600, 2, out);
  out.push_back(':');
  appendDigits(rem / 60 % 60, 2, out);
  out.push_back(':');
  appendDigits(rem % 60, 2, out);
}

std::string formatTime(SystemTime t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  int64_t secs = micros / 1'000'000;
  int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::string out;
  out.reserve(27);
  appendUtcDateTime(secs, out);
  out.push_back('.');
  appendDigits(frac, 6, out);
  out.push_back('Z');
  return out;
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
