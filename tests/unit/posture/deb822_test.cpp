#include "agent/posture/deb822.h"

#include <gtest/gtest.h>

namespace demarc::posture {
namespace {

TEST(Deb822, ParagraphsFieldsAndContinuations) {
  std::string text =
      "Package: a\nVersion: 1.0\nDescription: short\n more\n .\n last\n\n"
      "\n\nPackage: b\r\nversion:2.0  \n";
  std::vector<Paragraph> paras;
  std::vector<std::string> descriptions;
  forEachParagraph(text, [&](const Paragraph& p) {
    paras.push_back(p);
    descriptions.emplace_back(p.get("Description"));
  });
  ASSERT_EQ(paras.size(), 2u);
  EXPECT_EQ(paras[0].get("Package"), "a");
  EXPECT_EQ(descriptions[0], "short\n more\n .\n last");
  EXPECT_EQ(paras[1].get("Version"), "2.0");  // names are case-insensitive
  EXPECT_EQ(paras[1].line, 10u);
  EXPECT_EQ(paras[1].get("Missing"), "");
}

TEST(Deb822, MalformedLinesAreCountedAndSkipped) {
  size_t malformed = 0;
  int count = 0;
  forEachParagraph(
      " orphan continuation\nno colon here\nPackage: x\n\x01\x02\n",
      [&](const Paragraph& p) {
        ++count;
        EXPECT_EQ(p.get("Package"), "x");
      },
      &malformed);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(malformed, 3u);
}

TEST(Deb822, ClearsignedBodyIsExtracted) {
  std::string signed_text =
      "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nSuite: stable\n"
      "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
  EXPECT_EQ(stripClearsign(signed_text), "Origin: Debian\nSuite: stable\n");
  EXPECT_EQ(stripClearsign("Suite: x\n"), "Suite: x\n");
}

}  // namespace
}  // namespace demarc::posture
