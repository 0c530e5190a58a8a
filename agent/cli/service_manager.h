#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace demarc::cli {

// systemd's notification protocol (sd_notify, libsystemd) for a
// Type=notify service: READY once the agent runs, WATCHDOG pings while its
// main loop turns, STOPPING when it shuts down. Outside systemd (no
// NOTIFY_SOCKET) every call does nothing.
class ServiceManager {
 public:
  ServiceManager();

  bool underSystemd() const { return notify_; }
  // How often the main loop must ping: half of WatchdogSec, if set.
  std::optional<std::chrono::milliseconds> watchdogInterval() const { return interval_; }

  void ready(const std::string& status) const;
  void status(const std::string& status) const;
  // Pings the watchdog when half its period has passed since the last ping.
  void ping();
  void stopping() const;

 private:
  bool notify_ = false;
  std::optional<std::chrono::milliseconds> interval_;
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace demarc::cli
