// SPDX-License-Identifier: MIT
// ring_regress_test.cpp: reproducers found by fuzz/ring (make fuzz), kept as plain tests so make test guards them.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "tests/support/guest_fixture.h"
#include "tests/support/mock_split_queue.h"
#include "tests/support/stats_expect.h"
#include "viona/ring.h"

namespace viona {
namespace test {
namespace {

constexpr uint64_t kQueueBase = GuestFixture::kBase;

TEST_CASE("fuzz ring: a descriptor whose address range wraps 2^64 and needs more pieces than the budget is too_many_desc") {
  // Section 3.3: the piece count is checked against the free iovecs before
  // any page is held; only a failed hold is bad_ring_addr. 0x100000 bytes
  // from the last page of the address space is 256 pieces > 32.
  GuestFixture g;
  MockSplitQueue q(g.mem, kQueueBase, 16);
  q.add_chain({BufSpec{0xfffffffffffff000ull, 0x100000, VRING_DESC_F_WRITE}});
  std::unique_ptr<Ring> ring = q.make_ring();
  Chain c;
  CHECK(ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::error);
  CHECK_RS(ring->rs, rs_only({{RsCounter::too_many_desc, 1}}));
  CHECK(ring->cur_aidx() == 0);
}

TEST_CASE("fuzz ring: a wrapping descriptor within the piece budget is bad_ring_addr") {
  GuestFixture g;
  MockSplitQueue q(g.mem, kQueueBase, 16);
  q.add_chain({BufSpec{0xfffffffffffff000ull, 0x2000, 0}});
  std::unique_ptr<Ring> ring = q.make_ring();
  Chain c;
  CHECK(ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::error);
  CHECK_RS(ring->rs, rs_only({{RsCounter::bad_ring_addr, 1}}));
}

}  // namespace
}  // namespace test
}  // namespace viona
