// SPDX-License-Identifier: MIT
// guest_fixture.cpp: guest memory in one line for tests.
#include "tests/support/guest_fixture.h"

#include <stdexcept>

namespace viona {
namespace test {

GuestFixture::GuestFixture(MemoryMode m, uint64_t size) : mem(m), size_(size) {
  if (!mem.add_region(kBase, size)) throw std::logic_error("GuestFixture: add_region failed");
}

}  // namespace test
}  // namespace viona
