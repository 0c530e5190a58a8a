#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"

namespace demarc::testing {
namespace {
std::atomic<int> counter{0};
}

Subprocess::Subprocess(std::vector<std::string> argv, const std::filesystem::path& output_dir) {
  int n = counter++;
  out_path_ = output_dir / ("proc" + std::to_string(n) + ".out");
  err_path_ = output_dir / ("proc" + std::to_string(n) + ".err");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    // The test runner may block signals; the agent must see the defaults.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Subprocess::signal(int sig) const { ::kill(pid_, sig); }

int Subprocess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string Subprocess::out() const { return readAll(out_path_); }
std::string Subprocess::err() const { return readAll(err_path_); }

bool Subprocess::waitFor(const std::filesystem::path& file, const std::string& text,
                         std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (readAll(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool Subprocess::waitForErr(const std::string& text, std::chrono::milliseconds timeout) const {
  return waitFor(err_path_, text, timeout);
}

bool Subprocess::waitForOut(const std::string& text, std::chrono::milliseconds timeout) const {
  return waitFor(out_path_, text, timeout);
}

CommandResult runCommand(std::vector<std::string> argv, const std::filesystem::path& output_dir,
                         std::chrono::milliseconds timeout) {
  Subprocess p(std::move(argv), output_dir);
  CommandResult r;
  r.exit_code = p.wait(timeout);
  r.out = p.out();
  r.err = p.err();
  return r;
}

}  // namespace demarc::testing
