// Any bytes as a batch file being verified, alone and next to a copy of
// itself: verify reports defects, it never crashes. Bytes that read as a
// record go through the report and the timeline too: a signed batch can hold
// any record an agent wrote, extreme times and sizes included.
#include <sstream>
#include <string_view>

#include "agent/evidence/codec.h"
#include "agent/evidence/verify.h"
#include "agent/report/html.h"
#include "agent/report/posture_report.h"
#include "agent/report/timeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  demarc::evidence::Verifier verifier({});
  verifier.add("a/00000000000000000001-00.jsonl", bytes);
  verifier.add("a/00000000000000000002-00.jsonl", bytes);
  auto report = verifier.finish("fuzz");
  (void)demarc::evidence::formatReport(report);
  auto record = demarc::evidence::decodeRecord(bytes);
  if (record.ok()) {
    demarc::v1::BatchHeader header;
    header.set_agent_id("a");
    demarc::report::PostureReport posture({});
    demarc::report::Timeline timeline({});
    for (int i = 0; i < 2; ++i) {  // twice: an exec and its exit, a scan seen again
      posture.add(header, *record);
      timeline.add(header, *record);
    }
    (void)demarc::report::renderReportHtml(posture.summary(report));
    std::ostringstream out;
    timeline.writeJson(out);
    timeline.writeText(out);
    (void)timeline.toHtml();
  }
  return 0;
}
