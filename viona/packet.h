// SPDX-License-Identifier: MIT
// packet.h: frames crossing the device, their MAC metadata, and the
// offload requests and capabilities the TX/RX paths translate.
#ifndef VIONA_PACKET_H_
#define VIONA_PACKET_H_

#include <cstdint>
#include <vector>

#include "viona/guest_memory.h"

namespace viona {

// Metadata MAC attaches to a received frame (mblk checksum / LSO flags).
struct RxMeta {
  bool cksum_ok = false;   // HCK_FULLCKSUM_OK: the NIC verified the checksum
  bool hw_lso = false;     // HW_LSO: a large frame still to be segmented
  uint16_t lso_mss = 0;    // MSS of an HW_LSO frame (0 = none)
};

// One frame from the backend for the RX path. |data| is owned by the caller.
struct RxFrame {
  const uint8_t* data = nullptr;
  uint32_t len = 0;  // bytes, Ethernet header included, no FCS
  RxMeta meta;
};

// Checksum/LSO work a TX packet asks of the backend (mac_hcksum/LSO flags).
struct TxOffload {
  bool csum_partial = false;  // HCK_PARTIALCKSUM: start/stuff/end relative to L3
  bool csum_full = false;     // HCK_FULLCKSUM
  bool ipv4_hdr = false;      // HCK_IPV4_HDRCKSUM
  bool lso = false;           // HW_LSO with |mss|
  uint16_t start = 0, stuff = 0, end = 0;
  uint16_t mss = 0;
};

// What a backend can do (MAC HCKSUM and LSO capabilities).
struct OffloadCaps {
  bool cksum_partial = false;  // HCKSUM_INET_PARTIAL
  bool cksum_full_v4 = false;  // HCKSUM_INET_FULL_V4
  bool cksum_full_v6 = false;  // HCKSUM_INET_FULL_V6
  bool cksum_ipv4_hdr = false; // HCKSUM_IPHDRCKSUM
  bool lso_tcpv4 = false;      // LSO_TX_BASIC_TCP_IPV4
  uint32_t lso_max = 0;        // bytes
  bool any_cksum() const { return cksum_partial || cksum_full_v4 || cksum_full_v6; }
};

class TxLoan;

// One packet leaving the guest. In copy mode every byte is in |head|; in
// loan mode |head| holds the copied headers and |loaned| the rest, still in
// guest memory, until the backend calls Link::tx_release(loan).
struct TxPacket {
  uint16_t ring = 0;
  uint16_t cookie = 0;        // head descriptor id
  std::vector<uint8_t> head;  // bytes copied out of the guest (header pad not included)
  std::vector<IoVec> loaned;  // loan mode only
  uint32_t len = 0;           // pkt_len: bytes of the packet, virtio header excluded
  TxOffload offload;
  TxLoan* loan = nullptr;     // nullptr in copy mode
  std::vector<uint8_t> flatten() const;  // head + loaned bytes
};

// The backend side of TX (mac_tx). Must not block in stepping mode.
class TxSink {
 public:
  virtual ~TxSink() = default;
  virtual void transmit(TxPacket&& pkt) = 0;
};

}  // namespace viona

#endif  // VIONA_PACKET_H_
