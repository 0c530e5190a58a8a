// Loads the real telemetry probe with its TCP hooks (CI runs as root): a
// loopback exchange between this process (listener) and a child (client),
// over IPv4 and IPv6, must produce listen, connect, accept and two closes
// with the right processes, 5-tuples and payload byte counts each way; a
// refused connect closes as never established. Both hook sets. UDP
// exchanges come out as flows with their counts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "agent/telemetry/telemetry_probe.h"

namespace demarc::telemetry {
namespace {

using namespace std::chrono_literals;

constexpr size_t kClientSends = 70001;  // more than one segment
constexpr size_t kServerSends = 333;

struct Loopback {
  int family;
  const char* address;
};

// A bound socket address on the loopback of `family` at `port`.
sockaddr_storage addressOf(const Loopback& l, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (l.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    ::inet_pton(AF_INET, l.address, &sin->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, l.address, &sin6->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  return ss;
}

uint16_t portOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

bool sendAll(int fd, size_t n, char fill) {
  std::string data(n, fill);
  for (size_t off = 0; off < n;) {
    ssize_t w = ::send(fd, data.data() + off, n - off, 0);
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

bool recvExactly(int fd, size_t n) {
  char buf[65536];
  for (size_t got = 0; got < n;) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// A child connects to `port`, sends kClientSends bytes, reads kServerSends,
// closes and exits 0.
pid_t client(const Loopback& l, uint16_t port) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::socket(l.family, SOCK_STREAM, 0);
  socklen_t len = 0;
  auto to = addressOf(l, port, len);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), len) != 0) ::_exit(1);
  if (!sendAll(fd, kClientSends, 'c') || !recvExactly(fd, kServerSends)) ::_exit(2);
  ::close(fd);
  ::_exit(0);
}

std::string selfComm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

uint32_t selfNetns() {
  struct stat st {};
  ::stat("/proc/self/ns/net", &st);
  return static_cast<uint32_t>(st.st_ino);
}

void expectTcpLifecycle(Hook hook, const Loopback& l) {
  SCOPED_TRACE(std::string(hookName(hook)) + " " + l.address);
  auto probe = TelemetryProbe::open(
      {.self_tgid = 0, .only_hook = hook, .process = false, .privilege = false, .udp = false});
  ASSERT_TRUE(probe.ok()) << probe.error().message();

  int listener = ::socket(l.family, SOCK_STREAM, 0);
  socklen_t len = 0;
  auto any_port = addressOf(l, 0, len);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&any_port), len), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  uint16_t port = portOf(listener);
  pid_t child = client(l, port);
  int conn = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  ASSERT_TRUE(recvExactly(conn, kClientSends));
  ASSERT_TRUE(sendAll(conn, kServerSends, 's'));
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(status, 0);
  ::close(conn);
  ::close(listener);
  // Nothing listens on the port now: a connect is refused.
  int refused = ::socket(l.family, SOCK_STREAM, 0);
  auto closed_port = addressOf(l, port, len);
  EXPECT_NE(::connect(refused, reinterpret_cast<sockaddr*>(&closed_port), len), 0);
  ::close(refused);

  std::vector<TcpEvent> seen;
  auto sink = [&](Event&& e) {
    auto* t = std::get_if<TcpEvent>(&e);
    if (t && (t->local_port == port || t->remote_port == port)) seen.push_back(*t);
  };
  for (int i = 0; i < 50 && seen.size() < 6; ++i) ASSERT_TRUE((*probe)->poll(100ms, sink).ok());
  ASSERT_EQ(seen.size(), 6u);

  auto self = static_cast<uint32_t>(::getpid());
  for (const auto& t : seen) {
    EXPECT_EQ(t.ipv6, l.family == AF_INET6);
    EXPECT_EQ(t.local_address, l.address);
    EXPECT_EQ(t.uid, ::getuid());
    EXPECT_EQ(t.netns, selfNetns());
    EXPECT_NE(t.cgroup_id, 0u);
    EXPECT_EQ(t.hook, hook);
    if (t.kind != TcpEvent::Kind::kListen) {
      EXPECT_EQ(t.remote_address, l.address);
    }
  }
  const TcpEvent& listen = seen[0];
  EXPECT_EQ(listen.kind, TcpEvent::Kind::kListen);
  EXPECT_EQ(listen.tgid, self);
  EXPECT_EQ(listen.comm, selfComm());
  EXPECT_EQ(listen.local_port, port);

  const TcpEvent *connect = nullptr, *accept = nullptr, *client_close = nullptr,
                 *server_close = nullptr, *refused_close = nullptr;
  for (const auto& t : seen) {
    bool from_child = t.tgid == static_cast<uint32_t>(child);
    if (t.kind == TcpEvent::Kind::kConnect) connect = &t;
    if (t.kind == TcpEvent::Kind::kAccept) accept = &t;
    if (t.kind == TcpEvent::Kind::kClose && t.failed) refused_close = &t;
    if (t.kind == TcpEvent::Kind::kClose && !t.failed)
      (from_child ? client_close : server_close) = &t;
  }
  ASSERT_TRUE(connect && accept && client_close && server_close && refused_close);
  EXPECT_EQ(connect->tgid, static_cast<uint32_t>(child));
  EXPECT_EQ(connect->remote_port, port);
  EXPECT_NE(connect->local_port, 0);
  // The accept belongs to the listener's owner; its peer is the client.
  EXPECT_EQ(accept->tgid, self);
  EXPECT_EQ(accept->local_port, port);
  EXPECT_EQ(accept->remote_port, connect->local_port);

  EXPECT_EQ(client_close->local_port, connect->local_port);
  EXPECT_EQ(client_close->remote_port, port);
  EXPECT_EQ(client_close->bytes_sent, kClientSends);
  EXPECT_EQ(client_close->bytes_received, kServerSends);
  EXPECT_GE(client_close->ktime, client_close->start_ktime);
  EXPECT_EQ(server_close->tgid, self);
  EXPECT_EQ(server_close->local_port, port);
  EXPECT_EQ(server_close->remote_port, connect->local_port);
  EXPECT_EQ(server_close->bytes_sent, kServerSends);
  EXPECT_EQ(server_close->bytes_received, kClientSends);

  EXPECT_EQ(refused_close->tgid, self);
  EXPECT_EQ(refused_close->remote_port, port);
  EXPECT_EQ(refused_close->bytes_sent, 0u);
  EXPECT_EQ(refused_close->bytes_received, 0u);

  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok());
  EXPECT_EQ(drops->total(), 0u);
  EXPECT_EQ((*probe)->malformed(), 0u);
}

// A UDP exchange: a child's connected socket sends three datagrams of 100
// bytes to this process's unconnected one, which answers with two of 50
// (recvfrom, sendto): both ways of knowing the peer. Each side's flow carries
// its process, the 5-tuple and the counts; the next interval starts empty.
// `via`: count UDP only that way; unset, the best the kernel allows.
void expectUdpFlows(const Loopback& l, std::optional<Via> via = std::nullopt) {
  SCOPED_TRACE(l.address);
  TelemetryProbeOptions options{.process = false, .network = false, .privilege = false};
  options.udp_via = via;
  auto probe = TelemetryProbe::open(options);
  ASSERT_TRUE(probe.ok()) << probe.error().message();
  std::string missing;
  for (const auto& m : (*probe)->missing()) missing += m + "\n";
  if (via == Via::kFexit && !(*probe)->countsUdp()) {
    // Kernels in lockdown (this development machine's) refuse fexit: the
    // probe must say so; the kernel matrix's kernels run this test.
    ASSERT_NE(missing.find("fexit/udp_sendmsg"), std::string::npos) << missing;
    GTEST_SKIP() << "this kernel refuses fexit programs:\n" << missing;
  }
  ASSERT_TRUE((*probe)->countsUdp()) << "UDP hooks did not attach:\n" << missing;
  if (via) {
    EXPECT_EQ((*probe)->udpVia(), *via);
  }

  int server = ::socket(l.family, SOCK_DGRAM, 0);
  socklen_t len = 0;
  auto any_port = addressOf(l, 0, len);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&any_port), len), 0);
  uint16_t port = portOf(server);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    int fd = ::socket(l.family, SOCK_DGRAM, 0);
    socklen_t own_len = 0;
    auto own = addressOf(l, 0, own_len);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&own), own_len) != 0) ::_exit(4);
    socklen_t to_len = 0;
    auto to = addressOf(l, port, to_len);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) != 0) ::_exit(5);
    std::string data(100, 'u');
    for (int i = 0; i < 3; ++i) {
      if (::send(fd, data.data(), data.size(), 0) != 100) ::_exit(1);
    }
    uint16_t mine = portOf(fd);
    if (::write(ready[1], &mine, sizeof(mine)) != sizeof(mine)) ::_exit(2);
    char buf[200];
    for (int i = 0; i < 2; ++i) {
      if (::recv(fd, buf, sizeof(buf), 0) != 50) ::_exit(3);
    }
    ::_exit(0);
  }
  uint16_t client_port = 0;
  ASSERT_EQ(::read(ready[0], &client_port, sizeof(client_port)), 2);
  sockaddr_storage from{};
  for (int i = 0; i < 3; ++i) {
    char buf[200];
    socklen_t from_len = sizeof(from);
    ASSERT_EQ(
        ::recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len),
        100);
  }
  std::string reply(50, 'r');
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(
        ::sendto(server, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len),
        50);
  }
  int status = -1;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(status, 0);

  std::vector<UdpFlowEvent> flows;
  auto sink = [&](Event&& e) {
    auto* f = std::get_if<UdpFlowEvent>(&e);
    if (f && (f->local_port == port || f->remote_port == port)) flows.push_back(*f);
  };
  auto n = (*probe)->flushUdpFlows(sink);
  ASSERT_TRUE(n.ok()) << n.error().message();
  ASSERT_EQ(flows.size(), 2u);
  const UdpFlowEvent* client_flow = nullptr;
  const UdpFlowEvent* server_flow = nullptr;
  for (const auto& f : flows) (f.local_port == port ? server_flow : client_flow) = &f;
  ASSERT_TRUE(client_flow && server_flow);
  EXPECT_EQ(client_flow->tgid, static_cast<uint32_t>(child));
  EXPECT_EQ(client_flow->local_port, client_port);
  EXPECT_EQ(client_flow->remote_port, port);
  EXPECT_EQ(client_flow->packets_sent, 3u);
  EXPECT_EQ(client_flow->bytes_sent, 300u);
  EXPECT_EQ(client_flow->packets_received, 2u);
  EXPECT_EQ(client_flow->bytes_received, 100u);
  EXPECT_EQ(server_flow->tgid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(server_flow->comm, selfComm());
  EXPECT_EQ(server_flow->remote_port, client_port);
  EXPECT_EQ(server_flow->packets_sent, 2u);
  EXPECT_EQ(server_flow->bytes_sent, 100u);
  EXPECT_EQ(server_flow->packets_received, 3u);
  EXPECT_EQ(server_flow->bytes_received, 300u);
  for (const auto* f : {client_flow, server_flow}) {
    EXPECT_EQ(f->ipv6, l.family == AF_INET6);
    EXPECT_EQ(f->local_address, l.address);
    EXPECT_EQ(f->remote_address, l.address);
    EXPECT_EQ(f->uid, ::getuid());
    EXPECT_LE(f->first_ktime, f->last_ktime);
  }

  // The next interval holds only what happened after the read.
  flows.clear();
  ASSERT_EQ(::sendto(server, reply.data(), 7, 0, reinterpret_cast<sockaddr*>(&from), len), 7);
  ASSERT_TRUE((*probe)->flushUdpFlows(sink).ok());
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].packets_sent, 1u);
  EXPECT_EQ(flows[0].bytes_sent, 7u);
  EXPECT_EQ(flows[0].packets_received, 0u);
  ::close(server);
  auto drops = (*probe)->drops();
  ASSERT_TRUE(drops.ok());
  EXPECT_EQ(drops->ofType(kEventUdp), 0u);
}

TEST(UdpFlows, Ipv4) { expectUdpFlows({AF_INET, "127.0.0.1"}); }
TEST(UdpFlows, Ipv6) { expectUdpFlows({AF_INET6, "::1"}); }
// The fallback for kernels before 6.3 counts the same.
TEST(UdpFlows, Ipv4Fexit) { expectUdpFlows({AF_INET, "127.0.0.1"}, Via::kFexit); }
TEST(UdpFlows, Ipv6Fexit) { expectUdpFlows({AF_INET6, "::1"}, Via::kFexit); }

TEST(TcpEvents, Ipv4TpBtf) { expectTcpLifecycle(Hook::kTpBtf, {AF_INET, "127.0.0.1"}); }
TEST(TcpEvents, Ipv6TpBtf) { expectTcpLifecycle(Hook::kTpBtf, {AF_INET6, "::1"}); }
TEST(TcpEvents, Ipv4Tracepoint) { expectTcpLifecycle(Hook::kTracepoint, {AF_INET, "127.0.0.1"}); }
TEST(TcpEvents, Ipv6Tracepoint) { expectTcpLifecycle(Hook::kTracepoint, {AF_INET6, "::1"}); }

}  // namespace
}  // namespace demarc::telemetry
