// SPDX-License-Identifier: MIT
// guest_fixture.h: guest memory in one line for tests.
#ifndef TESTS_SUPPORT_GUEST_FIXTURE_H_
#define TESTS_SUPPORT_GUEST_FIXTURE_H_

#include <cstdint>

#include "viona/guest_memory.h"

namespace viona {
namespace test {

// Guest memory with one region of |size| bytes at kBase; page 0 up to kBase
// is a hole so that address 0 and low addresses fault.
struct GuestFixture {
  static constexpr uint64_t kBase = 0x100000;
  GuestMemory mem;
  explicit GuestFixture(MemoryMode m = MemoryMode::paged, uint64_t size = 16 << 20);
  uint64_t end() const { return kBase + size_; }  // first byte past the region (a hole)

 private:
  uint64_t size_;
};

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_GUEST_FIXTURE_H_
