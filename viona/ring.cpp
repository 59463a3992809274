// SPDX-License-Identifier: MIT
// ring.cpp: split-virtqueue mapping, chain walking and used-ring pushes.
#include "viona/ring.h"

#include <cassert>
#include <cerrno>
#include <cstring>

namespace viona {

const char* vr_state_name(VrState s) {
  switch (s) {
    case VrState::VRS_RESET:
      return "VRS_RESET";
    case VrState::VRS_SETUP:
      return "VRS_SETUP";
    case VrState::VRS_INIT:
      return "VRS_INIT";
    case VrState::VRS_RUN:
      return "VRS_RUN";
    case VrState::VRS_STOP:
      return "VRS_STOP";
  }
  __builtin_unreachable();
}

void Chain::clear() {
  cookie = 0;
  avail_idx = 0;
  total_len = 0;
  iov.clear();
  piece_gpa.clear();
  piece_write.clear();
  descs.clear();
  holds.release_all();
}

Ring::Ring(uint16_t index) : index_(index) {}

bool Ring::map_part(Part& p, uint64_t pa, uint64_t len) {
  uint64_t base = pa & ~kPageMask;
  if (pa + len < pa) return false;
  uint64_t npages = (pa + len - base + kPageMask) / kPageSize;
  p.pa = pa;
  p.off = static_cast<uint32_t>(pa - base);
  for (uint64_t i = 0; i < npages; i++) {
    uint64_t gpa = base + i * kPageSize;
    uint8_t* host = mem_->hold_page(gpa, true);
    if (host == nullptr) return false;
    p.pages.push_back(host);
    p.page_gpa.push_back(gpa);
  }
  return true;
}

void Ring::unmap_part(Part& p) {
  for (uint64_t gpa : p.page_gpa) mem_->release_page(gpa);
  p = Part{};
}

int Ring::map(GuestMemory* mem, uint16_t qsz, uint64_t desc_pa, uint64_t avail_pa, uint64_t used_pa,
              bool require_page_align, uint16_t avail_idx, uint16_t used_idx) {
  assert(!mapped() && "map on a mapped ring");
  // qsz is a u16, so <= 32768 (VRING_MAX_LEN) unless it is 0 or not a power of two.
  if (qsz == 0 || (qsz & (qsz - 1)) != 0) return EINVAL;
  if (desc_pa == 0 || avail_pa == 0 || used_pa == 0) return EINVAL;
  if (require_page_align) {
    if ((desc_pa | avail_pa | used_pa) & kPageMask) return EINVAL;
  } else if ((desc_pa & 15) != 0 || (avail_pa & 1) != 0 || (used_pa & 3) != 0) {
    return EINVAL;
  }
  mem_ = mem;
  if (!map_part(desc_, desc_pa, vring_desc_size(qsz)) || !map_part(avail_, avail_pa, vring_avail_size(qsz)) ||
      !map_part(used_, used_pa, vring_used_size(qsz))) {
    unmap();
    cur_uidx_ = 0;
    return EINVAL;
  }
  size_ = qsz;
  mask_ = static_cast<uint16_t>(qsz - 1);
  cur_aidx_ = avail_idx;
  cur_uidx_ = used_idx;
  msi_addr_ = 0;
  msi_msg_ = 0;
  rs = RingStats{};
  vts = TransferStats{};
  return 0;
}

void Ring::unmap() {
  if (mem_ != nullptr) {
    unmap_part(desc_);
    unmap_part(avail_);
    unmap_part(used_);
  }
  size_ = 0;
  mask_ = 0;
  cur_aidx_ = 0;
}

uint8_t* Ring::part_ptr(const Part& p, uint64_t o) const {
  uint64_t at = p.off + o;
  return p.pages[at / kPageSize] + (at & kPageMask);
}

// Ring fields are naturally aligned (avail 2-, used 4-, desc 16-aligned), so
// none of these accesses straddles a page.
uint16_t Ring::load16(const Part& p, uint64_t o) const {
  uint16_t v;
  std::memcpy(&v, part_ptr(p, o), 2);
  return v;
}
void Ring::store16(const Part& p, uint64_t o, uint16_t v) { std::memcpy(part_ptr(p, o), &v, 2); }
void Ring::store32(const Part& p, uint64_t o, uint32_t v) { std::memcpy(part_ptr(p, o), &v, 4); }

uint16_t Ring::read_avail_flags() const { return load16(avail_, 0); }
uint16_t Ring::read_avail_idx() const {
  uint16_t v = load16(avail_, 2);
  // viona relies on x86 ordering here; portable code needs acquire so that
  // the ring entries and descriptors are read after the index.
  std::atomic_thread_fence(std::memory_order_acquire);
  return v;
}
uint16_t Ring::read_used_flags() const { return load16(used_, 0); }
uint16_t Ring::read_used_idx() const { return load16(used_, 2); }

bool Ring::read_desc(uint16_t i, VringDesc* d) const {
  // Copied out by value before any check (guest writes cannot race them).
  std::memcpy(d, part_ptr(desc_, 16ull * i), sizeof(*d));
  return true;
}

void Ring::guest_error(RsCounter c, ProbeKind p, uint64_t a0, uint64_t a1, uint64_t a2) {
  rs.at(c)++;
  fire(p, a0, a1, a2);
}

uint16_t Ring::avail_count() {
  uint16_t n = static_cast<uint16_t>(read_avail_idx() - cur_aidx_);
  if (n > size_) guest_error(RsCounter::ndesc_too_high, ProbeKind::ndesc_too_high, n);
  return n;
}

bool Ring::map_desc(const VringDesc& d, Chain& c, uint32_t niov, uint16_t index, int32_t parent) {
  if (d.len == 0) {
    guest_error(RsCounter::desc_bad_len, ProbeKind::desc_bad_len, d.len);
    return false;
  }
  if (static_cast<uint64_t>(c.total_len) + d.len > UINT32_MAX) {
    guest_error(RsCounter::len_overflow, ProbeKind::len_overflow);
    return false;
  }
  const bool write = (d.flags & VRING_DESC_F_WRITE) != 0;
  const uint32_t room = niov - static_cast<uint32_t>(c.iov.size());
  ChainDesc rec{index, parent, d.addr, d.len, d.flags, d.next, static_cast<uint16_t>(c.iov.size()), 0};
  // A range wrapping 2^64 cannot be held; the piece budget is checked
  // first, as viona counts the pieces before it holds any page.
  const bool wraps = d.addr + d.len < d.addr;
  if (mem_->mode() == MemoryMode::contiguous) {
    if (room < 1) {
      guest_error(RsCounter::too_many_desc, ProbeKind::too_many_desc);
      return false;
    }
    if (wraps) {
      guest_error(RsCounter::bad_ring_addr, ProbeKind::bad_ring_addr, d.addr);
      return false;
    }
    uint8_t* host = mem_->hold_range(d.addr, d.len, write);
    if (host == nullptr) {
      guest_error(RsCounter::bad_ring_addr, ProbeKind::bad_ring_addr, d.addr);
      return false;
    }
    c.holds.add(d.addr);
    c.iov.push_back(IoVec{host, d.len});
    c.piece_gpa.push_back(d.addr);
    c.piece_write.push_back(write);
    rec.npieces = 1;
  } else {
    uint32_t first = static_cast<uint32_t>(kPageSize - (d.addr & kPageMask));
    if (first > d.len) first = d.len;
    uint64_t npieces = 1 + (static_cast<uint64_t>(d.len - first) + kPageMask) / kPageSize;
    if (npieces > room) {
      guest_error(RsCounter::too_many_desc, ProbeKind::too_many_desc);
      return false;
    }
    if (wraps) {
      guest_error(RsCounter::bad_ring_addr, ProbeKind::bad_ring_addr, d.addr);
      return false;
    }
    uint64_t gpa = d.addr;
    uint32_t left = d.len;
    while (left > 0) {
      uint32_t n = static_cast<uint32_t>(kPageSize - (gpa & kPageMask));
      if (n > left) n = left;
      uint8_t* page = mem_->hold_page(gpa & ~kPageMask, write);
      if (page == nullptr) {
        // Holds taken so far stay on the chain; the pop error path drops them.
        guest_error(RsCounter::bad_ring_addr, ProbeKind::bad_ring_addr, d.addr);
        return false;
      }
      c.holds.add(gpa & ~kPageMask);
      c.iov.push_back(IoVec{page + (gpa & kPageMask), n});
      c.piece_gpa.push_back(gpa);
      c.piece_write.push_back(write);
      gpa += n;
      left -= n;
    }
    rec.npieces = static_cast<uint16_t>(npieces);
  }
  c.total_len += d.len;
  c.descs.push_back(rec);
  return true;
}

bool Ring::walk_indirect(const VringDesc& d, Chain& c, uint32_t niov, uint16_t index) {
  const uint32_t count = d.len / 16;
  if ((d.len % 16) != 0 || count == 0 || count > size_ || d.addr + d.len < d.addr) {
    guest_error(RsCounter::indir_bad_len, ProbeKind::indir_bad_len, d.len);
    return false;
  }
  c.descs.push_back(ChainDesc{index, -1, d.addr, d.len, d.flags, d.next, static_cast<uint16_t>(c.iov.size()), 0});
  // One table page held at a time (two while an unaligned entry straddles).
  PageHolds table(mem_);
  uint64_t held = UINT64_MAX;
  uint8_t* held_ptr = nullptr;
  uint16_t i = 0;
  for (;;) {
    const uint64_t ea = d.addr + 16ull * i;
    VringDesc e;
    uint8_t raw[16];
    uint32_t got = 0;
    while (got < 16) {
      uint64_t a = ea + got;
      uint64_t page = a & ~kPageMask;
      if (page != held) {
        table.release_all();
        held_ptr = mem_->hold_page(page, false);
        if (held_ptr == nullptr) {
          held = UINT64_MAX;
          guest_error(RsCounter::bad_ring_addr, ProbeKind::bad_ring_addr, page);
          return false;
        }
        table.add(page);
        held = page;
      }
      uint32_t n = static_cast<uint32_t>(kPageSize - (a & kPageMask));
      if (n > 16 - got) n = 16 - got;
      std::memcpy(raw + got, held_ptr + (a & kPageMask), n);
      got += n;
    }
    std::memcpy(&e, raw, sizeof(e));
    if (e.flags & VRING_DESC_F_INDIRECT) {
      guest_error(RsCounter::indir_bad_nest, ProbeKind::indir_bad_nest);
      return false;
    }
    if (!map_desc(e, c, niov, i, index)) return false;
    if ((e.flags & VRING_DESC_F_NEXT) == 0) return true;
    if (c.iov.size() >= niov) {
      guest_error(RsCounter::too_many_desc, ProbeKind::too_many_desc);
      return false;
    }
    if (e.next >= count) {
      guest_error(RsCounter::indir_bad_next, ProbeKind::indir_bad_next, e.next, count);
      return false;
    }
    i = e.next;
  }
}

PopResult Ring::pop_chain(Chain& c, uint32_t niov) {
  assert(mapped() && "pop on an unmapped ring");
  c.clear();
  c.holds.bind(mem_);
  if (avail_count() == 0) return PopResult::empty;
  const uint16_t head = load16(avail_, 4 + 2ull * (cur_aidx_ & mask_));
  c.cookie = head;
  c.avail_idx = cur_aidx_;
  uint16_t next = head;
  while (c.iov.size() < niov) {
    if (next >= size_) {
      guest_error(RsCounter::bad_idx, ProbeKind::bad_idx, next);
      break;
    }
    VringDesc d;
    (void)read_desc(next, &d);
    if ((d.flags & VRING_DESC_F_INDIRECT) == 0) {
      if (!map_desc(d, c, niov, next, -1)) break;
    } else {
      if (d.flags & VRING_DESC_F_NEXT) {
        guest_error(RsCounter::indir_bad_next, ProbeKind::indir_bad_next, next, 0);
        break;
      }
      if (!walk_indirect(d, c, niov, next)) break;
    }
    if ((d.flags & VRING_DESC_F_NEXT) == 0) {
      cur_aidx_++;
      if (listener_ != nullptr) listener_->on_chain(*this, c);
      return PopResult::ok;
    }
    next = d.next;
  }
  // Malformed (counted above) or out of iovecs with NEXT still set (viona
  // counts nothing for the latter). The chain stays at the head of avail.
  // Nothing of the partial walk survives (a caller or recorder must not see
  // pieces of a chain that was never popped); cookie and avail_idx stay to
  // say which chain failed.
  const uint16_t cookie = c.cookie, aidx = c.avail_idx;
  c.clear();
  c.cookie = cookie;
  c.avail_idx = aidx;
  return PopResult::error;
}

void Ring::write_used_elem(uint16_t slot, uint32_t id, uint32_t len) {
  // Two 32-bit stores, as viona: an 8-byte entry may straddle a page when
  // the used ring is only 4-aligned.
  const uint64_t o = 4 + 8ull * slot;
  store32(used_, o, id);
  store32(used_, o + 4, len);
}

void Ring::push_used(uint32_t id, uint32_t len) {
  const uint16_t slot = cur_uidx_ & mask_;
  write_used_elem(slot, id, len);
  if (listener_ != nullptr) listener_->on_used(*this, cur_uidx_, id, len);
  cur_uidx_++;
  std::atomic_thread_fence(std::memory_order_release);  // membar_producer
  store16(used_, 2, cur_uidx_);
  if (listener_ != nullptr) listener_->on_used_publish(*this, cur_uidx_);
}

void Ring::push_used_many(const VringUsedElem* elems, uint32_t n, bool same_slot) {
  for (uint32_t k = 0; k < n; k++) {
    const uint16_t at = static_cast<uint16_t>(same_slot ? cur_uidx_ : cur_uidx_ + k);
    write_used_elem(at & mask_, elems[k].id, elems[k].len);
    if (listener_ != nullptr) listener_->on_used(*this, at, elems[k].id, elems[k].len);
  }
  cur_uidx_ = static_cast<uint16_t>(cur_uidx_ + n);
  std::atomic_thread_fence(std::memory_order_release);
  store16(used_, 2, cur_uidx_);
  if (listener_ != nullptr) listener_->on_used_publish(*this, cur_uidx_);
}

void Ring::disable_notify() { store16(used_, 0, read_used_flags() | VRING_USED_F_NO_NOTIFY); }
void Ring::enable_notify() {
  store16(used_, 0, read_used_flags() & ~VRING_USED_F_NO_NOTIFY);
  // Store->load: the guest must see notifications enabled before we re-check avail.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

InterruptKind Ring::intr_ring(bool skip_flags_check) {
  InterruptKind k;
  if (!skip_flags_check && (read_avail_flags() & VRING_AVAIL_F_NO_INTERRUPT) != 0) {
    k = InterruptKind::suppressed;
  } else if (msi_addr_ != 0) {
    k = InterruptKind::msi;
    if (intr_sink_ != nullptr) intr_sink_->msi(index_, msi_addr_, msi_msg_);
  } else {
    uint32_t expect = 0;
    if (intr_enabled_.compare_exchange_strong(expect, 1)) {
      k = InterruptKind::poll;
      if (intr_sink_ != nullptr) intr_sink_->poll_wakeup(index_);
    } else {
      k = InterruptKind::already;
    }
  }
  if (listener_ != nullptr) listener_->on_interrupt(*this, k);
  return k;
}

}  // namespace viona
