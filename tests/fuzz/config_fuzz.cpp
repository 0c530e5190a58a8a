// Any bytes as a config file: an error naming the file, or a config.
#include <cstdlib>
#include <string_view>

#include "agent/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = demarc::config::loadConfigText(text, "fuzz.yaml");
  if (!config.ok() && config.error().message().rfind("fuzz.yaml:", 0) != 0) std::abort();
  if (config.ok()) (void)demarc::config::toYaml(*config);
  return 0;
}
