// SPDX-License-Identifier: MIT
// guest_memory_test.cpp: regions, holes, holds, fault injection, driver-side access.
#include "viona/guest_memory.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/support/guest_fixture.h"

namespace viona {
namespace test {

TEST_CASE("guest_memory: mode names round-trip") {
  CHECK(std::string(memory_mode_name(MemoryMode::paged)) == "paged");
  CHECK(std::string(memory_mode_name(MemoryMode::contiguous)) == "contiguous");
  MemoryMode m = MemoryMode::paged;
  CHECK(memory_mode_from_name("contiguous", &m));
  CHECK(m == MemoryMode::contiguous);
  CHECK(memory_mode_from_name("paged", &m));
  CHECK(m == MemoryMode::paged);
  CHECK(!memory_mode_from_name("Paged", &m));
  CHECK(!memory_mode_from_name("", &m));
  CHECK(m == MemoryMode::paged);
}

TEST_CASE("guest_memory: add_region validates then commits") {
  GuestMemory mem;
  CHECK(!mem.add_region(0x1000, 0));
  CHECK(!mem.add_region(0x1001, 0x1000));
  CHECK(!mem.add_region(0x1000, 0x1001));
  CHECK(!mem.add_region(0x1000, GuestMemory::kMaxRegionSize + kPageSize));
  CHECK(!mem.add_region(~0ull & ~kPageMask, 2 * kPageSize));  // wraps 2^64
  CHECK(mem.regions().empty());
  CHECK(mem.add_region(0x10000, 0x4000));
  CHECK(!mem.add_region(0x13000, 0x2000));  // overlaps the last page
  CHECK(!mem.add_region(0xf000, 0x2000));   // overlaps the first page
  CHECK(!mem.add_region(0x10000, 0x4000));
  CHECK(mem.add_region(0x14000, 0x1000));   // adjacent is fine
  CHECK(mem.add_region(0xf000, 0x1000));
  REQUIRE(mem.regions().size() == 3);
  CHECK(mem.regions()[0].gpa == 0x10000);
  CHECK(mem.regions()[0].size == 0x4000);
  CHECK(mem.contains(0xf000, 0x6000));   // across three adjacent regions
  CHECK(!mem.contains(0xf000, 0x6001));
  CHECK(!mem.contains(0xeff0, 0x20));
  CHECK(mem.contains(0x14fff, 1));
  CHECK(!mem.contains(0x15000, 1));
}

TEST_CASE("guest_memory: driver-side read and write, holes, untouched pages") {
  GuestFixture g;
  std::vector<uint8_t> in(10000);
  for (size_t i = 0; i < in.size(); i++) in[i] = static_cast<uint8_t>(i ^ (i >> 8));
  const uint64_t at = GuestFixture::kBase + 0x1000 - 123;  // spans 4 pages
  CHECK(g.mem.write(at, in.data(), in.size()));
  std::vector<uint8_t> out(in.size());
  CHECK(g.mem.read(at, out.data(), out.size()));
  CHECK(out == in);
  // Never-touched pages read as zero.
  uint64_t v = 1;
  CHECK(g.mem.read(GuestFixture::kBase + 0x800000, &v, sizeof(v)));
  CHECK(v == 0);
  // Holes: page 0 below the region and past its end; a partial overlap fails whole.
  CHECK(!g.mem.write(0, in.data(), 1));
  CHECK(!g.mem.read(0x1000, &v, sizeof(v)));
  CHECK(!g.mem.write(g.end() - 4, in.data(), 8));
  CHECK(g.mem.read(g.end() - 8, &v, sizeof(v)));
  CHECK(!g.mem.read(g.end() - 4, &v, sizeof(v)));
  CHECK(g.mem.holds_outstanding() == 0);
  CHECK(g.mem.holds_taken() == 0);  // driver access takes no holds
}

TEST_CASE("guest_memory: write observer sees driver writes only") {
  GuestFixture g;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> seen;
  g.mem.set_write_observer([&](uint64_t gpa, const uint8_t* d, size_t n) {
    seen.emplace_back(gpa, std::vector<uint8_t>(d, d + n));
  });
  const uint8_t bytes[3] = {1, 2, 3};
  CHECK(g.mem.write(GuestFixture::kBase + 5, bytes, 3));
  CHECK(!g.mem.write(0x10, bytes, 3));  // hole: not reported
  uint8_t* p = g.mem.hold_page(GuestFixture::kBase, true);
  REQUIRE(p != nullptr);
  p[100] = 9;  // device write through a hold: not reported
  g.mem.release_page(GuestFixture::kBase);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].first == GuestFixture::kBase + 5);
  CHECK(seen[0].second == std::vector<uint8_t>{1, 2, 3});
  uint8_t b = 0;
  CHECK(g.mem.read(GuestFixture::kBase + 100, &b, 1));
  CHECK(b == 9);
}

TEST_CASE("guest_memory: page holds") {
  GuestFixture g;
  const uint64_t page = GuestFixture::kBase + 0x3000;
  uint8_t* a = g.mem.hold_page(page, false);
  REQUIRE(a != nullptr);
  CHECK(g.mem.hold_page(page + 0x123, true) == a);  // the page's first byte
  CHECK(g.mem.holds_outstanding() == 2);
  CHECK(g.mem.hold_page(0x2000, false) == nullptr);
  CHECK(g.mem.hold_page(g.end(), false) == nullptr);
  CHECK(g.mem.holds_outstanding() == 2);
  CHECK(g.mem.holds_taken() == 4);
  // Bytes written by the driver are seen through the hold and vice versa.
  const uint32_t word = 0xdeadbeef;
  CHECK(g.mem.write_obj(page + 8, word));
  uint32_t got = 0;
  std::memcpy(&got, a + 8, 4);
  CHECK(got == word);
  g.mem.release_page(page);
  g.mem.release_page(page);
  CHECK(g.mem.holds_outstanding() == 0);
}

TEST_CASE("guest_memory: paged mode does not make guest-adjacent pages host-adjacent") {
  GuestFixture g;
  uint8_t* a = g.mem.hold_page(GuestFixture::kBase, true);
  uint8_t* b = g.mem.hold_page(GuestFixture::kBase + kPageSize, true);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(b != a + kPageSize);  // separate allocations (an overrun would not land in the next guest page)
  g.mem.release_page(GuestFixture::kBase);
  g.mem.release_page(GuestFixture::kBase + kPageSize);
}

TEST_CASE("guest_memory: contiguous mode holds ranges in one piece") {
  GuestFixture g(MemoryMode::contiguous, 1 << 20);
  const uint64_t at = GuestFixture::kBase + 0x1000 - 10;
  uint8_t* r = g.mem.hold_range(at, 0x3000, true);
  REQUIRE(r != nullptr);
  uint8_t* p = g.mem.hold_page(GuestFixture::kBase + 0x1000, false);
  CHECK(p == r + 10);
  CHECK(g.mem.hold_range(g.end() - 0x100, 0x101, false) == nullptr);
  CHECK(g.mem.hold_range(0x1000, 1, false) == nullptr);
  CHECK(g.mem.holds_outstanding() == 2);
  g.mem.release_page(at);
  g.mem.release_page(GuestFixture::kBase + 0x1000);
  CHECK(g.mem.holds_outstanding() == 0);
}

TEST_CASE("guest_memory: fail_nth_hold fails exactly that one hold") {
  GuestFixture g;
  const uint64_t p = GuestFixture::kBase;
  g.mem.fail_nth_hold(3);
  CHECK(g.mem.hold_page(p, false) != nullptr);
  CHECK(g.mem.hold_page(p, false) != nullptr);
  CHECK(g.mem.hold_page(p, false) == nullptr);
  CHECK(g.mem.hold_page(p, false) != nullptr);
  CHECK(g.mem.holds_outstanding() == 3);
  CHECK(g.mem.holds_taken() == 4);
  g.mem.fail_nth_hold(1);
  g.mem.fail_nth_hold(0);  // disarmed
  CHECK(g.mem.hold_page(p, false) != nullptr);
  g.mem.fail_nth_hold(1);
  CHECK(g.mem.hold_page(0x1000, false) == nullptr);  // the fault is spent on a hole too
  CHECK(g.mem.hold_page(p, false) != nullptr);
  for (int i = 0; i < 5; i++) g.mem.release_page(p);
  CHECK(g.mem.holds_outstanding() == 0);
}

TEST_CASE("guest_memory: PageHolds releases together, and moves") {
  GuestFixture g;
  const uint64_t p = GuestFixture::kBase;
  {
    PageHolds h(&g.mem);
    for (int i = 0; i < 3; i++) {
      REQUIRE(g.mem.hold_page(p + i * kPageSize, false) != nullptr);
      h.add(p + i * kPageSize);
    }
    CHECK(h.size() == 3);
    PageHolds moved(std::move(h));
    CHECK(h.size() == 0);
    CHECK(moved.size() == 3);
    CHECK(g.mem.holds_outstanding() == 3);
    PageHolds other(&g.mem);
    REQUIRE(g.mem.hold_page(p, false) != nullptr);
    other.add(p);
    other = std::move(moved);  // releases other's own hold first
    CHECK(g.mem.holds_outstanding() == 3);
    other.release_all();
    CHECK(g.mem.holds_outstanding() == 0);
    CHECK(other.size() == 0);
    REQUIRE(g.mem.hold_page(p, false) != nullptr);
    other.add(p);
  }
  CHECK(g.mem.holds_outstanding() == 0);  // destructor released
}

}  // namespace test
}  // namespace viona
