// SPDX-License-Identifier: MIT
// bench_frames.cpp: builds Ethernet / IPv4 / UDP frames of a given length.
#include "bench/bench_frames.h"

#include <cstddef>

namespace viona_bench {

using std::size_t;

namespace {
void put16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
}  // namespace

std::vector<uint8_t> udp_frame(uint32_t len, const std::array<uint8_t, 6>& dst, uint32_t tag) {
  std::vector<uint8_t> f(len < 42 ? 42 : len, 0);
  for (size_t i = 0; i < 6; i++) f[i] = dst[i];
  const uint8_t src[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
  for (size_t i = 0; i < 6; i++) f[6 + i] = src[i];
  put16(f, 12, 0x0800);
  const uint32_t ip_len = static_cast<uint32_t>(f.size()) - 14;
  f[14] = 0x45;
  put16(f, 16, ip_len);
  put16(f, 18, tag & 0xffff);  // identification
  f[22] = 64;                  // TTL
  f[23] = 17;                  // UDP
  const uint8_t sip[4] = {10, 0, 0, 2}, dip[4] = {10, 0, 0, 1};
  for (size_t i = 0; i < 4; i++) {
    f[26 + i] = sip[i];
    f[30 + i] = dip[i];
  }
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += (uint32_t(f[i]) << 8) | f[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(f, 24, ~sum & 0xffff);
  put16(f, 34, 40000);
  put16(f, 36, 9);
  put16(f, 38, ip_len - 20);  // UDP checksum 0: none (IPv4 allows it)
  for (size_t i = 42; i < f.size(); i++) f[i] = static_cast<uint8_t>(tag * 131 + i);
  return f;
}

}  // namespace viona_bench
