// SPDX-License-Identifier: MIT
// guest_profile.h: how a simulated guest driver lays out its queues and buffers.
#ifndef BHYVE_GLUE_GUEST_GUEST_PROFILE_H_
#define BHYVE_GLUE_GUEST_GUEST_PROFILE_H_

#include <cstdint>
#include <string>

namespace bhyve_glue {

// Everything a driver chooses about its memory layout. The named profiles
// (viona-guests(7)) are fixed settings of these fields; "custom" sets any.
struct GuestProfile {
  std::string name;
  // Features the driver would like (the host's offer is ANDed in).
  uint64_t want_features = 0;
  uint16_t ring_size = 1024;  // vqsize the device is configured with
  bool msix = true;           // use MSI-X (3 vectors) rather than INTx

  // RX chains. Each chain: an optional separate header descriptor of
  // |rx_hdr_desc| bytes, then |rx_descs| data descriptors of |rx_buf|
  // bytes. Data buffer k (counting over all chains) is at
  //   base + (k / per_block) * rx_block + rx_offset + (k % per_block) * rx_stride
  // with per_block = (rx_block - rx_offset) / rx_stride, or, when
  // rx_block is 0, at base + rx_offset + k * rx_stride. base is 32 KiB
  // aligned, so rx_offset is also the offset within the first page.
  uint32_t rx_buf = 1536;
  uint32_t rx_offset = 0;
  uint32_t rx_stride = 1536;
  uint32_t rx_block = 0;
  uint32_t rx_descs = 1;
  uint32_t rx_hdr_desc = 0;
  bool rx_indirect = false;  // one INDIRECT descriptor per chain (needs RING_INDIRECT_DESC)
  uint32_t rx_chains = 0;    // chains posted; 0 = as many as the ring holds

  // TX chains: a header descriptor then one data descriptor (the layout of
  // a legacy driver without ANY_LAYOUT), directly or through an indirect table.
  bool tx_indirect = false;
  uint32_t tx_slots = 256;   // chains in flight at most (capped by the ring)
  uint32_t tx_buf = 65536;   // bytes of data buffer per slot
};

// "linux-mrg", "linux-big", "linux-small", or "custom[:key=value,...]"
// with keys ring, msix, mrg, csum, tso, indirect_desc, buf, offset, stride,
// block, descs, hdr, rx_indirect, chains, tx_indirect, tx_slots.
// false with a one-line |*err| for an unknown name or a bad value.
bool guest_profile_from_name(const std::string& spec, GuestProfile* out, std::string* err);

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_GUEST_GUEST_PROFILE_H_
