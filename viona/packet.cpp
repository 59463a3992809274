// SPDX-License-Identifier: MIT
// packet.cpp: flattening a TX packet's pieces.
#include "viona/packet.h"

namespace viona {

std::vector<uint8_t> TxPacket::flatten() const {
  std::vector<uint8_t> out(head);
  for (const IoVec& v : loaned) out.insert(out.end(), v.base, v.base + v.len);
  return out;
}

}  // namespace viona
