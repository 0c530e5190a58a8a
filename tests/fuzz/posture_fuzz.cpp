// Any bytes as dpkg status, an apt list, a Release file, a /proc/net
// table, dnf's updateinfo.xml, repomd.xml or a .repo file, the Debian
// security tracker's JSON; and as two
// versions to compare. Parsers skip what they cannot
// read; they never crash.
#include <sstream>
#include <string_view>

#include "agent/posture/apt.h"
#include "agent/posture/cve_feed.h"
#include "agent/posture/deb822.h"
#include "agent/posture/debian_version.h"
#include "agent/posture/dnf.h"
#include "agent/posture/platform.h"
#include "agent/posture/ports.h"
#include "agent/posture/rpm_version.h"
#include "agent/posture/rpmdb.h"
#include "agent/posture/scan_context.h"
#include "agent/posture/sshd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> problems;
  (void)demarc::posture::parseDpkgStatus(text, &problems);
  demarc::posture::forEachParagraph(demarc::posture::stripClearsign(text),
                                    [](const demarc::posture::Paragraph& p) { (void)p.get("x"); });
  // sshd_config whose every Include is the same text again.
  demarc::posture::FileReader read = [&](const std::string&) {
    return std::optional<std::string>(std::string(text));
  };
  demarc::posture::GlobExpander glob = [](const std::string& p) {
    return std::vector<std::string>{p};
  };
  auto sshd = demarc::posture::parseSshdConfig(text, "fuzz", read, glob);
  (void)sshd.effective("permitrootlogin");
  size_t rows = 0;
  (void)demarc::posture::parseProcNet(text, "tcp", 4, &rows);
  (void)demarc::posture::parseProcNet(text, "udp", 6, &rows);
  (void)demarc::parseMountTable(text, "/etc/fstab");
  (void)demarc::posture::parseColonDatabase(text, "/etc/passwd", 7, &problems);
  (void)demarc::posture::parseOsRelease(text);
  (void)demarc::posture::parseRpmHeader(text);
  (void)demarc::posture::parseUpdateInfo(text, &problems);
  (void)demarc::posture::updateInfoLocation(text);
  (void)demarc::posture::enabledRepoIds(text);
  std::istringstream feed{std::string(text)};
  (void)demarc::posture::parseDebianTracker(feed, "bookworm");
  size_t half = size / 2;
  std::string_view a = text.substr(0, half);
  std::string_view b = text.substr(half);
  int ab = demarc::posture::compareDebianVersions(a, b);
  int ba = demarc::posture::compareDebianVersions(b, a);
  // An order: swapping the sides flips the sign.
  if ((ab > 0) != (ba < 0) || (ab == 0) != (ba == 0)) __builtin_trap();
  int rab = demarc::posture::compareRpmVersions(a, b);
  int rba = demarc::posture::compareRpmVersions(b, a);
  if ((rab > 0) != (rba < 0) || (rab == 0) != (rba == 0)) __builtin_trap();
  return 0;
}
