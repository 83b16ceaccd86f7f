// Test helper: runs the twotower binary through the shell and collects stdout.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace tt::test {

struct Output {
  int status = -1;  // exit status, -1 when killed by a signal
  std::string out;
};

inline Output run_binary(const std::string& args) {
  Output r;
  FILE* p = popen((std::string(TT_BINARY) + " " + args).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace tt::test
