// SPDX-License-Identifier: MIT
// host_pages.cpp: page-split memcpy into and out of separate host pages.
#include "bench/host_pages.h"

#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace viona_bench {

namespace {
constexpr uint64_t kHostPage = 4096;
}

HostPages::HostPages(uint64_t size) {
  const uint64_t n = (size + kHostPage - 1) / kHostPage;
  for (uint64_t i = 0; i < n; i++) {
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(kHostPage, kHostPage));
    std::memset(p, 0, kHostPage);  // touch it now, as GuestMemory's first touch is outside the loop too
    pages_.push_back(p);
  }
}

HostPages::~HostPages() {
  for (uint8_t* p : pages_) std::free(p);
}

void HostPages::copy_in(uint64_t off, const uint8_t* src, size_t n) {
  while (n > 0) {
    const uint64_t in_page = off % kHostPage;
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, kHostPage - in_page));
    std::memcpy(pages_[off / kHostPage] + in_page, src, chunk);
    off += chunk;
    src += chunk;
    n -= chunk;
  }
}

void HostPages::copy_out(uint64_t off, uint8_t* dst, size_t n) const {
  while (n > 0) {
    const uint64_t in_page = off % kHostPage;
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, kHostPage - in_page));
    std::memcpy(dst, pages_[off / kHostPage] + in_page, chunk);
    off += chunk;
    dst += chunk;
    n -= chunk;
  }
}

}  // namespace viona_bench
