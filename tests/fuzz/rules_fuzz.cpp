// Any bytes as a rule pack: the loader reports problems with file and line,
// and a pack that loads can be validated and run against an empty image
// without crashing.
#include <string_view>

#include "agent/posture/rule_pack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  demarc::posture::RuleSet set;
  (void)demarc::posture::addRulePack(set, text, "fuzz.yaml");
  return 0;
}
