// SPDX-License-Identifier: MIT
// stats.h: per-ring error counters (rs_*) and transfer stats (vts_*).
#ifndef VIONA_STATS_H_
#define VIONA_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace viona {

// One enumerator per rs_* counter, in viona_impl.h order (counters.inc).
enum class RsCounter : uint8_t {
#define VIONA_RS(name, doc) name,
#include "viona/counters.inc"
#undef VIONA_RS
};
constexpr size_t kRsCounterCount = 0
#define VIONA_RS(name, doc) +1
#include "viona/counters.inc"
#undef VIONA_RS
    ;

// Error stats: a misbehaving guest, per ring. Plain increments; zeroed at ring init.
struct RingStats {
#define VIONA_RS(name, doc) uint64_t rs_##name = 0;
#include "viona/counters.inc"
#undef VIONA_RS

  uint64_t& at(RsCounter c);
  uint64_t at(RsCounter c) const;
  bool operator==(const RingStats& o) const;
  bool operator!=(const RingStats& o) const { return !(*this == o); }
};

// "rs_too_short" for RsCounter::too_short; nullptr never returned.
const char* rs_counter_name(RsCounter c);  // without the rs_ prefix
bool rs_counter_from_name(const std::string& name, RsCounter* out);  // accepts with or without rs_

// Transfer stats, per ring and direction (viona_impl.h viona_transfer_stats_t).
// errors exclude a full ring; drops include a full ring and hook drops.
struct TransferStats {
  uint64_t vts_packets = 0;  // frames accepted (RX) / packets sent (TX)
  uint64_t vts_bytes = 0;    // RX: frame size incl. padding; TX: pkt_len without the virtio header
  uint64_t vts_errors = 0;
  uint64_t vts_drops = 0;
  bool operator==(const TransferStats& o) const {
    return vts_packets == o.vts_packets && vts_bytes == o.vts_bytes && vts_errors == o.vts_errors &&
           vts_drops == o.vts_drops;
  }
  bool operator!=(const TransferStats& o) const { return !(*this == o); }
};

}  // namespace viona

#endif  // VIONA_STATS_H_
