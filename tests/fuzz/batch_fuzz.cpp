// Any bytes as a batch file being verified, alone and next to a copy of
// itself: verify reports defects, it never crashes.
#include <string_view>

#include "agent/evidence/codec.h"
#include "agent/evidence/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  demarc::evidence::Verifier verifier({});
  verifier.add("a/00000000000000000001-00.jsonl", bytes);
  verifier.add("a/00000000000000000002-00.jsonl", bytes);
  auto report = verifier.finish("fuzz");
  (void)demarc::evidence::formatReport(report);
  (void)demarc::evidence::decodeRecord(bytes);
  return 0;
}
