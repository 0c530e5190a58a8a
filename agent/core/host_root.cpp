#include "agent/core/host_root.h"

#include "agent/core/files.h"

namespace demarc {

std::filesystem::path HostRoot::path(std::string_view host_path) const {
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return root_ / std::filesystem::path(host_path);
}

Result<std::string> HostRoot::read(std::string_view host_path, size_t max_bytes) const {
  return readFilePrefix(path(host_path), max_bytes);
}

Result<std::string> HostRoot::readLine(std::string_view host_path) const {
  DEMARC_ASSIGN_OR_RETURN(std::string text, read(host_path, 64 * 1024));
  std::string_view line(text);
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return std::string(line);
}

}  // namespace demarc
