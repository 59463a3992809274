// SPDX-License-Identifier: MIT
// tx_finish.h: what a NIC does with an offload request, for backends without offloads.
#ifndef VIONA_TX_FINISH_H_
#define VIONA_TX_FINISH_H_

#include <cstdint>
#include <vector>

#include "viona/packet.h"

namespace viona {

// Turns |pkt| into the frames that go on the wire: its bytes flattened
// (head + loaned pieces), checksums filled in when pkt.offload asks for
// them, and LSO frames cut into MSS-sized segments with their own IPv4 and
// TCP checksums (mac_hw_emul's job in illumos). A request that cannot be
// completed (unparseable frame) yields no frames: the packet is dropped,
// as MAC drops what it cannot emulate. Does not release a loan: the
// backend calls Link::tx_release(pkt.loan) once it no longer needs |pkt|.
std::vector<std::vector<uint8_t>> finish_for_wire(const TxPacket& pkt);

}  // namespace viona

#endif  // VIONA_TX_FINISH_H_
