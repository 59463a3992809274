// SPDX-License-Identifier: MIT
// mock_split_queue.h: the driver side of one split virtqueue, for tests.
#ifndef TESTS_SUPPORT_MOCK_SPLIT_QUEUE_H_
#define TESTS_SUPPORT_MOCK_SPLIT_QUEUE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "viona/guest_memory.h"
#include "viona/link.h"
#include "viona/ring.h"
#include "viona/virtio_defs.h"

namespace viona {
namespace test {

// One buffer of a chain as the driver posts it.
struct BufSpec {
  uint64_t addr;       // guest-physical
  uint32_t len;        // bytes
  uint16_t flags = 0;  // VRING_DESC_F_WRITE etc.; NEXT is added by the builder
};

// Plays the guest driver of one split queue laid out in |mem| with the legacy
// single-address layout (in the spirit of rust-vmm's MockSplitQueue). It
// writes through GuestMemory::write (driver side), so it takes no holds.
//
// The named breakers need data bytes to point at: they use the page just
// past the legacy layout, scratch_pa() = base + vring_legacy_total_size(qsz),
// which the caller's region must therefore cover.
class MockSplitQueue {
 public:
  // Lays out a queue of |qsz| entries at |base| (page aligned): desc at
  // base, avail at base+16*qsz, used at base+vring_legacy_used_offset(qsz).
  // The three parts are zeroed. Memory regions must already exist.
  MockSplitQueue(GuestMemory& mem, uint64_t base, uint16_t qsz);

  uint64_t desc_pa() const { return base_; }
  uint64_t avail_pa() const { return base_ + vring_desc_size(qsz_); }
  uint64_t used_pa() const { return base_ + vring_legacy_used_offset(qsz_); }
  uint64_t scratch_pa() const { return base_ + vring_legacy_total_size(qsz_); }
  uint16_t qsz() const { return qsz_; }

  // Writes descriptors for |bufs| at the next free table indices (wrapping),
  // links them with NEXT, puts the head in avail.ring[avail_idx % qsz] and
  // increments avail.idx. Returns the head index.
  uint16_t add_chain(const std::vector<BufSpec>& bufs);
  // One main-table descriptor with F_INDIRECT pointing at a table written at
  // |table_gpa| holding |bufs| (linked with NEXT, indices 0..n-1). Returns head.
  uint16_t add_indirect_chain(const std::vector<BufSpec>& bufs, uint64_t table_gpa);

  // Raw access for breakers and checks.
  void write_desc(uint16_t i, const VringDesc& d);
  VringDesc read_desc(uint16_t i) const;
  void write_indirect_desc(uint64_t table_gpa, uint16_t i, const VringDesc& d);
  void set_avail_idx(uint16_t v);
  uint16_t avail_idx() const;
  void set_avail_flags(uint16_t f);
  void set_avail_ring(uint16_t slot, uint16_t head);  // slot masked by qsz
  void set_next_desc(uint16_t i);  // where the next add_chain starts writing descriptors
  uint16_t next_desc() const { return next_desc_; }
  uint16_t used_idx() const;
  uint16_t used_flags() const;
  VringUsedElem used_elem(uint16_t slot) const;  // slot masked by qsz
  // Driver-side pokes of the used ring (to prepare index-wrap tests).
  void set_used_idx(uint16_t v);

  // Named breakers: each posts one chain that is malformed in one way and
  // returns its head.
  uint16_t add_cycle_chain();              // d0 -> d1 -> d0 ... (each len > 0)
  uint16_t add_next_out_of_range_chain();  // d0.next = qsz
  uint16_t add_nested_indirect_chain(uint64_t table_gpa);  // indirect entry 0 is itself INDIRECT
  uint16_t add_zero_len_chain();           // one descriptor of length 0
  uint16_t add_too_long_chain(uint32_t ndesc);  // ndesc descriptors of 1 byte each
  void jump_avail_idx(uint16_t by);        // avail.idx += by (> qsz makes ndesc_too_high)

  // Device side over the same memory: a standalone Ring mapped with
  // require_page_align=false and indices 0/0 (or |aidx|/|uidx|).
  std::unique_ptr<Ring> make_ring(uint16_t index = 0) const;
  std::unique_ptr<Ring> make_ring_at(uint16_t index, uint16_t aidx, uint16_t uidx) const;
  // Or through a Link: ring_init (legacy layout) + ring_kick; returns errno.
  int attach(Link& link, uint16_t ring_index) const;

 private:
  // Posts |head| in the next avail slot and bumps avail.idx.
  void publish(uint16_t head);
  uint16_t take_desc();  // next free main-table index, advancing (wrapping)

  GuestMemory& mem_;
  uint64_t base_;
  uint16_t qsz_;
  uint16_t next_desc_ = 0;
};

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_MOCK_SPLIT_QUEUE_H_
