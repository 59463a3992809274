// SPDX-License-Identifier: MIT
// ring.h: one split virtqueue: mapping, chain popping, used-ring pushes,
// notification suppression and the interrupt decision.
#ifndef VIONA_RING_H_
#define VIONA_RING_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "viona/guest_memory.h"
#include "viona/probes.h"
#include "viona/stats.h"
#include "viona/virtio_defs.h"

namespace viona {

// Ring states (vr_state). After the worker exists only the worker changes it.
enum class VrState : uint16_t {
  VRS_RESET = 0x0,  // just allocated or reset; no worker
  VRS_SETUP = 0x1,  // addresses set, worker being started
  VRS_INIT = 0x2,   // worker running, waiting for a start request
  VRS_RUN = 0x3,    // worker executing the RX or TX work loop
  VRS_STOP = 0x4,   // worker leaving its work loop
};
const char* vr_state_name(VrState s);

// Requests to the worker (vr_state_flags).
constexpr uint16_t VRSF_REQ_START = 0x1;  // start running
constexpr uint16_t VRSF_REQ_STOP = 0x2;   // stop running, go to RESET
constexpr uint16_t VRSF_REQ_PAUSE = 0x4;  // stop running, go to INIT
constexpr uint16_t VRSF_RENEW = 0x8;      // lease being renewed

// One descriptor of a popped chain, as the guest wrote it (for recording).
struct ChainDesc {
  uint16_t index;           // index within its table (main or indirect)
  int32_t indirect_parent;  // -1: main table; else main-table index of the INDIRECT descriptor
  uint64_t addr;            // guest-physical
  uint32_t len;             // bytes
  uint16_t flags;           // VRING_DESC_F_*
  uint16_t next;
  uint16_t first_piece;     // index into Chain::iov of its first piece (0 for an INDIRECT one)
  uint16_t npieces;         // pieces it became (0 for an INDIRECT descriptor itself)
};

// What one successful pop returned (vq_popchain's outputs).
struct Chain {
  uint16_t cookie = 0;     // head descriptor index: the used-ring id
  uint16_t avail_idx = 0;  // avail index (unmasked) it was taken from
  uint32_t total_len = 0;  // sum of descriptor lengths, bytes
  std::vector<IoVec> iov;          // host pieces, page-split in paged mode
  std::vector<uint64_t> piece_gpa; // guest-physical start of each piece
  std::vector<bool> piece_write;   // descriptor had F_WRITE
  std::vector<ChainDesc> descs;
  PageHolds holds;  // every page hold taken for the pieces

  void clear();
};

// Result of pop_chain. On error the counter and probe have already fired,
// vr_cur_aidx is not advanced and nothing is pushed.
enum class [[nodiscard]] PopResult : uint8_t {
  ok = 0,
  empty = 1,
  error = 2,
};

// Receives interrupts that must go to the guest. Installed by the link.
class InterruptSink {
 public:
  virtual ~InterruptSink() = default;
  virtual void msi(uint16_t ring, uint64_t addr, uint64_t msg) = 0;
  virtual void poll_wakeup(uint16_t ring) = 0;
};

// One split virtqueue (viona_vring_t). Single consumer of avail, single
// producer of used: the caller (the ring's worker) serialises access.
class Ring {
 public:
  explicit Ring(uint16_t index = 0);
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Maps the three parts and sets the indices. Returns 0 or viona's errno:
  // EINVAL for a bad size, zero address, misalignment or unmappable page.
  // |require_page_align|: every part must be 4096-aligned (non-modern link).
  // Validate-then-commit: on error the ring is left unmapped and zeroed.
  int map(GuestMemory* mem, uint16_t qsz, uint64_t desc_pa, uint64_t avail_pa, uint64_t used_pa,
          bool require_page_align, uint16_t avail_idx, uint16_t used_idx);
  // Releases the mapping (reset path). vr_cur_uidx is kept, as viona does.
  void unmap();
  bool mapped() const { return size_ != 0; }

  // (uint16)(avail.idx - vr_cur_aidx); bumps rs_ndesc_too_high when > size.
  uint16_t avail_count();
  // Pops one chain into at most |niov| pieces (RX: VTNET_MAXSEGS, TX: size).
  PopResult pop_chain(Chain& out, uint32_t niov);
  // Writes one used entry, then publishes used.idx.
  void push_used(uint32_t id, uint32_t len);
  // Writes |n| entries in consecutive slots (or, with |same_slot|, the
  // illumos-13783 regression: all in one slot), one used.idx publish.
  void push_used_many(const VringUsedElem* elems, uint32_t n, bool same_slot);

  void disable_notify();  // used.flags |= VRING_USED_F_NO_NOTIFY
  void enable_notify();
  // viona_intr_ring: honours VRING_AVAIL_F_NO_INTERRUPT unless |skip_flags_check|.
  InterruptKind intr_ring(bool skip_flags_check);
  // VNA_IOC_RING_INTR_CLR.
  void intr_clear() { intr_enabled_.store(0); }
  bool intr_pending() const { return intr_enabled_.load() != 0; }

  // The guest-error triplet: bump rs_<c>, fire probe |p| with the arguments.
  void guest_error(RsCounter c, ProbeKind p, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0);
  void fire(ProbeKind p, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0) {
    if (listener_ != nullptr) listener_->on_probe(ProbeEvent{p, index_, {a0, a1, a2}});
  }

  // Guest-side reads the device is allowed (ring metadata through the mapping).
  uint16_t read_avail_idx() const;
  uint16_t read_avail_flags() const;
  uint16_t read_used_flags() const;
  uint16_t read_used_idx() const;

  void set_listener(ProbeListener* l) { listener_ = l; }
  ProbeListener* listener() const { return listener_; }
  void set_interrupt_sink(InterruptSink* s) { intr_sink_ = s; }
  void set_msi(uint64_t addr, uint64_t msg) { msi_addr_ = addr; msi_msg_ = msg; }
  GuestMemory* memory() const { return mem_; }

  uint16_t index() const { return index_; }
  uint16_t size() const { return size_; }
  uint16_t cur_aidx() const { return cur_aidx_; }
  uint16_t cur_uidx() const { return cur_uidx_; }
  uint64_t desc_pa() const { return desc_.pa; }
  uint64_t avail_pa() const { return avail_.pa; }
  uint64_t used_pa() const { return used_.pa; }
  uint64_t msi_addr() const { return msi_addr_; }
  uint64_t msi_msg() const { return msi_msg_; }

  // Worker-owned state (vr_state / vr_state_flags); see viona.h Ring States.
  VrState state = VrState::VRS_RESET;
  uint16_t state_flags = 0;
  uint32_t xfer_outstanding = 0;  // TX packets whose loans still reference guest memory

  RingStats rs;        // error stats (vr_err_stats)
  TransferStats vts;   // transfer stats (vr_stats)

 private:
  // One mapped part of the ring (desc, avail or used): a host pointer per page.
  struct Part {
    uint64_t pa = 0;             // guest-physical start
    uint32_t off = 0;            // offset of pa in its first page
    std::vector<uint8_t*> pages; // host address of each page
    std::vector<uint64_t> page_gpa;
  };
  bool map_part(Part& p, uint64_t pa, uint64_t len);
  void unmap_part(Part& p);
  uint8_t* part_ptr(const Part& p, uint64_t o) const;
  uint16_t load16(const Part& p, uint64_t o) const;
  void store16(const Part& p, uint64_t o, uint16_t v);
  void store32(const Part& p, uint64_t o, uint32_t v);
  bool read_desc(uint16_t i, VringDesc* d) const;
  // Maps one direct descriptor's buffer into pieces (vq_map_desc_bufs).
  bool map_desc(const VringDesc& d, Chain& c, uint32_t niov, uint16_t index, int32_t parent);
  bool walk_indirect(const VringDesc& d, Chain& c, uint32_t niov, uint16_t index);
  void write_used_elem(uint16_t slot, uint32_t id, uint32_t len);

  uint16_t index_;
  GuestMemory* mem_ = nullptr;
  uint16_t size_ = 0;
  uint16_t mask_ = 0;
  uint16_t cur_aidx_ = 0;  // next avail index to consume; trails avail.idx
  uint16_t cur_uidx_ = 0;  // next used index to produce
  Part desc_, avail_, used_;
  uint64_t msi_addr_ = 0;  // 0: no in-kernel MSI target
  uint64_t msi_msg_ = 0;
  std::atomic<uint32_t> intr_enabled_{0};  // set 0 -> 1 when userspace must raise the interrupt
  ProbeListener* listener_ = nullptr;
  InterruptSink* intr_sink_ = nullptr;
};

}  // namespace viona

#endif  // VIONA_RING_H_
