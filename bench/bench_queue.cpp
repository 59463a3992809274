// SPDX-License-Identifier: MIT
// bench_queue.cpp: descriptor table, avail ring and used ring from the driver side.
#include "bench/bench_queue.h"

#include <vector>

namespace viona_bench {

using viona::VringDesc;
using viona::VringUsedElem;

BenchQueue::BenchQueue(viona::GuestMemory& mem, uint64_t base, uint16_t qsz)
    : mem_(mem), base_(base), qsz_(qsz) {
  const std::vector<uint8_t> zero(viona::vring_legacy_total_size(qsz), 0);
  (void)mem_.write(base_, zero.data(), zero.size());
}

void BenchQueue::set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
  const VringDesc d{addr, len, flags, next};
  (void)mem_.write_obj(base_ + 16ull * i, d);
}

void BenchQueue::fill_avail(uint16_t nheads, uint16_t head_stride) {
  std::vector<uint16_t> ring(qsz_);
  for (uint32_t s = 0; s < qsz_; s++) ring[s] = static_cast<uint16_t>((s % nheads) * head_stride);
  // avail: flags (2), idx (2), ring[qsz].
  (void)mem_.write(base_ + viona::vring_desc_size(qsz_) + 4, ring.data(), 2ull * qsz_);
}

void BenchQueue::post(uint16_t n) {
  avail_idx_ = static_cast<uint16_t>(avail_idx_ + n);
  (void)mem_.write_obj(base_ + viona::vring_desc_size(qsz_) + 2, avail_idx_);
}

uint16_t BenchQueue::used_idx() const {
  uint16_t v = 0;
  (void)mem_.read_obj(base_ + viona::vring_legacy_used_offset(qsz_) + 2, &v);
  return v;
}

VringUsedElem BenchQueue::used_elem(uint16_t slot) const {
  VringUsedElem e{0, 0};
  (void)mem_.read_obj(base_ + viona::vring_legacy_used_offset(qsz_) + 4 + 8ull * (slot % qsz_), &e);
  return e;
}

}  // namespace viona_bench
