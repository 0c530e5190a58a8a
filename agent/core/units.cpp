#include "agent/core/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace demarc {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

constexpr std::array<Unit, 7> kDurationUnits = {{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"d", 86'400'000'000'000},
}};

constexpr std::array<Unit, 9> kSizeUnits = {{
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

bool mulOverflows(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b;
}

}  // namespace

Result<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  const std::string shape =
      "expected a duration such as 500ms, 30s, 5m or 1h, got '" + std::string(text) + "'";
  if (text.empty()) return Error(ErrorCode::kInvalidArgument, shape);
  uint64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    uint64_t number = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (ec != std::errc() || ptr == rest.data()) return Error(ErrorCode::kInvalidArgument, shape);
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    size_t unit_len = 0;
    while (unit_len < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_len]))) {
      ++unit_len;
    }
    std::string_view suffix = rest.substr(0, unit_len);
    const Unit* unit = nullptr;
    for (const Unit& u : kDurationUnits) {
      if (u.suffix == suffix) unit = &u;
    }
    if (unit == nullptr) return Error(ErrorCode::kInvalidArgument, shape);
    rest.remove_prefix(unit_len);
    if (mulOverflows(number, unit->factor) ||
        total + number * unit->factor >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(ErrorCode::kInvalidArgument, "duration '" + std::string(text) + "' is too long");
    }
    total += number * unit->factor;
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

std::string formatDuration(std::chrono::nanoseconds d) {
  if (d.count() == 0) return "0s";
  std::string sign = d.count() < 0 ? "-" : "";
  uint64_t ns = static_cast<uint64_t>(d.count() < 0 ? -d.count() : d.count());
  // Largest unit that divides exactly, among the common ones.
  for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it) {
    if (it->suffix == "d") continue;  // "2d" reads worse than "48h"
    if (ns % it->factor == 0)
      return sign + std::to_string(ns / it->factor) + std::string(it->suffix);
  }
  return sign + std::to_string(ns) + "ns";
}

Result<uint64_t> parseSize(std::string_view text) {
  const std::string shape =
      "expected a size such as 1048576, 64KiB, 256MiB or 1GiB, got '" + std::string(text) + "'";
  uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || ptr == text.data()) return Error(ErrorCode::kInvalidArgument, shape);
  std::string_view suffix = text.substr(static_cast<size_t>(ptr - text.data()));
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  if (suffix.empty()) return number;
  for (const Unit& u : kSizeUnits) {
    if (u.suffix == suffix) {
      if (mulOverflows(number, u.factor)) {
        return Error(ErrorCode::kInvalidArgument, "size '" + std::string(text) + "' is too large");
      }
      return number * u.factor;
    }
  }
  return Error(ErrorCode::kInvalidArgument, shape);
}

std::string formatSize(uint64_t bytes) {
  constexpr std::array<Unit, 4> kBinary = {
      {{"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}}};
  for (const Unit& u : kBinary) {
    if (bytes != 0 && bytes % u.factor == 0)
      return std::to_string(bytes / u.factor) + std::string(u.suffix);
  }
  return std::to_string(bytes);
}

}  // namespace demarc
