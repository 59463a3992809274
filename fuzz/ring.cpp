// SPDX-License-Identifier: MIT
// ring.cpp: libFuzzer target for viona::Ring against a malicious guest's descriptor table, avail ring and indirect tables.
//
// Invariants checked, for every operation:
//  * pop_chain gives exactly what an independent model of vq_popchain
//    (viona-behaviour.md 3.1-3.4, written here from the spec, not from
//    ring.cpp) predicts: the same result; on success the same cookie,
//    avail index, pieces (guest address, length, direction) and total
//    length, every piece inside guest memory and its host bytes equal to
//    guest memory at that address; on failure the same rs_* counter bumped
//    once (none for "iovec budget exhausted with NEXT set") and the chain
//    left at the head of avail (a retry fails the same way).
//  * the RingStats delta of every pop is exactly the model's.
//  * a pop writes nothing into guest memory and leaves no page hold behind.
//  * push_used / push_used_many write exactly the used entries and used.idx
//    and nothing else; used.idx moves by the number of entries pushed.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/malicious_guest.h"
#include "viona/guest_memory.h"
#include "viona/ring.h"
#include "viona/stats.h"
#include "viona/virtio_defs.h"

namespace viona_fuzz {
namespace {

using viona::PopResult;
using viona::RingStats;
using viona::RsCounter;
using viona::VringDesc;

struct Piece {
  uint64_t gpa;
  uint32_t len;
  bool write;
};

// vq_popchain as the behaviour spec describes it, over driver-side reads.
class PopModel {
 public:
  PopModel(const MaliciousGuest& g, uint16_t cur_aidx, uint32_t niov) : g_(g), aidx_(cur_aidx), niov_(niov) {}

  PopResult run() {
    const uint16_t n = static_cast<uint16_t>(g_.read_u16(g_.avail_pa + 2) - aidx_);
    if (n > g_.qsz) bump(RsCounter::ndesc_too_high);
    if (n == 0) return PopResult::empty;
    cookie = g_.read_u16(g_.avail_pa + 4 + 2ull * (aidx_ & (g_.qsz - 1)));
    uint16_t next = cookie;
    while (pieces.size() < niov_) {
      if (next >= g_.qsz) return fail(RsCounter::bad_idx);
      VringDesc d{};
      (void)g_.mem.read_obj(g_.desc_pa + 16ull * next, &d);
      if ((d.flags & viona::VRING_DESC_F_INDIRECT) == 0) {
        if (!map(d)) return PopResult::error;
      } else {
        if ((d.flags & viona::VRING_DESC_F_NEXT) != 0) return fail(RsCounter::indir_bad_next);
        if (!walk(d)) return PopResult::error;
      }
      if ((d.flags & viona::VRING_DESC_F_NEXT) == 0) return PopResult::ok;
      next = d.next;
    }
    return PopResult::error;  // budget exhausted with NEXT still set: no counter
  }

  RingStats delta;
  std::vector<Piece> pieces;
  uint64_t total = 0;
  uint16_t cookie = 0;

 private:
  void bump(RsCounter c) { delta.at(c)++; }
  PopResult fail(RsCounter c) {
    bump(c);
    return PopResult::error;
  }
  bool reject(RsCounter c) {
    bump(c);
    return false;
  }
  bool page_exists(uint64_t page) const {
    for (const viona::MemoryRegion& r : g_.mem.regions()) {
      if (page >= r.gpa && page - r.gpa < r.size) return true;
    }
    return false;
  }
  bool in_one_region(uint64_t a, uint64_t len) const {
    for (const viona::MemoryRegion& r : g_.mem.regions()) {
      if (a >= r.gpa && a - r.gpa < r.size && len <= r.size - (a - r.gpa)) return true;
    }
    return false;
  }
  // 3.3: one direct descriptor.
  bool map(const VringDesc& d) {
    if (d.len == 0) return reject(RsCounter::desc_bad_len);
    if (total + d.len > UINT32_MAX) return reject(RsCounter::len_overflow);
    const bool w = (d.flags & viona::VRING_DESC_F_WRITE) != 0;
    const uint64_t room = niov_ - pieces.size();
    if (g_.mem.mode() == viona::MemoryMode::contiguous) {
      if (room < 1) return reject(RsCounter::too_many_desc);
      if (!in_one_region(d.addr, d.len)) return reject(RsCounter::bad_ring_addr);
      pieces.push_back(Piece{d.addr, d.len, w});
    } else {
      uint64_t first = viona::kPageSize - (d.addr & viona::kPageMask);
      if (first > d.len) first = d.len;
      const uint64_t np = 1 + (d.len - first + viona::kPageMask) / viona::kPageSize;
      if (np > room) return reject(RsCounter::too_many_desc);
      uint64_t a = d.addr;
      uint64_t left = d.len;
      while (left > 0) {
        uint64_t take = viona::kPageSize - (a & viona::kPageMask);
        if (take > left) take = left;
        if (!page_exists(a & ~viona::kPageMask)) return reject(RsCounter::bad_ring_addr);
        pieces.push_back(Piece{a, static_cast<uint32_t>(take), w});
        a += take;
        left -= take;
      }
    }
    total += d.len;
    return true;
  }
  // 3.4: an indirect table.
  bool walk(const VringDesc& d) {
    const uint32_t count = d.len / 16;
    if ((d.len % 16) != 0 || count == 0 || count > g_.qsz || d.addr + d.len < d.addr) {
      return reject(RsCounter::indir_bad_len);
    }
    uint32_t i = 0;
    for (;;) {
      const uint64_t ea = d.addr + 16ull * i;
      if (!page_exists(ea & ~viona::kPageMask) || !page_exists((ea + 15) & ~viona::kPageMask)) {
        return reject(RsCounter::bad_ring_addr);
      }
      VringDesc e{};
      (void)g_.mem.read_obj(ea, &e);
      if ((e.flags & viona::VRING_DESC_F_INDIRECT) != 0) return reject(RsCounter::indir_bad_nest);
      if (!map(e)) return false;
      if ((e.flags & viona::VRING_DESC_F_NEXT) == 0) return true;
      if (pieces.size() >= niov_) return reject(RsCounter::too_many_desc);
      if (e.next >= count) return reject(RsCounter::indir_bad_next);
      i = e.next;
    }
  }

  const MaliciousGuest& g_;
  uint16_t aidx_;
  uint32_t niov_;
};

RingStats minus(const RingStats& a, const RingStats& b) {
  RingStats d;
  for (size_t k = 0; k < viona::kRsCounterCount; k++) {
    const RsCounter c = static_cast<RsCounter>(k);
    d.at(c) = a.at(c) - b.at(c);
  }
  return d;
}

void put32(std::vector<uint8_t>& snap, uint64_t gpa, uint32_t v) {
  for (int k = 0; k < 4; k++) {
    const int64_t i = MaliciousGuest::snap_index(gpa + k);
    if (i >= 0) snap[i] = static_cast<uint8_t>(v >> (8 * k));
  }
}

struct Popped {
  uint16_t cookie;
  uint32_t len;
};

// One pop, checked against the model. Returns the result.
PopResult checked_pop(MaliciousGuest& g, viona::Ring& ring, uint32_t niov, uint64_t base_holds,
                      std::vector<Popped>* out) {
  const std::vector<uint8_t> before = g.snapshot();
  const RingStats rs0 = ring.rs;
  const uint16_t aidx = ring.cur_aidx();
  PopModel model(g, aidx, niov);
  const PopResult want = model.run();
  viona::Chain c;
  const PopResult got = ring.pop_chain(c, niov);
  FUZZ_CHECK(got == want);
  FUZZ_CHECK(minus(ring.rs, rs0) == model.delta);
  FUZZ_CHECK(g.snapshot() == before);  // a pop never writes guest memory
  if (got != PopResult::ok) {
    FUZZ_CHECK(ring.cur_aidx() == aidx);
    FUZZ_CHECK(c.iov.empty() && c.total_len == 0);
    FUZZ_CHECK(g.mem.holds_outstanding() == base_holds);
    return got;
  }
  FUZZ_CHECK(ring.cur_aidx() == static_cast<uint16_t>(aidx + 1));
  FUZZ_CHECK(c.cookie == model.cookie && c.avail_idx == aidx);
  FUZZ_CHECK(c.total_len == model.total);
  FUZZ_CHECK(c.iov.size() == model.pieces.size() && c.piece_gpa.size() == c.iov.size() &&
             c.piece_write.size() == c.iov.size());
  FUZZ_CHECK(c.iov.size() <= niov);
  uint64_t sum = 0;
  std::vector<uint8_t> guest;
  for (size_t k = 0; k < c.iov.size(); k++) {
    const Piece& p = model.pieces[k];
    FUZZ_CHECK(c.piece_gpa[k] == p.gpa && c.iov[k].len == p.len && c.piece_write[k] == p.write);
    FUZZ_CHECK(g.mem.contains(p.gpa, p.len));
    guest.resize(p.len);
    FUZZ_CHECK(g.mem.read(p.gpa, guest.data(), p.len));
    FUZZ_CHECK(std::memcmp(c.iov[k].base, guest.data(), p.len) == 0);
    sum += p.len;
  }
  FUZZ_CHECK(sum == c.total_len);
  FUZZ_CHECK(g.mem.holds_outstanding() == base_holds + c.holds.size());
  c.holds.release_all();
  FUZZ_CHECK(g.mem.holds_outstanding() == base_holds);
  out->push_back(Popped{c.cookie, c.total_len});
  return got;
}

// Pushes |pending| (one at a time or as one batch) and checks the bytes.
void checked_push(MaliciousGuest& g, viona::Ring& ring, std::vector<Popped>* pending, bool batch) {
  std::vector<uint8_t> want = g.snapshot();
  const uint16_t uidx = ring.cur_uidx();
  const uint16_t mask = static_cast<uint16_t>(g.qsz - 1);
  std::vector<viona::VringUsedElem> elems;
  for (size_t k = 0; k < pending->size(); k++) {
    const uint64_t slot = static_cast<uint16_t>(uidx + k) & mask;
    put32(want, g.used_pa + 4 + 8 * slot, (*pending)[k].cookie);
    put32(want, g.used_pa + 8 + 8 * slot, (*pending)[k].len);
    elems.push_back(viona::VringUsedElem{(*pending)[k].cookie, (*pending)[k].len});
  }
  const uint16_t new_uidx = static_cast<uint16_t>(uidx + pending->size());
  const int64_t i0 = MaliciousGuest::snap_index(g.used_pa + 2);
  want[i0] = static_cast<uint8_t>(new_uidx);
  want[i0 + 1] = static_cast<uint8_t>(new_uidx >> 8);
  if (batch) {
    ring.push_used_many(elems.data(), static_cast<uint32_t>(elems.size()), false);
  } else {
    for (const viona::VringUsedElem& e : elems) ring.push_used(e.id, e.len);
  }
  FUZZ_CHECK(ring.cur_uidx() == new_uidx);
  FUZZ_CHECK(ring.read_used_idx() == new_uidx);
  FUZZ_CHECK(g.snapshot() == want);
  pending->clear();
}

}  // namespace
}  // namespace viona_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace viona_fuzz;
  FuzzedDataProvider fdp(data, size);
  const bool modern = fdp.ConsumeBool();
  MaliciousGuest g(fdp, modern);
  viona::Ring ring(0);
  const uint64_t holds0 = g.mem.holds_outstanding();
  const int err = ring.map(&g.mem, g.qsz, g.desc_pa, g.avail_pa, g.used_pa, false, g.aidx0, g.uidx0);
  FUZZ_CHECK(err == 0);  // every layout MaliciousGuest makes is a valid one
  const uint64_t base = g.mem.holds_outstanding();
  std::vector<Popped> pending;
  for (int iter = 0; iter < 64 && fdp.remaining_bytes() > 0; iter++) {
    switch (fdp.ConsumeIntegralInRange<int>(0, 4)) {
      case 0:
      case 1: {
        uint32_t niov;
        switch (fdp.ConsumeIntegralInRange<int>(0, 2)) {
          case 0: niov = viona::VTNET_MAXSEGS; break;
          case 1: niov = g.qsz; break;
          default: niov = fdp.ConsumeIntegralInRange<uint32_t>(1, 40); break;
        }
        if (checked_pop(g, ring, niov, base, &pending) == PopResult::error) {
          // The chain stays at the head: the retry fails in the same way.
          (void)checked_pop(g, ring, niov, base, &pending);
        }
        break;
      }
      case 2:
        if (!pending.empty()) checked_push(g, ring, &pending, fdp.ConsumeBool());
        break;
      default:
        g.act();
        break;
    }
  }
  if (!pending.empty()) checked_push(g, ring, &pending, true);
  ring.unmap();
  FUZZ_CHECK(g.mem.holds_outstanding() == holds0);
  return 0;
}
