// SPDX-License-Identifier: MIT
// mock_split_queue.cpp: the driver side of one split virtqueue, for tests.
#include "tests/support/mock_split_queue.h"

#include <stdexcept>
#include <vector>

namespace viona {
namespace test {

namespace {

// A test setup mistake (not guest misbehaviour): fail loudly.
void must(bool ok, const char* what) {
  if (!ok) throw std::logic_error(what);
}

}  // namespace

MockSplitQueue::MockSplitQueue(GuestMemory& mem, uint64_t base, uint16_t qsz)
    : mem_(mem), base_(base), qsz_(qsz) {
  must(qsz != 0 && (qsz & (qsz - 1)) == 0, "MockSplitQueue: qsz must be a power of two");
  must((base & kPageMask) == 0, "MockSplitQueue: base must be page aligned");
  std::vector<uint8_t> zero(vring_legacy_total_size(qsz), 0);
  must(mem_.write(base, zero.data(), zero.size()), "MockSplitQueue: ring memory is not mapped");
}

uint16_t MockSplitQueue::take_desc() {
  uint16_t i = next_desc_;
  next_desc_ = static_cast<uint16_t>((next_desc_ + 1) % qsz_);
  return i;
}

void MockSplitQueue::publish(uint16_t head) {
  uint16_t idx = avail_idx();
  set_avail_ring(idx, head);
  set_avail_idx(static_cast<uint16_t>(idx + 1));
}

uint16_t MockSplitQueue::add_chain(const std::vector<BufSpec>& bufs) {
  must(!bufs.empty() && bufs.size() <= qsz_, "add_chain: 1..qsz buffers");
  std::vector<uint16_t> idx;
  for (size_t k = 0; k < bufs.size(); k++) idx.push_back(take_desc());
  for (size_t k = 0; k < bufs.size(); k++) {
    VringDesc d{};
    d.addr = bufs[k].addr;
    d.len = bufs[k].len;
    d.flags = bufs[k].flags;
    d.next = 0;
    if (k + 1 < bufs.size()) {
      d.flags |= VRING_DESC_F_NEXT;
      d.next = idx[k + 1];
    }
    write_desc(idx[k], d);
  }
  publish(idx[0]);
  return idx[0];
}

uint16_t MockSplitQueue::add_indirect_chain(const std::vector<BufSpec>& bufs, uint64_t table_gpa) {
  must(!bufs.empty(), "add_indirect_chain: at least one buffer");
  for (size_t k = 0; k < bufs.size(); k++) {
    VringDesc d{};
    d.addr = bufs[k].addr;
    d.len = bufs[k].len;
    d.flags = bufs[k].flags;
    if (k + 1 < bufs.size()) {
      d.flags |= VRING_DESC_F_NEXT;
      d.next = static_cast<uint16_t>(k + 1);
    }
    write_indirect_desc(table_gpa, static_cast<uint16_t>(k), d);
  }
  uint16_t head = take_desc();
  VringDesc h{};
  h.addr = table_gpa;
  h.len = static_cast<uint32_t>(16 * bufs.size());
  h.flags = VRING_DESC_F_INDIRECT;
  write_desc(head, h);
  publish(head);
  return head;
}

void MockSplitQueue::write_desc(uint16_t i, const VringDesc& d) {
  must(i < qsz_, "write_desc: index out of the table");
  must(mem_.write_obj(desc_pa() + 16ull * i, d), "write_desc");
}

VringDesc MockSplitQueue::read_desc(uint16_t i) const {
  VringDesc d{};
  must(i < qsz_ && mem_.read_obj(desc_pa() + 16ull * i, &d), "read_desc");
  return d;
}

void MockSplitQueue::write_indirect_desc(uint64_t table_gpa, uint16_t i, const VringDesc& d) {
  must(mem_.write_obj(table_gpa + 16ull * i, d), "write_indirect_desc: table not mapped");
}

void MockSplitQueue::set_avail_idx(uint16_t v) { must(mem_.write_obj(avail_pa() + 2, v), "set_avail_idx"); }

uint16_t MockSplitQueue::avail_idx() const {
  uint16_t v = 0;
  must(mem_.read_obj(avail_pa() + 2, &v), "avail_idx");
  return v;
}

void MockSplitQueue::set_avail_flags(uint16_t f) { must(mem_.write_obj(avail_pa(), f), "set_avail_flags"); }

void MockSplitQueue::set_avail_ring(uint16_t slot, uint16_t head) {
  must(mem_.write_obj(avail_pa() + 4 + 2ull * (slot % qsz_), head), "set_avail_ring");
}

void MockSplitQueue::set_next_desc(uint16_t i) { next_desc_ = static_cast<uint16_t>(i % qsz_); }

uint16_t MockSplitQueue::used_idx() const {
  uint16_t v = 0;
  must(mem_.read_obj(used_pa() + 2, &v), "used_idx");
  return v;
}

uint16_t MockSplitQueue::used_flags() const {
  uint16_t v = 0;
  must(mem_.read_obj(used_pa(), &v), "used_flags");
  return v;
}

VringUsedElem MockSplitQueue::used_elem(uint16_t slot) const {
  VringUsedElem e{};
  must(mem_.read_obj(used_pa() + 4 + 8ull * (slot % qsz_), &e), "used_elem");
  return e;
}

void MockSplitQueue::set_used_idx(uint16_t v) { must(mem_.write_obj(used_pa() + 2, v), "set_used_idx"); }

uint16_t MockSplitQueue::add_cycle_chain() {
  must(qsz_ >= 2, "add_cycle_chain: qsz >= 2");
  uint16_t a = take_desc();
  uint16_t b = take_desc();
  write_desc(a, VringDesc{scratch_pa(), 8, VRING_DESC_F_NEXT, b});
  write_desc(b, VringDesc{scratch_pa() + 8, 8, VRING_DESC_F_NEXT, a});
  publish(a);
  return a;
}

uint16_t MockSplitQueue::add_next_out_of_range_chain() {
  uint16_t a = take_desc();
  write_desc(a, VringDesc{scratch_pa(), 8, VRING_DESC_F_NEXT, qsz_});
  publish(a);
  return a;
}

uint16_t MockSplitQueue::add_nested_indirect_chain(uint64_t table_gpa) {
  // Entry 0 of the table is itself INDIRECT (pointing back at the table).
  write_indirect_desc(table_gpa, 0, VringDesc{table_gpa, 16, VRING_DESC_F_INDIRECT, 0});
  uint16_t a = take_desc();
  write_desc(a, VringDesc{table_gpa, 16, VRING_DESC_F_INDIRECT, 0});
  publish(a);
  return a;
}

uint16_t MockSplitQueue::add_zero_len_chain() {
  uint16_t a = take_desc();
  write_desc(a, VringDesc{scratch_pa(), 0, 0, 0});
  publish(a);
  return a;
}

uint16_t MockSplitQueue::add_too_long_chain(uint32_t ndesc) {
  std::vector<BufSpec> bufs;
  for (uint32_t k = 0; k < ndesc; k++) bufs.push_back(BufSpec{scratch_pa() + k, 1, 0});
  return add_chain(bufs);
}

void MockSplitQueue::jump_avail_idx(uint16_t by) { set_avail_idx(static_cast<uint16_t>(avail_idx() + by)); }

std::unique_ptr<Ring> MockSplitQueue::make_ring(uint16_t index) const { return make_ring_at(index, 0, 0); }

std::unique_ptr<Ring> MockSplitQueue::make_ring_at(uint16_t index, uint16_t aidx, uint16_t uidx) const {
  auto r = std::make_unique<Ring>(index);
  int err = r->map(&mem_, qsz_, desc_pa(), avail_pa(), used_pa(), false, aidx, uidx);
  must(err == 0, "make_ring: Ring::map failed");
  return r;
}

int MockSplitQueue::attach(Link& link, uint16_t ring_index) const {
  int err = link.ring_init(ring_index, qsz_, base_);
  if (err != 0) return err;
  return link.ring_kick(ring_index);
}

}  // namespace test
}  // namespace viona
