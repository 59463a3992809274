// SPDX-License-Identifier: MIT
// stats_expect.h: whole-struct comparison of ring error stats for tests.
#ifndef TESTS_SUPPORT_STATS_EXPECT_H_
#define TESTS_SUPPORT_STATS_EXPECT_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "viona/stats.h"

namespace viona {
namespace test {

// A RingStats with the given counters set and every other one 0:
// rs_only({{RsCounter::bad_idx, 1}}).
RingStats rs_only(std::initializer_list<std::pair<RsCounter, uint64_t>> set);

// "" when |got| == |want|; otherwise one "rs_<name>: got G, want W" line per
// differing counter, so that a failing CHECK names the counter.
std::string rs_diff(const RingStats& got, const RingStats& want);

}  // namespace test
}  // namespace viona

// CHECK that a ring's whole error stats equal |want| (all others 0).
#define CHECK_RS(got, want) CHECK(::viona::test::rs_diff((got), (want)) == "")

#endif  // TESTS_SUPPORT_STATS_EXPECT_H_
