// SPDX-License-Identifier: MIT
// guest_memory.cpp: page-granular guest memory and holds.
#include "viona/guest_memory.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

namespace viona {

// A region's backing store. In paged mode each page is its own allocation,
// made on first touch, so guest-adjacent pages are not host-adjacent. In
// contiguous mode the region is one zeroed allocation.
struct GuestMemory::Region {
  uint64_t gpa = 0;
  uint64_t size = 0;
  std::vector<std::unique_ptr<uint8_t[]>> pages;  // paged mode
  std::unique_ptr<uint8_t, void (*)(void*)> flat{nullptr, std::free};  // contiguous mode
  uint8_t* host = nullptr;  // caller-owned backing (add_host_region), either mode
};

const char* memory_mode_name(MemoryMode m) {
  switch (m) {
    case MemoryMode::paged:
      return "paged";
    case MemoryMode::contiguous:
      return "contiguous";
  }
  __builtin_unreachable();
}

bool memory_mode_from_name(const char* name, MemoryMode* out) {
  if (std::strcmp(name, "paged") == 0) {
    *out = MemoryMode::paged;
  } else if (std::strcmp(name, "contiguous") == 0) {
    *out = MemoryMode::contiguous;
  } else {
    return false;
  }
  return true;
}

GuestMemory::GuestMemory(MemoryMode mode) : mode_(mode) {}
GuestMemory::~GuestMemory() = default;

bool GuestMemory::region_fits(uint64_t gpa, uint64_t size) const {
  if (size == 0 || size > kMaxRegionSize || (gpa & kPageMask) != 0 || (size & kPageMask) != 0) return false;
  if (gpa + size < gpa) return false;
  for (const MemoryRegion& r : regions_) {
    if (gpa < r.gpa + r.size && r.gpa < gpa + size) return false;
  }
  return true;
}

bool GuestMemory::add_host_region(uint64_t gpa, uint64_t size, uint8_t* host) {
  if (host == nullptr || !region_fits(gpa, size)) return false;
  auto reg = std::make_unique<Region>();
  reg->gpa = gpa;
  reg->size = size;
  reg->host = host;
  regions_.push_back(MemoryRegion{gpa, size});
  impl_.push_back(std::move(reg));
  return true;
}

bool GuestMemory::add_region(uint64_t gpa, uint64_t size) {
  if (!region_fits(gpa, size)) return false;
  auto reg = std::make_unique<Region>();
  reg->gpa = gpa;
  reg->size = size;
  if (mode_ == MemoryMode::paged) {
    reg->pages.resize(size / kPageSize);
  } else {
    void* p = std::calloc(1, size);
    if (p == nullptr) return false;
    reg->flat.reset(static_cast<uint8_t*>(p));
  }
  regions_.push_back(MemoryRegion{gpa, size});
  impl_.push_back(std::move(reg));
  return true;
}

GuestMemory::Region* GuestMemory::find(uint64_t gpa) const {
  for (const auto& r : impl_) {
    if (gpa >= r->gpa && gpa - r->gpa < r->size) return r.get();
  }
  return nullptr;
}

bool GuestMemory::contains(uint64_t gpa, uint64_t len) const {
  while (len > 0) {
    Region* r = find(gpa);
    if (r == nullptr) return false;
    uint64_t room = r->size - (gpa - r->gpa);
    if (room >= len) return true;
    gpa += room;
    len -= room;
  }
  return true;
}

uint8_t* GuestMemory::page_ptr(Region* r, uint64_t gpa) const {
  uint64_t off = (gpa - r->gpa) & ~kPageMask;
  if (r->host != nullptr) return r->host + off;
  if (mode_ == MemoryMode::contiguous) return r->flat.get() + off;
  auto& slot = r->pages[off / kPageSize];
  if (!slot) {
    slot.reset(new uint8_t[kPageSize]);
    std::memset(slot.get(), 0, kPageSize);
  }
  return slot.get();
}

bool GuestMemory::fault_now() {
  holds_taken_++;
  if (fail_countdown_ == 0) return false;
  if (--fail_countdown_ == 0) return true;
  return false;
}

uint8_t* GuestMemory::hold_page(uint64_t gpa, bool writable) {
  if (fault_now()) return nullptr;
  Region* r = find(gpa);
  if (r == nullptr) return nullptr;
  holds_++;
  return page_ptr(r, gpa);
}

uint8_t* GuestMemory::hold_range(uint64_t gpa, uint64_t len, bool writable) {
  assert(mode_ == MemoryMode::contiguous && "hold_range is the pre-13783 model");
  if (fault_now()) return nullptr;
  Region* r = find(gpa);
  if (r == nullptr || len > r->size - (gpa - r->gpa)) return nullptr;
  holds_++;
  return (r->host != nullptr ? r->host : r->flat.get()) + (gpa - r->gpa);
}

void GuestMemory::release_page(uint64_t gpa) {
  assert(holds_ > 0 && "release without a hold");
  holds_--;
}

bool GuestMemory::read(uint64_t gpa, void* dst, size_t len) const {
  if (!contains(gpa, len)) return false;
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    Region* r = find(gpa);
    size_t in_page = kPageSize - (gpa & kPageMask);
    size_t n = std::min(len, in_page);
    uint64_t off = gpa - r->gpa;
    const uint8_t* src = nullptr;
    if (r->host != nullptr) {
      src = r->host + off;
    } else if (mode_ == MemoryMode::contiguous) {
      src = r->flat.get() + off;
    } else if (r->pages[off / kPageSize]) {
      src = r->pages[off / kPageSize].get() + (gpa & kPageMask);
    }
    if (src != nullptr) {
      std::memcpy(out, src, n);
    } else {
      std::memset(out, 0, n);  // never touched: reads as zero without allocating
    }
    out += n;
    gpa += n;
    len -= n;
  }
  return true;
}

bool GuestMemory::write(uint64_t gpa, const void* src, size_t len) {
  if (!contains(gpa, len)) return false;
  if (write_observer_) write_observer_(gpa, static_cast<const uint8_t*>(src), len);
  auto* in = static_cast<const uint8_t*>(src);
  while (len > 0) {
    Region* r = find(gpa);
    size_t in_page = kPageSize - (gpa & kPageMask);
    size_t n = std::min(len, in_page);
    std::memcpy(page_ptr(r, gpa) + (gpa & kPageMask), in, n);
    in += n;
    gpa += n;
    len -= n;
  }
  return true;
}

PageHolds& PageHolds::operator=(PageHolds&& o) noexcept {
  if (this != &o) {
    release_all();
    mem_ = o.mem_;
    pages_ = std::move(o.pages_);
    o.pages_.clear();
  }
  return *this;
}

void PageHolds::release_all() {
  if (mem_ != nullptr) {
    for (uint64_t p : pages_) mem_->release_page(p);
  }
  pages_.clear();
}

}  // namespace viona
