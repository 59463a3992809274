// SPDX-License-Identifier: MIT
// fuzz_check.h: FUZZ_CHECK, the invariant assertion every fuzz target uses.
#ifndef FUZZ_FUZZ_CHECK_H_
#define FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

// An invariant the target asserts: report it and abort, so libFuzzer keeps
// the input as a crash reproducer (assert() would vanish under NDEBUG).
#define FUZZ_CHECK(cond)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

#endif  // FUZZ_FUZZ_CHECK_H_
