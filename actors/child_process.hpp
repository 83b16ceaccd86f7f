// A child process of this very binary (/proc/self/exe) with stdout and stderr
// in files, killed when the handle goes; for programs that start a cluster on
// this host (bench-cluster).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tt::actors {

// Starts `program` (argv[0] = program, then `args`) with stdout and stderr
// redirected to the two files (created or truncated). Returns the pid, or -1
// with the posix_spawn error in *error.
pid_t spawn_with_output(const std::string& program, const std::vector<std::string>& args, const std::string& out_path,
                        const std::string& err_path, int* error = nullptr);

class ChildProcess {
public:
  ChildProcess() = default;
  // Throws tt::Error when the process cannot be started.
  ChildProcess(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path);
  ChildProcess(ChildProcess&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess() { stop(); }
  pid_t pid() const { return pid_; }
  bool running() const;
  // SIGTERM, then SIGKILL after `grace`; reaps the child.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
  pid_t pid_ = -1;
};

// The contents of a file ("" when it cannot be read).
std::string read_text_file(const std::string& path);

// Polls `path` until `what` occurs `times` times; false after `limit` or when
// `child` exits first.
bool wait_for_text(const ChildProcess& child, const std::string& path, const std::string& what, size_t times,
                   std::chrono::milliseconds limit);

}  // namespace tt::actors
