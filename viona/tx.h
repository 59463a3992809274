// SPDX-License-Identifier: MIT
// tx.h: the TX path's internals (viona_tx.c): one packet, offload translation.
//
// Private to viona/ and its tests. Link::tx_drain is the worker's loop; it
// calls TxPathImpl::tx_one once per available chain. Tests call tx_one
// directly to reach the one state a single-threaded drain cannot: a pop
// that finds nothing although the loop had seen avail work (rs_tx_absent,
// a guest lowering avail.idx between the two reads).
#ifndef VIONA_TX_H_
#define VIONA_TX_H_

#include <cstdint>

#include "viona/checksum.h"
#include "viona/link.h"
#include "viona/packet.h"
#include "viona/ring.h"

namespace viona {

// What one viona_tx() call did with the chain at the head of avail.
enum class [[nodiscard]] TxOneResult : uint8_t {
  sent = 0,       // handed to the sink (used entry now, or at tx_release in loan mode)
  dropped = 1,    // drop_fail or hook drop: used entry written, vts_drops counted
  absent = 2,     // pop found nothing: rs_tx_absent
  pop_error = 3,  // malformed chain: counted by the ring, left at the head of avail
};

// The guest's virtio-net header fields, little-endian decoded (num_buffers
// and hdr_len are read but unused, as in viona).
struct TxNetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

struct TxPathImpl {
  // viona_tx(): pops one chain from TX ring |ring| of |link| into |chain|
  // (reused across calls to keep its vectors' capacity) and sends or drops
  // it. On |sent|, *pkt_len is the packet length without the virtio header.
  static TxOneResult tx_one(Link& link, Ring& ring, TxSink& sink, Chain& chain, uint32_t* pkt_len);

  // viona_tx_offloads(): turns the guest's NEEDS_CSUM / GSO request into
  // pkt->offload against the backend's caps, editing pkt->head where viona
  // edits the header mblk. |first_len| is the byte count of the first
  // (copied-header) buffer. Returns false after bumping the failure's rs_*
  // counter and firing its probe; pkt->offload is then left empty.
  static bool tx_offloads(Link& link, Ring& ring, TxPacket* pkt, const TxNetHdr& h, const PacketInfo& info,
                          uint32_t first_len);

  // Used entry + full barrier + interrupt decision (viona_tx_done); also
  // the completion of a released loan.
  static void done(Ring& ring, uint16_t cookie, uint32_t total_len);

 private:
  // drop_fail (|fail| true: error + drop) or drop_hook (drop only).
  static TxOneResult drop(Ring& ring, Chain& chain, TxLoan* reserved, uint32_t pkt_len, bool fail);
};

}  // namespace viona

#endif  // VIONA_TX_H_
