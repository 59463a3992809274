// SPDX-License-Identifier: MIT
// tx_loans.cpp: loan slot allocation.
#include "viona/tx_loans.h"

#include "viona/virtio_defs.h"

namespace viona {

TxLoans::TxLoans(uint16_t qsz, uint16_t header_pad) : slots_(qsz), header_pad_(header_pad) {
  for (TxLoan& l : slots_) l.header_buf.resize(VIONA_MAX_HDRS_LEN + header_pad);
}

}  // namespace viona
