// SPDX-License-Identifier: MIT
// bench_queue.h: the guest driver side of one split queue, cut down to
// what a steady-state benchmark needs: post once, re-post by index.
#ifndef BENCH_BENCH_QUEUE_H_
#define BENCH_BENCH_QUEUE_H_

#include <cstdint>

#include "viona/guest_memory.h"
#include "viona/virtio_defs.h"

namespace viona_bench {

// One queue of |qsz| entries in the legacy single-address layout at |base|
// (desc, avail after it, used on the next page), written only through
// GuestMemory::write as a driver would.
//
// Re-posting without rewriting: the descriptor table is written once and
// avail.ring[s] holds head (s % nheads) * head_stride for every slot s. The
// device consumes heads in avail order and, for the paths measured here
// (no loans outstanding across a reclaim), returns them in the same order,
// so the |n| chains it just used are exactly the next |n| slots' heads again:
// reclaiming them is one store of avail.idx += n. qsz must be a multiple of
// nheads so that slot s and slot s + qsz name the same head.
class BenchQueue {
 public:
  BenchQueue(viona::GuestMemory& mem, uint64_t base, uint16_t qsz);

  uint64_t base() const { return base_; }
  uint16_t qsz() const { return qsz_; }
  // First guest-physical byte past the ring.
  uint64_t end() const { return base_ + viona::vring_legacy_total_size(qsz_); }

  void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0);
  // Writes the whole avail ring: slot s gets head (s % nheads) * head_stride.
  void fill_avail(uint16_t nheads, uint16_t head_stride);
  // avail.idx += n: makes the next |n| slots' heads available.
  void post(uint16_t n);
  uint16_t avail_idx() const { return avail_idx_; }

  uint16_t used_idx() const;
  viona::VringUsedElem used_elem(uint16_t slot) const;  // slot masked by qsz

 private:
  viona::GuestMemory& mem_;
  uint64_t base_;
  uint16_t qsz_;
  uint16_t avail_idx_ = 0;  // the driver's copy, as a real driver keeps one
};

}  // namespace viona_bench

#endif  // BENCH_BENCH_QUEUE_H_
