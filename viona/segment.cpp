// SPDX-License-Identifier: MIT
// segment.cpp: software TCP/IPv4 segmentation of an LSO frame, the part of
// mac_hw_emul the RX GRO fallback and TX software offload need.
#include "viona/segment.h"

#include <cstring>

#include "viona/checksum.h"

namespace viona {
namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;
constexpr size_t kIpMaxPacket = 65535;  // IP_MAXPACKET

uint16_t be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace

bool tso_segment(const uint8_t* frame, size_t len, uint16_t mss, std::vector<std::vector<uint8_t>>* out) {
  if (out == nullptr) return false;
  out->clear();
  if (frame == nullptr || mss == 0) return false;
  PacketInfo info = parse_packet(frame, len);
  if (!info.l4_ok || info.ethertype != kEtherTypeIpv4 || info.l4proto != kProtoTcp) return false;

  const size_t l2 = info.l2hlen, l3 = info.l3hlen, l4 = info.l4hlen;
  const uint8_t* ip = frame + l2;
  // Fragments cannot be resegmented (parse_packet already refused later
  // fragments; this refuses a first fragment with MF set).
  if ((be16(ip + 6) & 0x2000) != 0) return false;
  size_t total = be16(ip + 2);
  // Linux BIG TCP sends total length 0 and lets the frame length speak.
  if (total == 0) total = len - l2;
  if (total < l3 + l4 || l2 + total > len) return false;
  const size_t payload = total - l3 - l4;
  const size_t seg_max = payload < mss ? payload : mss;
  if (l3 + l4 + seg_max > kIpMaxPacket) return false;

  const size_t hdrs = l2 + l3 + l4;
  const uint8_t* data = frame + hdrs;
  const uint16_t id0 = be16(ip + 4);
  const uint32_t seq0 = be32(ip + l3 + 4);
  const uint8_t flags0 = ip[l3 + 13];
  // Source and destination plus protocol are the same in every segment.
  const uint32_t pseudo_base = csum_partial(ip + 12, 8) + kProtoTcp;

  const size_t nseg = payload == 0 ? 1 : (payload + mss - 1) / mss;
  out->reserve(nseg);
  size_t off = 0;
  for (size_t k = 0; k < nseg; k++) {
    const size_t n = payload - off < mss ? payload - off : mss;
    out->emplace_back(hdrs + n);
    std::vector<uint8_t>& seg = out->back();
    uint8_t* s = seg.data();
    std::memcpy(s, frame, hdrs);
    std::memcpy(s + hdrs, data + off, n);

    uint8_t* sip = s + l2;
    put_be16(sip + 2, uint16_t(l3 + l4 + n));
    put_be16(sip + 4, uint16_t(id0 + k));
    put_be16(sip + 10, 0);
    put_be16(sip + 10, inet_checksum(sip, l3));

    uint8_t* tcp = sip + l3;
    put_be32(tcp + 4, seq0 + uint32_t(off));
    uint8_t flags = flags0;
    if (k + 1 != nseg) flags &= uint8_t(~(kTcpFin | kTcpPsh));
    if (k != 0) flags &= uint8_t(~kTcpCwr);
    tcp[13] = flags;
    put_be16(tcp + 16, 0);
    const uint32_t tcp_len = uint32_t(l4 + n);
    put_be16(tcp + 16, inet_checksum(tcp, tcp_len, pseudo_base + tcp_len));
    off += n;
  }
  return true;
}

}  // namespace viona
