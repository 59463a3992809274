// SPDX-License-Identifier: MIT
// backend.h: what sits under a viona link: a TX sink and a source of RX frames.
#ifndef BHYVE_GLUE_BACKEND_BACKEND_H_
#define BHYVE_GLUE_BACKEND_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "viona/packet.h"

namespace bhyve_glue {

// One frame a backend produced for RX; owns its bytes.
struct BackendFrame {
  std::vector<uint8_t> data;  // Ethernet header included, no FCS
  viona::RxMeta meta;
};

// The datalink a viona link is opened on (MAC in illumos). A backend
// declares its offload capabilities (they become l_features_hw), takes TX
// packets through TxSink::transmit, and yields RX frames when asked.
//
// transmit() is called with the Device's lock held, from the thread that
// drains the TX ring; it must consume |pkt| before returning (copy what it
// keeps): a loaned packet's guest pages are released right after the drain.
// rx_pull() is called from one thread at a time (the caller of
// Device::step_rx in stepping mode, the Device's RX thread in threaded
// mode), never with the Device's lock held.
class Backend : public viona::TxSink {
 public:
  ~Backend() override = default;

  virtual const char* kind() const = 0;  // "loopback", "pcap", "live", "tap"
  virtual viona::OffloadCaps offload_caps() const { return viona::OffloadCaps{}; }

  // Appends at most |max| frames to |*out|. |timeout_ms| 0: do not wait
  // (stepping mode); > 0: wait that long for a first frame. Returns the
  // number appended.
  virtual size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) = 0;
  // A finite source (a capture file) has nothing more to give.
  virtual bool rx_exhausted() const { return false; }
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_BACKEND_BACKEND_H_
