#include "agent/cli/service_manager.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace demarc::cli {

ServiceManager::ServiceManager() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  notify_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (notify_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ = std::chrono::milliseconds(usec / 2000);
  }
}

void ServiceManager::ready(const std::string& status) const {
  if (notify_) sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}

void ServiceManager::status(const std::string& status) const {
  if (notify_) sd_notifyf(0, "STATUS=%s", status.c_str());
}

void ServiceManager::ping() {
  if (!interval_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < *interval_) return;
  last_ping_ = now;
  sd_notify(0, "WATCHDOG=1");
}

void ServiceManager::stopping() const {
  if (notify_) sd_notify(0, "STOPPING=1\nSTATUS=stopping: sealing and delivering what is pending");
}

}  // namespace demarc::cli
