// SPDX-License-Identifier: MIT
// link.h: one viona link: features, params, MTU, rings, RX and TX entry points.
#ifndef VIONA_LINK_H_
#define VIONA_LINK_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "viona/guest_memory.h"
#include "viona/packet.h"
#include "viona/probes.h"
#include "viona/quirks.h"
#include "viona/ring.h"

namespace viona {

// Link parameters (VNA_IOC_{GET,SET,DEFAULT}_PARAMS); applied at next ring init.
struct LinkParams {
  bool tx_copy_data = true;    // copy mode (newest default); false = loan guest pages
  uint16_t tx_header_pad = 0;  // bytes left free before copied headers, <= 256
};

// viona_promisc_t.
enum class PromiscMode : uint8_t {
  VIONA_PROMISC_NONE = 0,
  VIONA_PROMISC_MULTI = 1,  // default
  VIONA_PROMISC_ALL = 2,
};

struct RxBatchResult {
  uint32_t accepted = 0;  // frames delivered
  uint32_t dropped = 0;   // frames on the drop list
};

struct TxDrainResult {
  uint32_t sent = 0;      // viona_tx successes
  bool bailed = false;    // a stop/pause request ended the drain
};

// Ring state as VNA_IOC_RING_{GET,SET}_STATE carry it.
struct RingState {
  uint16_t index = 0;
  uint16_t avail_idx = 0;
  uint16_t used_idx = 0;
  uint16_t qsize = 0;
  uint64_t desc = 0, avail = 0, used = 0;  // guest-physical
};

class TxLoans;

// The link (viona_link_t). Not thread-safe: the glue serialises calls (one
// lock in threaded mode, one thread in stepping mode). Ring state changes
// that viona's worker makes are made here, synchronously, by the call that
// requests them (see viona.h, Divergences).
class Link {
 public:
  explicit Link(GuestMemory* mem, uint16_t npairs = 1);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  GuestMemory* memory() const { return mem_; }

  // --- features ---------------------------------------------------------
  void set_offload_caps(const OffloadCaps& caps) { caps_ = caps; }
  const OffloadCaps& offload_caps() const { return caps_; }
  uint64_t features_hw() const;      // CSUM / HOST_TSO4 from the caps
  uint64_t features_offered() const { return kViona_S_HostCaps | features_hw(); }
  // SET_FEATURES: modern from the raw value; mask to offered; drop
  // HOST_TSO4 without CSUM and GUEST_TSO4 without GUEST_CSUM.
  void set_features(uint64_t raw);
  uint64_t features() const { return features_; }
  bool has(uint64_t bit) const { return (features_ & bit) != 0; }
  bool modern() const { return modern_; }
  // 12 with MRG_RXBUF or VERSION_1 (RX); TX adds the legacy MRG_RXBUF quirk too.
  uint32_t rx_header_len() const;
  uint32_t tx_header_len() const;

  LinkParams params;
  uint32_t mtu = VIONA_DEFAULT_MTU;
  Quirks quirks;
  PromiscMode promisc = PromiscMode::VIONA_PROMISC_MULTI;
  std::array<uint8_t, 6> mac{{0x02, 0x08, 0x20, 0x00, 0x00, 0x01}};
  // Network hooks: non-zero = drop (rs_rx_hookdrop / rs_tx_hookdrop).
  std::function<int(const uint8_t* frame, uint32_t len)> rx_hook, tx_hook;

  // --- rings ------------------------------------------------------------
  uint16_t npairs() const { return static_cast<uint16_t>(rings_.size() / 2); }
  uint16_t usepairs = 1;
  uint16_t nrings() const { return static_cast<uint16_t>(rings_.size()); }
  Ring& ring(uint16_t i) { return *rings_[i]; }
  const Ring& ring(uint16_t i) const { return *rings_[i]; }
  static bool is_tx_ring(uint16_t i) { return (i & 1) != 0; }

  // Ring control; each returns 0 or viona's errno.
  int ring_init(uint16_t i, uint16_t qsz, uint64_t pa);  // legacy layout
  int ring_init_modern(uint16_t i, uint16_t qsz, uint64_t desc, uint64_t avail, uint64_t used);
  int ring_set_state(const RingState& st);
  int ring_get_state(RingState* st) const;
  int ring_reset(uint16_t i);
  int ring_kick(uint16_t i);
  int ring_pause(uint16_t i);
  int ring_set_msi(uint16_t i, uint64_t addr, uint64_t msg);
  int ring_intr_clr(uint16_t i);
  int set_pairs(uint16_t n);

  void set_listener(ProbeListener* l);
  ProbeListener* listener() const { return listener_; }
  void set_interrupt_sink(InterruptSink* s);

  // Link transfer stats: rings' stats consolidated when they leave RUN.
  TransferStats vls_rx, vls_tx;

  // --- datapath ---------------------------------------------------------
  // One MAC callback's batch of classified frames into RX ring |ri| (even).
  // Frames are dropped silently unless the ring is in VRS_RUN.
  RxBatchResult rx_deliver(uint16_t ri, const RxFrame* frames, size_t n);
  // The promiscuous-multicast callback: only multicast destinations pass.
  RxBatchResult rx_deliver_mcast(uint16_t ri, const RxFrame* frames, size_t n);
  // What MAC would hand viona for |frames| given |promisc| and |mac|:
  // classified (ours, broadcast) and, per mode, multicast or everything.
  RxBatchResult rx_input(const RxFrame* frames, size_t n);

  // The TX worker's drain of ring |ti| (odd): pops and sends until empty,
  // then re-enables notifications (NOTIFY_ON_EMPTY interrupt if negotiated).
  // Stops at a malformed head chain (it stays at the head for the next kick).
  TxDrainResult tx_drain(uint16_t ti, TxSink& sink);
  // The backend is done with a loaned packet: write its used entry.
  void tx_release(TxLoan* loan);

 private:
  int ring_map(uint16_t i, uint16_t qsz, uint64_t desc, uint64_t avail, uint64_t used, bool legacy,
               uint16_t aidx, uint16_t uidx);
  void ring_leave_run(Ring& r);
  void ring_reset_path(Ring& r);

  GuestMemory* mem_;
  OffloadCaps caps_;
  uint64_t features_ = 0;
  bool modern_ = false;
  std::vector<std::unique_ptr<Ring>> rings_;
  ProbeListener* listener_ = nullptr;
  InterruptSink* intr_sink_ = nullptr;
  std::vector<std::unique_ptr<TxLoans>> tx_loans_;  // per ring index; TX rings in loan mode only
  // RX scratch (rx.cpp), kept so a warm datapath does not allocate. One set
  // per link is enough because calls are serialised (class comment). They
  // hold no page holds between frames.
  Chain rx_first_;                                  // chain 0 of a frame (it holds the header)
  Chain rx_cur_;                                    // merged RX: the current chain k > 0
  std::vector<std::vector<uint8_t>> rx_segs_;       // GRO-fallback segments of one frame
  std::vector<RxFrame> rx_sub_;                     // rx_input: one callback's share of a batch
  friend class TxLoans;
  friend struct TxPathImpl;
  friend struct RxPathImpl;
};

}  // namespace viona

#endif  // VIONA_LINK_H_
