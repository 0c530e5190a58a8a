// Values from the command line and config: durations, sizes, times, base64.
#include <string_view>

#include "agent/core/clock.h"
#include "agent/core/encoding.h"
#include "agent/core/units.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = demarc::parseDuration(text); d.ok()) {
    // What is printed parses back to the same value.
    if (*demarc::parseDuration(demarc::formatDuration(*d)) != *d) __builtin_trap();
  }
  (void)demarc::parseSize(text);
  if (auto t = demarc::parseTime(text)) (void)demarc::formatTime(*t);
  if (auto b = demarc::base64Decode(text)) {
    if (demarc::base64Encode(*b) != text) __builtin_trap();
  }
  return 0;
}
