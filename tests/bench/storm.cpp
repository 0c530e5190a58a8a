// Load generators for the telemetry benchmark (tests/bench/telemetry_bench.py):
//   bench_storm exec N         fork+exec /bin/true with a few arguments, N times
//   bench_storm connect N      loopback TCP connect, accept, close, N times
//   bench_storm fork RATE SECS fork+exit paced at RATE per second for SECS
// Each prints one line: "<operations> <seconds> <operations per second>".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
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
  double s = seconds(start);
  std::printf("%ld %.6f %.1f\n", n, s, static_cast<double>(n) / s);
  return 0;
}

int connectStorm(long n) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listener, 128) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
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
  double s = seconds(start);
  std::printf("%ld %.6f %.1f\n", n, s, static_cast<double>(n) / s);
  return 0;
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
  double s = seconds(start);
  std::printf("%ld %.6f %.1f\n", done, s, static_cast<double>(done) / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exec" && argc == 3) return execStorm(std::atol(argv[2]));
  if (mode == "connect" && argc == 3) return connectStorm(std::atol(argv[2]));
  if (mode == "fork" && argc == 4) return pacedForks(std::atol(argv[2]), std::atol(argv[3]));
  std::fprintf(stderr, "usage: bench_storm exec N | connect N | fork RATE SECONDS\n");
  return 2;
}
