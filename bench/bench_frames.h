// SPDX-License-Identifier: MIT
// bench_frames.h: the Ethernet frames the benchmarks push through the device.
#ifndef BENCH_BENCH_FRAMES_H_
#define BENCH_BENCH_FRAMES_H_

#include <array>
#include <cstdint>
#include <vector>

namespace viona_bench {

// An Ethernet II / IPv4 / UDP frame of exactly |len| bytes (>= 42, no FCS)
// to |dst|, with a valid IPv4 header checksum and a payload derived from
// |tag| so that frames of one batch differ (the recorder tells frames apart
// by their bytes' address, but distinct bytes keep digests honest too).
std::vector<uint8_t> udp_frame(uint32_t len, const std::array<uint8_t, 6>& dst, uint32_t tag);

}  // namespace viona_bench

#endif  // BENCH_BENCH_FRAMES_H_
