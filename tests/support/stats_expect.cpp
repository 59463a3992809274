// SPDX-License-Identifier: MIT
// stats_expect.cpp: whole-struct comparison of ring error stats for tests.
#include "tests/support/stats_expect.h"

namespace viona {
namespace test {

RingStats rs_only(std::initializer_list<std::pair<RsCounter, uint64_t>> set) {
  RingStats s;
  for (const auto& kv : set) s.at(kv.first) = kv.second;
  return s;
}

std::string rs_diff(const RingStats& got, const RingStats& want) {
  std::string out;
  for (size_t i = 0; i < kRsCounterCount; i++) {
    auto c = static_cast<RsCounter>(i);
    if (got.at(c) != want.at(c)) {
      out += "rs_";
      out += rs_counter_name(c);
      out += ": got " + std::to_string(got.at(c)) + ", want " + std::to_string(want.at(c)) + "\n";
    }
  }
  return out;
}

}  // namespace test
}  // namespace viona
