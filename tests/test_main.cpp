// SPDX-License-Identifier: MIT
// test_main.cpp: doctest's runner for every suite under tests/.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
