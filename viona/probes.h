// SPDX-License-Identifier: MIT
// probes.h: the observer interface, one event per viona DTrace probe.
#ifndef VIONA_PROBES_H_
#define VIONA_PROBES_H_

#include <cstddef>
#include <cstdint>

namespace viona {

class Ring;
struct Chain;

// One enumerator per probe in probes.inc; names are viona's SDT names.
enum class ProbeKind : uint8_t {
#define VIONA_PROBE(name, args) name,
#include "viona/probes.inc"
#undef VIONA_PROBE
};
constexpr size_t kProbeKindCount = 0
#define VIONA_PROBE(name, args) +1
#include "viona/probes.inc"
#undef VIONA_PROBE
    ;
const char* probe_name(ProbeKind k);
const char* probe_arg_names(ProbeKind k);  // comma separated, "" when none
bool probe_from_name(const char* name, ProbeKind* out);

// A fired probe. Pointer arguments of the DTrace probe (ring, mblk) are not
// carried: |ring| is the ring index, arg[] the numeric arguments in the order
// probe_arg_names() gives.
struct ProbeEvent {
  ProbeKind kind;
  uint16_t ring;
  uint64_t arg[3];
};

// How an interrupt decision came out (viona_intr_ring).
enum class InterruptKind : uint8_t {
  suppressed = 0,  // VRING_AVAIL_F_NO_INTERRUPT set by the guest
  msi = 1,         // injected through the ring's MSI address/message
  poll = 2,        // vr_intr_enabled went 0 -> 1: userspace poll wakes
  already = 3,     // vr_intr_enabled was already 1: no new wake-up
};

// Subscribers (the recorder, tests) implement what they need. With no
// listener installed every probe site costs one predictable branch.
class ProbeListener {
 public:
  virtual ~ProbeListener() = default;
  virtual void on_probe(const ProbeEvent& ev) {}
  // A chain was popped successfully (descriptors and pieces in |chain|).
  virtual void on_chain(const Ring& ring, const Chain& chain) {}
  // A used entry was written at |slot| (used.ring index before masking).
  virtual void on_used(const Ring& ring, uint16_t slot, uint32_t id, uint32_t len) {}
  // used.idx was published with value |used_idx|.
  virtual void on_used_publish(const Ring& ring, uint16_t used_idx) {}
  virtual void on_interrupt(const Ring& ring, InterruptKind kind) {}
  // RX: delivery of the frame whose bytes start at |frame| (the caller's
  // RxFrame::data) begins; every event until the next call belongs to it.
  virtual void on_rx_frame(const Ring& ring, const uint8_t* frame) {}
  // The device wrote |len| bytes at guest-physical |gpa| (frame data and
  // headers; not ring metadata). Used for digests of what the guest sees.
  virtual void on_guest_write(const Ring& ring, uint16_t cookie, uint64_t offset_in_chain,
                              const uint8_t* data, size_t len) {}
};

}  // namespace viona

#endif  // VIONA_PROBES_H_
