// SPDX-License-Identifier: MIT
// guest_memory.h: guest-physical memory made of 4 KiB pages, with page holds.
#ifndef VIONA_GUEST_MEMORY_H_
#define VIONA_GUEST_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "viona/virtio_defs.h"

namespace viona {

// How guest buffers are translated for the host.
enum class MemoryMode : uint8_t {
  // Since illumos 13783: every page is a separate host allocation and every
  // buffer is split at each 4 KiB guest-page boundary, one iovec per piece.
  paged = 0,
  // Before 13783: a region is one host allocation and a descriptor is one
  // iovec however many pages it spans (kept for historical comparison).
  contiguous = 1,
};
const char* memory_mode_name(MemoryMode m);
bool memory_mode_from_name(const char* name, MemoryMode* out);

// A range of guest-physical memory that exists. Addresses outside every
// region are holes: holding them fails like a failed vmm_drv_page_hold.
struct MemoryRegion {
  uint64_t gpa;   // guest-physical start, page aligned
  uint64_t size;  // bytes, page multiple
};

// One piece of a guest buffer as the host sees it.
struct IoVec {
  uint8_t* base;  // host address; valid while the page hold that produced it is held
  uint32_t len;   // bytes
};

// The guest's memory. The device side (ring, RX, TX) reaches it only through
// holds; the driver side (simulated guests, tests) uses read()/write().
class GuestMemory {
 public:
  explicit GuestMemory(MemoryMode mode = MemoryMode::paged);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  MemoryMode mode() const { return mode_; }

  // Adds [gpa, gpa+size). Both must be page multiples, size > 0, at most
  // kMaxRegionSize, no overlap and no wrap. Validate-then-commit: false
  // leaves the memory untouched.
  static constexpr uint64_t kMaxRegionSize = 16ull << 30;
  bool add_region(uint64_t gpa, uint64_t size);
  // Adds [gpa, gpa+size) backed by caller-owned host memory at |host| (a
  // real guest's RAM, e.g. a vhost-user memfd mapping): same rules as
  // add_region, and the same translation, so paged mode still splits every
  // buffer at each 4 KiB guest page. |host| must stay valid, and hold at
  // least |size| bytes, for as long as this memory exists.
  bool add_host_region(uint64_t gpa, uint64_t size, uint8_t* host);
  const std::vector<MemoryRegion>& regions() const { return regions_; }
  bool contains(uint64_t gpa, uint64_t len) const;

  // Device side. Holds the page containing |gpa| and returns the host
  // address of that page's first byte, or nullptr (hole, or injected fault).
  // Each successful hold must be paired with release_page().
  uint8_t* hold_page(uint64_t gpa, bool writable);
  // Contiguous mode only: holds [gpa, gpa+len) as one host range (it must
  // lie inside one region). Released with release_page(gpa).
  uint8_t* hold_range(uint64_t gpa, uint64_t len, bool writable);
  void release_page(uint64_t gpa);
  uint64_t holds_outstanding() const { return holds_; }

  // Fault injection (SQLite-style): the |n|th hold from now fails (1 = the
  // next one); 0 disables. Only that one hold fails.
  void fail_nth_hold(uint64_t n) { fail_countdown_ = n; }
  uint64_t holds_taken() const { return holds_taken_; }

  // Driver side: copy bytes in or out; false if any byte is in a hole.
  bool read(uint64_t gpa, void* dst, size_t len) const;
  bool write(uint64_t gpa, const void* src, size_t len);
  // Observer of driver-side writes (the recorder logs what the guest wrote
  // so that replay can lay out the same memory). Device writes go through
  // holds and are not reported here.
  using WriteObserver = std::function<void(uint64_t gpa, const uint8_t* data, size_t len)>;
  void set_write_observer(WriteObserver obs) { write_observer_ = std::move(obs); }

  template <typename T>
  bool read_obj(uint64_t gpa, T* out) const { return read(gpa, out, sizeof(T)); }
  template <typename T>
  bool write_obj(uint64_t gpa, const T& v) { return write(gpa, &v, sizeof(T)); }

 private:
  struct Region;
  bool region_fits(uint64_t gpa, uint64_t size) const;
  Region* find(uint64_t gpa) const;
  uint8_t* page_ptr(Region* r, uint64_t gpa) const;  // allocates on first touch
  bool fault_now();

  MemoryMode mode_;
  std::vector<MemoryRegion> regions_;
  std::vector<std::unique_ptr<Region>> impl_;
  uint64_t holds_ = 0;
  uint64_t holds_taken_ = 0;
  uint64_t fail_countdown_ = 0;
  WriteObserver write_observer_;
};

// The holds one operation took (vmm_page_t chain): released together.
class PageHolds {
 public:
  PageHolds() = default;
  explicit PageHolds(GuestMemory* mem) : mem_(mem) {}
  ~PageHolds() { release_all(); }
  PageHolds(const PageHolds&) = delete;
  PageHolds& operator=(const PageHolds&) = delete;
  PageHolds(PageHolds&& o) noexcept : mem_(o.mem_), pages_(std::move(o.pages_)) { o.pages_.clear(); }
  PageHolds& operator=(PageHolds&& o) noexcept;

  void bind(GuestMemory* mem) { mem_ = mem; }
  void add(uint64_t gpa) { pages_.push_back(gpa); }
  void release_all();
  size_t size() const { return pages_.size(); }

 private:
  GuestMemory* mem_ = nullptr;
  std::vector<uint64_t> pages_;  // one entry per hold taken
};

}  // namespace viona

#endif  // VIONA_GUEST_MEMORY_H_
