// SPDX-License-Identifier: MIT
// stats.cpp: counter lookup by enum and by name.
#include "viona/stats.h"

#include <cstring>

namespace viona {

uint64_t& RingStats::at(RsCounter c) {
  switch (c) {
#define VIONA_RS(name, doc) \
  case RsCounter::name:     \
    return rs_##name;
#include "viona/counters.inc"
#undef VIONA_RS
  }
  __builtin_unreachable();
}

uint64_t RingStats::at(RsCounter c) const { return const_cast<RingStats*>(this)->at(c); }

bool RingStats::operator==(const RingStats& o) const {
#define VIONA_RS(name, doc) \
  if (rs_##name != o.rs_##name) return false;
#include "viona/counters.inc"
#undef VIONA_RS
  return true;
}

const char* rs_counter_name(RsCounter c) {
  switch (c) {
#define VIONA_RS(name, doc) \
  case RsCounter::name:     \
    return #name;
#include "viona/counters.inc"
#undef VIONA_RS
  }
  __builtin_unreachable();
}

bool rs_counter_from_name(const std::string& name, RsCounter* out) {
  const char* n = name.c_str();
  if (std::strncmp(n, "rs_", 3) == 0) n += 3;
  for (size_t i = 0; i < kRsCounterCount; i++) {
    auto c = static_cast<RsCounter>(i);
    if (std::strcmp(n, rs_counter_name(c)) == 0) {
      *out = c;
      return true;
    }
  }
  return false;
}

}  // namespace viona
