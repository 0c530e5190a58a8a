#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace demarc::testing {

// A child process with stdout and stderr going to files.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, const std::filesystem::path& output_dir);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Exit code, or 128 + signal; -1 on timeout (the child is then killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string out() const;
  std::string err() const;
  // Polls stderr (stdout) until it contains text (true) or the timeout passes.
  bool waitForErr(const std::string& text, std::chrono::milliseconds timeout) const;
  bool waitForOut(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  bool waitFor(const std::filesystem::path& file, const std::string& text,
               std::chrono::milliseconds timeout) const;

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion.
CommandResult runCommand(std::vector<std::string> argv, const std::filesystem::path& output_dir,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace demarc::testing
