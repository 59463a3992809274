// SPDX-License-Identifier: MIT
// host_pages.h: a byte range backed by separately allocated 4 KiB host
// pages, for the memcpy baselines.
#ifndef BENCH_HOST_PAGES_H_
#define BENCH_HOST_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace viona_bench {

// [0, size) where every 4 KiB page is its own aligned allocation, as the
// paged GuestMemory has it: the baseline pays the same page splits and the
// same cache and TLB footprint as the device, and nothing else.
class HostPages {
 public:
  explicit HostPages(uint64_t size);
  ~HostPages();
  HostPages(const HostPages&) = delete;
  HostPages& operator=(const HostPages&) = delete;

  // memcpy split at each page boundary.
  void copy_in(uint64_t off, const uint8_t* src, size_t n);
  void copy_out(uint64_t off, uint8_t* dst, size_t n) const;

 private:
  std::vector<uint8_t*> pages_;
};

}  // namespace viona_bench

#endif  // BENCH_HOST_PAGES_H_
