// SPDX-License-Identifier: MIT
// tx_finish.cpp: software checksum and segmentation for no-offload backends.
#include "viona/tx_finish.h"

#include <utility>

#include "viona/checksum.h"
#include "viona/segment.h"

namespace viona {

std::vector<std::vector<uint8_t>> finish_for_wire(const TxPacket& pkt) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> frame = pkt.flatten();
  const TxOffload& o = pkt.offload;
  if (o.lso) {
    // Segmentation computes every segment's checksums from scratch, so the
    // partial/full request (and any pseudo-header rewrite) is subsumed.
    if (!tso_segment(frame.data(), frame.size(), o.mss, &out)) out.clear();
    return out;
  }
  if (o.csum_partial || o.csum_full || o.ipv4_hdr) {
    if (!finish_checksums(frame.data(), frame.size(), o)) return out;
  }
  out.push_back(std::move(frame));
  return out;
}

}  // namespace viona
