// SPDX-License-Identifier: MIT
// killed_child.h: runs a test body in a child process that then dies by SIGKILL.
#ifndef TESTS_SUPPORT_KILLED_CHILD_H_
#define TESTS_SUPPORT_KILLED_CHILD_H_

#include <functional>

namespace viona::test {

// Forks; the child runs |body| (no doctest macros there: it reports
// trouble by returning a non-zero code, which becomes its exit status).
// |body| ends by calling sigkill_self() where a crashing recorder would
// die, before any destructor could tidy up. Returns the child's waitpid
// status, or -1 if fork/waitpid failed.
int run_killed_child(const std::function<int()>& body);
[[noreturn]] void sigkill_self();

}  // namespace viona::test

#endif  // TESTS_SUPPORT_KILLED_CHILD_H_
