// SPDX-License-Identifier: MIT
// killed_child.cpp: fork, run, SIGKILL, wait.
#include "tests/support/killed_child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace viona::test {

void sigkill_self() {
  kill(getpid(), SIGKILL);
  _exit(126);
}

int run_killed_child(const std::function<int()>& body) {
  std::fflush(nullptr);  // nothing buffered may be written twice
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    _exit(body());  // reached only when |body| failed before its sigkill_self()
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

}  // namespace viona::test
