// SPDX-License-Identifier: MIT
// checksum.h: Internet checksums (RFC 1071) and frame parsing for offloads.
#ifndef VIONA_CHECKSUM_H_
#define VIONA_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

#include "viona/packet.h"

namespace viona {

// Numbers of the protocols the offload paths parse.
constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q C-tag
constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad S-tag
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

// Ones-complement sum of |len| bytes folded to 16 bits, not inverted;
// |initial| is a partial sum to continue from. Big-endian byte pairs.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t initial = 0);
uint16_t csum_fold(uint32_t sum);  // fold to 16 bits (not inverted)
// The final checksum field value: ~fold(sum of data + initial).
uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial = 0);

// Offsets of a frame's headers (mac_ether_offload_info's answer).
struct PacketInfo {
  uint32_t l2hlen = 0;     // Ethernet header incl. 802.1Q/802.1ad tags
  uint16_t ethertype = 0;  // after tags: 0x0800 IPv4, 0x86dd IPv6, ...
  uint32_t l3hlen = 0;     // 0 when not parsed
  uint8_t l4proto = 0;     // IPPROTO_TCP 6, IPPROTO_UDP 17; 0 unknown
  uint32_t l4hlen = 0;     // 0 when not parsed
  bool l2_ok = false, l3_ok = false, l4_ok = false;
};
// Parses as far as the bytes allow. Never reads past |len|.
PacketInfo parse_packet(const uint8_t* frame, size_t len);

// Fills in the checksums an offload request asked for (what a NIC would do):
// IPv4 header checksum if |o.ipv4_hdr| or full; L4 checksum for partial
// (at L3-relative start/stuff) or full (TCP/UDP over IPv4/IPv6). Returns
// false if the frame cannot be parsed for the request.
bool finish_checksums(uint8_t* frame, size_t len, const TxOffload& o);

}  // namespace viona

#endif  // VIONA_CHECKSUM_H_
