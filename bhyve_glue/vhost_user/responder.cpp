// SPDX-License-Identifier: MIT
// responder.cpp: ARP and ICMP echo answers for the ping test's far end.
#include "bhyve_glue/vhost_user/responder.h"

#include <cstring>

#include "viona/checksum.h"

namespace bhyve_glue {

namespace {

constexpr size_t kEthLen = 14;
constexpr uint16_t kEtherTypeArp = 0x0806;  // not an offload protocol: kept here
using viona::kEtherTypeIpv4;
constexpr size_t kArpLen = 28;  // Ethernet/IPv4 ARP body
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kProtoIcmp = 1;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

constexpr std::array<uint8_t, 4> Responder::kDefaultIp;
constexpr std::array<uint8_t, 6> Responder::kDefaultMac;

Responder::Responder(std::array<uint8_t, 4> ip, std::array<uint8_t, 6> mac) : ip_(ip), mac_(mac) {}

std::vector<uint8_t> Responder::answer(const uint8_t* f, size_t len) {
  std::vector<uint8_t> out;
  if (len < kEthLen) return out;
  const uint16_t type = be16(f + 12);
  if (type == kEtherTypeArp && len >= kEthLen + kArpLen) {
    const uint8_t* a = f + kEthLen;
    // htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request), target = us.
    if (be16(a) != 1 || be16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4 || be16(a + 6) != 1) return out;
    if (std::memcmp(a + 24, ip_.data(), 4) != 0) return out;
    out.assign(kEthLen + kArpLen, 0);
    std::memcpy(out.data(), f + 6, 6);  // to the asker
    std::memcpy(out.data() + 6, mac_.data(), 6);
    put_be16(out.data() + 12, kEtherTypeArp);
    uint8_t* r = out.data() + kEthLen;
    std::memcpy(r, a, 6);
    put_be16(r + 6, 2);  // reply
    std::memcpy(r + 8, mac_.data(), 6);
    std::memcpy(r + 14, ip_.data(), 4);
    std::memcpy(r + 18, a + 8, 10);  // asker's MAC and IP become the target
    stats_.arp_replies++;
    return out;
  }
  if (type != kEtherTypeIpv4 || len < kEthLen + 20) return out;
  const uint8_t* ip = f + kEthLen;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoIcmp) return out;
  const size_t tot = be16(ip + 2);
  if (tot < ihl + 8 || kEthLen + tot > len) return out;
  if ((be16(ip + 6) & 0x3fff) != 0) return out;  // fragments are not answered
  if (std::memcmp(ip + 16, ip_.data(), 4) != 0 || ip[ihl] != kIcmpEchoRequest) return out;
  out.assign(f, f + kEthLen + tot);  // drop any Ethernet padding
  std::memcpy(out.data(), f + 6, 6);
  std::memcpy(out.data() + 6, mac_.data(), 6);
  uint8_t* rip = out.data() + kEthLen;
  std::memcpy(rip + 12, ip + 16, 4);
  std::memcpy(rip + 16, ip + 12, 4);
  rip[8] = 64;  // a fresh TTL, as a host's own reply has
  put_be16(rip + 10, 0);
  put_be16(rip + 10, viona::inet_checksum(rip, ihl));
  uint8_t* icmp = rip + ihl;
  icmp[0] = kIcmpEchoReply;
  put_be16(icmp + 2, 0);
  put_be16(icmp + 2, viona::inet_checksum(icmp, tot - ihl));
  stats_.echo_replies++;
  return out;
}

void Responder::transmit(viona::TxPacket&& pkt) {
  stats_.tx_frames++;
  const std::vector<uint8_t> f = pkt.flatten();
  std::vector<uint8_t> r = answer(f.data(), f.size());
  if (r.empty()) {
    stats_.ignored++;
    return;
  }
  pending_.push_back(std::move(r));
}

size_t Responder::rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) {
  size_t n = 0;
  while (n < max && !pending_.empty()) {
    BackendFrame bf;
    bf.data = std::move(pending_.front());
    pending_.pop_front();
    out->push_back(std::move(bf));
    n++;
  }
  return n;
}

}  // namespace bhyve_glue
