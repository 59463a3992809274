// SPDX-License-Identifier: MIT
// independent_checksum.cpp: word-at-a-time RFC 1071 sums with an end-around
// carry after every addition, written to differ from viona/checksum.cpp.
#include "tests/support/independent_checksum.h"

#include <cstddef>

namespace viona {
namespace test {
namespace {

// A running ones-complement sum that folds the carry on every add.
class OnesSum {
 public:
  void add_word(uint32_t w) {
    value_ += w;
    if (value_ > 0xffff) value_ = (value_ & 0xffff) + 1;
  }
  // Bytes [from, to) of |v| as big-endian words; an odd last byte is the high
  // half of a word whose low half is zero.
  void add_bytes(const std::vector<uint8_t>& v, size_t from, size_t to) {
    size_t i = from;
    for (; i + 1 < to; i += 2) add_word((uint32_t(v[i]) << 8) | v[i + 1]);
    if (i < to) add_word(uint32_t(v[i]) << 8);
  }
  uint32_t value() const { return value_; }

 private:
  uint32_t value_ = 0;
};

// Where the IP header starts and which version it is.
struct L3Where {
  bool ok = false;
  size_t offset = 0;
  int version = 0;
};

L3Where find_l3(const std::vector<uint8_t>& f) {
  L3Where w;
  size_t pos = 12;
  for (int tags = 0; tags < 8; tags++) {
    if (f.size() < pos + 2) return w;
    unsigned type = (unsigned(f[pos]) << 8) | f[pos + 1];
    if (type == 0x8100 || type == 0x88a8) {
      pos += 4;
      continue;
    }
    if (type == 0x0800) w.version = 4;
    else if (type == 0x86dd) w.version = 6;
    else return w;
    w.offset = pos + 2;
    w.ok = true;
    return w;
  }
  return w;
}

// Pseudo-header sum plus the L4 byte range [begin, end) for |proto|.
bool l4_sum_ok(const std::vector<uint8_t>& f, unsigned proto, bool zero_is_bad, size_t csum_field) {
  L3Where w = find_l3(f);
  if (!w.ok) return false;
  size_t ip = w.offset;
  OnesSum s;
  size_t begin, end;
  if (w.version == 4) {
    if (f.size() < ip + 20 || (f[ip] >> 4) != 4) return false;
    size_t ihl = size_t(f[ip] & 0xf) * 4;
    if (ihl < 20 || f.size() < ip + ihl) return false;
    if (f[ip + 9] != proto) return false;
    size_t total = (size_t(f[ip + 2]) << 8) | f[ip + 3];
    if (total == 0) total = f.size() - ip;
    if (total < ihl || ip + total > f.size()) return false;
    begin = ip + ihl;
    end = ip + total;
    s.add_bytes(f, ip + 12, ip + 20);  // source and destination
  } else {
    if (f.size() < ip + 40 || (f[ip] >> 4) != 6) return false;
    if (f[ip + 6] != proto) return false;
    size_t payload = (size_t(f[ip + 4]) << 8) | f[ip + 5];
    begin = ip + 40;
    end = begin + payload;
    if (end > f.size()) return false;
    s.add_bytes(f, ip + 8, ip + 40);
  }
  size_t l4len = end - begin;
  if (l4len < csum_field + 2) return false;
  if (zero_is_bad && f[begin + csum_field] == 0 && f[begin + csum_field + 1] == 0) return false;
  s.add_word(proto);
  s.add_word(uint32_t(l4len >> 16));
  s.add_word(uint32_t(l4len & 0xffff));
  s.add_bytes(f, begin, end);
  return s.value() == 0xffff;
}

}  // namespace

bool ipv4_header_checksum_ok(const std::vector<uint8_t>& frame) {
  L3Where w = find_l3(frame);
  if (!w.ok || w.version != 4) return false;
  size_t ip = w.offset;
  if (frame.size() < ip + 20) return false;
  size_t ihl = size_t(frame[ip] & 0xf) * 4;
  if (ihl < 20 || frame.size() < ip + ihl) return false;
  OnesSum s;
  s.add_bytes(frame, ip, ip + ihl);
  return s.value() == 0xffff;
}

bool tcp_checksum_ok(const std::vector<uint8_t>& frame) {
  return l4_sum_ok(frame, 6, false, 16);
}

bool udp_checksum_ok(const std::vector<uint8_t>& frame) {
  return l4_sum_ok(frame, 17, true, 6);
}

}  // namespace test
}  // namespace viona
