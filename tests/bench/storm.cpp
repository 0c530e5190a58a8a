// Load generators for the telemetry benchmark (tests/bench/telemetry_bench.py):
//   bench_storm exec N         fork+exec /bin/true with a few arguments, N times
//   bench_storm connect N      loopback TCP connect, accept, close, N times
//   bench_storm fork RATE SECS fork+exit paced at RATE per second for SECS
//   bench_storm udp N          N loopback UDP datagrams of 64 bytes, sent with
//                              an address and received, one at a time
//   bench_storm tcp-data N     N messages of 64 bytes over one loopback TCP
//                              connection, sent and received one at a time
//   bench_storm syscall N      N getppid() system calls (the cheapest there
//                              is: what tracing adds to every call shows)
// Each prints one line: "<operations> <seconds> <operations per second>".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

// Prints the one-line result for n operations done since `start`.
int report(long n, Clock::time_point start) {
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%ld %.6f %.1f\n", n, s, static_cast<double>(n) / s);
  return 0;
}

int execStorm(long n) {
  char arg0[] = "true", arg1[] = "demarc-bench-marker", arg2[] = "--alpha", arg3[] = "beta";
  char* argv[] = {arg0, arg1, arg2, arg3, nullptr};
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execv("/bin/true", argv);
      ::_exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || status != 0) return 1;
  }
  return report(n, start);
}

// A socket bound to an ephemeral loopback port; its address in addr.
int boundLoopback(int type, sockaddr_in& addr) {
  int fd = ::socket(AF_INET, type, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("bind");
    return -1;
  }
  return fd;
}

int connectStorm(long n) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  int listener = boundLoopback(SOCK_STREAM, addr);
  if (listener < 0 || ::listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  std::fprintf(stderr, "port %d\n", ntohs(addr.sin_port));
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      std::perror("connect");
      return 1;
    }
    int a = ::accept(listener, nullptr, nullptr);
    if (a < 0) return 1;
    // The client closes first: its socket goes to TIME_WAIT, not the
    // listener's port; SO_LINGER 0 would make it a reset instead.
    ::close(c);
    ::close(a);
  }
  return report(n, start);
}

int udpStorm(long n) {
  sockaddr_in to{}, from{};
  int server = boundLoopback(SOCK_DGRAM, to);
  int client = boundLoopback(SOCK_DGRAM, from);
  if (server < 0 || client < 0) return 1;
  std::fprintf(stderr, "port %d\n", ntohs(to.sin_port));
  char buf[64] = {};
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (::sendto(client, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
            static_cast<ssize_t>(sizeof(buf)) ||
        ::recv(server, buf, sizeof(buf), 0) != static_cast<ssize_t>(sizeof(buf))) {
      std::perror("udp");
      return 1;
    }
  }
  return report(n, start);
}

int tcpDataStorm(long n) {
  sockaddr_in addr{};
  int listener = boundLoopback(SOCK_STREAM, addr);
  if (listener < 0 || ::listen(listener, 1) != 0) return 1;
  std::fprintf(stderr, "port %d\n", ntohs(addr.sin_port));
  int c = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("connect");
    return 1;
  }
  int a = ::accept(listener, nullptr, nullptr);
  if (a < 0) return 1;
  char buf[64] = {};
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (::send(c, buf, sizeof(buf), 0) != static_cast<ssize_t>(sizeof(buf)) ||
        ::recv(a, buf, sizeof(buf), MSG_WAITALL) != static_cast<ssize_t>(sizeof(buf))) {
      std::perror("tcp-data");
      return 1;
    }
  }
  int rc = report(n, start);  // the closes are not part of the storm
  ::close(c);
  ::close(a);
  return rc;
}

int syscallStorm(long n) {
  auto start = Clock::now();
  for (long i = 0; i < n; ++i) ::syscall(SYS_getppid);
  return report(n, start);
}

int pacedForks(long rate, long secs) {
  auto start = Clock::now();
  long done = 0;
  long total = rate * secs;
  while (done < total) {
    auto due = start + std::chrono::duration<double>(static_cast<double>(done) / rate);
    std::this_thread::sleep_until(due);
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    if (pid < 0) return 1;
    ::waitpid(pid, nullptr, 0);
    ++done;
  }
  return report(done, start);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exec" && argc == 3) return execStorm(std::atol(argv[2]));
  if (mode == "connect" && argc == 3) return connectStorm(std::atol(argv[2]));
  if (mode == "fork" && argc == 4) return pacedForks(std::atol(argv[2]), std::atol(argv[3]));
  if (mode == "udp" && argc == 3) return udpStorm(std::atol(argv[2]));
  if (mode == "tcp-data" && argc == 3) return tcpDataStorm(std::atol(argv[2]));
  if (mode == "syscall" && argc == 3) return syscallStorm(std::atol(argv[2]));
  std::fprintf(stderr,
               "usage: bench_storm exec N | connect N | fork RATE SECONDS | udp N | tcp-data N | "
               "syscall N\n");
  return 2;
}
