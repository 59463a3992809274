// SPDX-License-Identifier: MIT
// segment.h: software TCP/IPv4 segmentation (what mac_hw_emul does for LSO).
#ifndef VIONA_SEGMENT_H_
#define VIONA_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace viona {

// Splits a TCP/IPv4 Ethernet frame whose payload exceeds |mss| into
// segments of at most |mss| payload bytes. Each segment gets a copy of the
// L2/L3/L4 headers, its own IPv4 total length, ID (incremented per segment),
// header checksum, TCP sequence number, flags (FIN/PSH only on the last,
// CWR only on the first) and a full TCP checksum. Accepts an IPv4 total
// length of 0 (Linux BIG TCP: the length is taken from the frame). Returns
// false (and leaves |out| empty) when the frame is not TCP/IPv4, mss is 0,
// or headers are truncated.
bool tso_segment(const uint8_t* frame, size_t len, uint16_t mss, std::vector<std::vector<uint8_t>>* out);

}  // namespace viona

#endif  // VIONA_SEGMENT_H_
