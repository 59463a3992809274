// SPDX-License-Identifier: MIT
// checksum.cpp: RFC 1071 sums, Ethernet/IP/TCP/UDP header parsing, and the
// checksum work a NIC does for an offload request.
#include "viona/checksum.h"

#include <cstring>

namespace viona {
namespace {

constexpr uint32_t kVlanTagLen = 4;
constexpr int kMaxVlanTags = 4;        // more than QinQ needs; bounds the walk
constexpr int kMaxIpv6ExtHeaders = 8;  // bounds the extension-header walk

uint16_t be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

// Parses the IPv6 fixed header and the extension headers whose length is
// self-describing, leaving |info| at the upper-layer header.
void parse_ipv6(const uint8_t* l3, size_t avail, PacketInfo* info) {
  if (avail < 40 || (l3[0] >> 4) != 6) return;
  uint8_t next = l3[6];
  size_t off = 40;
  for (int i = 0; i < kMaxIpv6ExtHeaders; i++) {
    size_t ext_len;
    if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, dest opts
      if (avail < off + 2) return;
      ext_len = (size_t(l3[off + 1]) + 1) * 8;
    } else if (next == 44) {  // fragment
      if (avail < off + 8) return;
      // A later fragment carries no upper-layer header to parse.
      if ((be16(l3 + off + 2) & 0xfff8) != 0) {
        info->l3hlen = uint32_t(off + 8);
        info->l3_ok = true;
        return;
      }
      ext_len = 8;
    } else if (next == 51) {  // authentication header counts 4-byte units
      if (avail < off + 2) return;
      ext_len = (size_t(l3[off + 1]) + 2) * 4;
    } else {
      break;
    }
    if (avail < off + ext_len) return;
    next = l3[off];
    off += ext_len;
  }
  info->l3hlen = uint32_t(off);
  info->l3_ok = true;
  info->l4proto = next;
}

void parse_l4(const uint8_t* l4, size_t avail, PacketInfo* info) {
  if (info->l4proto == kProtoTcp) {
    if (avail < 20) return;
    uint32_t hlen = uint32_t(l4[12] >> 4) * 4;
    if (hlen < 20 || avail < hlen) return;
    info->l4hlen = hlen;
    info->l4_ok = true;
  } else if (info->l4proto == kProtoUdp) {
    if (avail < 8) return;
    info->l4hlen = 8;
    info->l4_ok = true;
  }
}

// Where the L4 segment of a parsed IPv4/IPv6 packet ends (offset from the
// frame start), taken from the IP length field; a length of 0 (BIG TCP,
// IPv6 jumbogram) means the rest of the frame. 0 if the field is
// inconsistent with the frame.
size_t ip_end(const uint8_t* frame, size_t len, const PacketInfo& info) {
  const uint8_t* l3 = frame + info.l2hlen;
  size_t total;
  if (info.ethertype == kEtherTypeIpv4) {
    total = be16(l3 + 2);
  } else {
    total = be16(l3 + 4);
    if (total != 0) total += 40;
  }
  if (total == 0) total = len - info.l2hlen;
  if (total < size_t(info.l3hlen) + info.l4hlen || info.l2hlen + total > len) return 0;
  return info.l2hlen + total;
}

}  // namespace

uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t initial) {
  // Sums host-order words 32 bits at a time into a 64-bit accumulator; the
  // ones-complement sum is byte-order independent (RFC 1071 section 2(B)),
  // so a single swap at the end gives the big-endian sum.
  uint64_t acc = 0;
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, data, 8);
    acc += (w & 0xffffffffu) + (w >> 32);
    data += 8;
    len -= 8;
  }
  while (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, 2);
    acc += w;
    data += 2;
    len -= 2;
  }
  if (len != 0) {
    // The odd last byte is the high half of a big-endian word.
    uint16_t w = 0;
    std::memcpy(&w, data, 1);
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint32_t sum = uint32_t(acc);
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
  sum = ((sum & 0xff) << 8) | (sum >> 8);
#endif
  uint64_t total = uint64_t(sum) + initial;
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return uint32_t(total);
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial) {
  return uint16_t(~csum_fold(csum_partial(data, len, initial)));
}

PacketInfo parse_packet(const uint8_t* frame, size_t len) {
  PacketInfo info;
  if (frame == nullptr || len < kEtherHeaderLen) return info;
  size_t type_off = 12;
  uint16_t type = be16(frame + type_off);
  for (int tags = 0; type == kEtherTypeVlan || type == kEtherTypeQinQ; tags++) {
    if (tags == kMaxVlanTags || len < type_off + kVlanTagLen + 2) return info;
    type_off += kVlanTagLen;
    type = be16(frame + type_off);
  }
  info.l2hlen = uint32_t(type_off + 2);
  info.ethertype = type;
  info.l2_ok = true;

  const uint8_t* l3 = frame + info.l2hlen;
  size_t avail = len - info.l2hlen;
  if (type == kEtherTypeIpv4) {
    if (avail < 20 || (l3[0] >> 4) != 4) return info;
    uint32_t hlen = uint32_t(l3[0] & 0xf) * 4;
    if (hlen < 20 || avail < hlen) return info;
    info.l3hlen = hlen;
    info.l3_ok = true;
    // A non-first fragment has no L4 header; leave l4proto unknown.
    if ((be16(l3 + 6) & 0x1fff) != 0) return info;
    info.l4proto = l3[9];
  } else if (type == kEtherTypeIpv6) {
    parse_ipv6(l3, avail, &info);
    if (!info.l3_ok) return info;
  } else {
    return info;
  }
  parse_l4(l3 + info.l3hlen, avail - info.l3hlen, &info);
  return info;
}

bool finish_checksums(uint8_t* frame, size_t len, const TxOffload& o) {
  if (!o.csum_partial && !o.csum_full && !o.ipv4_hdr) return true;
  PacketInfo info = parse_packet(frame, len);
  if (!info.l2_ok) return false;
  bool is_v4 = info.l3_ok && info.ethertype == kEtherTypeIpv4;
  bool is_v6 = info.l3_ok && info.ethertype == kEtherTypeIpv6;

  // Validate everything before writing anything.
  if (o.ipv4_hdr && !is_v4) return false;
  size_t p_start = 0, p_stuff = 0, p_end = 0;
  if (o.csum_partial) {
    p_start = size_t(info.l2hlen) + o.start;
    p_stuff = size_t(info.l2hlen) + o.stuff;
    p_end = size_t(info.l2hlen) + o.end;
    if (p_start > p_end || p_end > len || p_stuff + 2 > len) return false;
  }
  size_t l4_off = 0, l4_end = 0, field = 0;
  if (o.csum_full) {
    if (!(is_v4 || is_v6) || !info.l4_ok) return false;
    l4_off = size_t(info.l2hlen) + info.l3hlen;
    l4_end = ip_end(frame, len, info);
    if (l4_end == 0) return false;
    field = l4_off + (info.l4proto == kProtoTcp ? 16 : 6);
  }

  uint8_t* l3 = frame + info.l2hlen;
  if (is_v4 && (o.ipv4_hdr || o.csum_full)) {
    put_be16(l3 + 10, 0);
    put_be16(l3 + 10, inet_checksum(l3, info.l3hlen));
  }
  if (o.csum_partial) {
    // Linux/illumos partial semantics: the field already holds the
    // pseudo-header sum the stack put there, and it lies inside the summed
    // range, so summing [start, end) as-is seeds the result with it. A
    // result of 0 is sent as 0xffff (the same value in ones complement;
    // required for UDP, where 0 means "no checksum").
    uint16_t c = inet_checksum(frame + p_start, p_end - p_start);
    put_be16(frame + p_stuff, c == 0 ? 0xffff : c);
  }
  if (o.csum_full) {
    size_t l4len = l4_end - l4_off;
    uint32_t pseudo = is_v4 ? csum_partial(l3 + 12, 8) : csum_partial(l3 + 8, 32);
    pseudo += info.l4proto + uint32_t(l4len >> 16) + uint32_t(l4len & 0xffff);
    put_be16(frame + field, 0);
    uint16_t c = inet_checksum(frame + l4_off, l4len, pseudo);
    if (c == 0 && info.l4proto == kProtoUdp) c = 0xffff;
    put_be16(frame + field, c);
  }
  return true;
}

}  // namespace viona
