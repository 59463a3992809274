// SPDX-License-Identifier: MIT
// tx_loans.h: per-descriptor loan ("desb") slots of a TX ring in loan mode.
#ifndef VIONA_TX_LOANS_H_
#define VIONA_TX_LOANS_H_

#include <cstdint>
#include <vector>

#include "viona/guest_memory.h"

namespace viona {

// One in-flight loaned packet, indexed by its head descriptor id
// (viona_desb_t). ref 0 = free; a packet in flight holds the slot until
// the backend releases it, and only then is its used entry written.
class TxLoan {
 public:
  uint16_t ring = 0;
  uint16_t cookie = 0;     // head id
  uint32_t total_len = 0;  // chain length incl. virtio header: the used length
  bool busy = false;
  PageHolds holds;         // guest pages the loaned pieces point into
  std::vector<uint8_t> header_buf;  // VIONA_MAX_HDRS_LEN + header pad
};

class TxLoans {
 public:
  TxLoans(uint16_t qsz, uint16_t header_pad);
  TxLoan& slot(uint16_t id) { return slots_[id]; }
  uint16_t header_pad() const { return header_pad_; }

 private:
  std::vector<TxLoan> slots_;
  uint16_t header_pad_;
};

}  // namespace viona

#endif  // VIONA_TX_LOANS_H_
