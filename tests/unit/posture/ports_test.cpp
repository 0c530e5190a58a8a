#include "agent/posture/ports.h"

#include <gtest/gtest.h>

namespace demarc::posture {
namespace {

constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 "
    "1001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1002 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0F02000A:0016 0101000A:D2F0 01 00000000:00000000 02:0009A0B6 00000000     0        0 "
    "1003 4 0000000000000000 20 4 31 10 -1\n"
    "   3: garbage row\n"
    "   4: ZZZZZZZZ:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1004 1 0000000000000000 100 0 0 10 0\n";

constexpr const char* kUdp6 =
    "  sl  local_address                         remote_address                        st tx_queue "
    "rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000     0        0 2001 2 0000000000000000 0\n"
    "  2: 000080FE00000000FF005452120034FE:0222 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000   998        0 2002 2 0000000000000000 0\n";

TEST(ProcNet, ParsesListenersAndSkipsTheRest) {
  size_t malformed = 0;
  auto tcp = parseProcNet(kTcp, "tcp", 4, &malformed);
  ASSERT_EQ(tcp.size(), 2u);  // the ESTABLISHED row is not a listener
  EXPECT_EQ(tcp[0].address, "127.0.0.1");
  EXPECT_EQ(tcp[0].port, 53);
  EXPECT_EQ(tcp[0].uid, 101u);
  EXPECT_EQ(tcp[0].inode, 1001u);
  EXPECT_EQ(tcp[1].address, "0.0.0.0");
  EXPECT_EQ(tcp[1].port, 22);
  EXPECT_EQ(malformed, 2u);  // the garbage row and the bad address
}

TEST(ProcNet, ParsesIpv6WordOrder) {
  auto udp = parseProcNet(kUdp6, "udp", 6, nullptr);
  ASSERT_EQ(udp.size(), 2u);
  EXPECT_EQ(udp[0].address, "::1");
  EXPECT_EQ(udp[0].port, 631);
  EXPECT_EQ(udp[1].address, "fe80::5254:ff:fe34:12");
  EXPECT_EQ(udp[1].uid, 998u);
}

TEST(ProcNet, GarbageNeverThrows) {
  for (const char* junk : {"", "\n\n\n", "header\n:::::\n", "h\n 0: 1:2 3:4 0A a b c d e f\n"}) {
    size_t malformed = 0;
    EXPECT_TRUE(parseProcNet(junk, "tcp", 4, &malformed).empty());
  }
}

TEST(Ports, OfflineRootIsUnavailable) {
  auto scan = scanListeners(HostRoot("/mnt/image"));
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace demarc::posture
