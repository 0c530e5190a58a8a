#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace demarc {

using SystemTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

// Wall and monotonic time behind an interface, so that sealing and heartbeat
// logic can be tested without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
  virtual MonoTime monotonic() const = 0;
};

class RealClock : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonic() const override { return std::chrono::steady_clock::now(); }
};

// RFC 3339 in UTC with microseconds: 2026-11-30T21:47:05.123456Z.
std::string formatTime(SystemTime t);
// Appends the UTC date and time of a Unix time without a fraction or zone,
// 2026-11-30T21:47:05, computed arithmetically (gmtime_r takes a lock and
// reads the time zone; this is on the hot path of every record). Years
// outside 0..9999 print as a plain number.
void appendUtcDateTime(int64_t unix_seconds, std::string& out);
// Accepts RFC 3339 with 'Z' or a numeric offset, with or without fraction.
std::optional<SystemTime> parseTime(std::string_view text);
// UTC calendar date of t: 2026-11-30.
std::string formatDate(SystemTime t);

// A time given as seconds (and nanoseconds) since the Unix epoch, as struct
// stat, /proc and file formats give it. The caller keeps it in range.
inline SystemTime fromUnixTime(int64_t seconds, int64_t nanos = 0) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

}  // namespace demarc
