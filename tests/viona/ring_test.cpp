// SPDX-License-Identifier: MIT
// ring_test.cpp: chain popping, malformed chains, used pushes, notify and interrupts.
#include "viona/ring.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/support/guest_fixture.h"
#include "tests/support/mock_split_queue.h"
#include "tests/support/probe_recorder.h"
#include "tests/support/stats_expect.h"
#include "viona/quirks.h"

namespace viona {
namespace test {
namespace {

constexpr uint64_t kQueueBase = GuestFixture::kBase;  // 0x100000
constexpr uint64_t kData = 0x200000;                  // buffers
constexpr uint64_t kTable = 0x300000;                 // indirect tables
constexpr uint64_t kHole = 0x1000;                    // below the region

// A queue of |qsz| entries, its device-side ring and a probe recorder.
struct RingFixture {
  GuestFixture g;
  MockSplitQueue q;
  std::unique_ptr<Ring> ring;
  ProbeRecorder rec;
  uint64_t ring_holds = 0;  // holds the mapping itself keeps

  explicit RingFixture(uint16_t qsz = 16, MemoryMode m = MemoryMode::paged, uint64_t size = 16 << 20)
      : g(m, size), q(g.mem, kQueueBase, qsz), ring(q.make_ring()) {
    ring->set_listener(&rec);
    ring_holds = g.mem.holds_outstanding();
  }
};

// A malformed chain at the head of avail: the pop fails, only |want| moved,
// nothing advanced or pushed, every hold taken for the chain is gone; and a
// retry fails the same way (the chain stays at the head).
void expect_malformed(RingFixture& f, const RingStats& want, uint32_t niov = VTNET_MAXSEGS) {
  const uint16_t aidx = f.ring->cur_aidx();
  const uint16_t uidx = f.ring->cur_uidx();
  const uint16_t used_idx = f.q.used_idx();
  Chain c;
  CHECK(f.ring->pop_chain(c, niov) == PopResult::error);
  CHECK_RS(f.ring->rs, want);
  CHECK(f.ring->cur_aidx() == aidx);
  CHECK(f.ring->cur_uidx() == uidx);
  CHECK(f.q.used_idx() == used_idx);
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
  CHECK(c.iov.empty());
  CHECK(c.piece_gpa.empty());
  CHECK(c.piece_write.empty());
  CHECK(c.descs.empty());
  CHECK(c.total_len == 0);
  CHECK(c.holds.size() == 0);
  CHECK(f.rec.chains.empty());
  CHECK(f.rec.used.empty());
  // One probe per counter increment (the triplet), and nothing else.
  uint64_t bumps = 0;
  for (size_t i = 0; i < kRsCounterCount; i++) bumps += want.at(static_cast<RsCounter>(i));
  CHECK(f.rec.probes.size() == bumps);
  // Retried on the next pop, and fails again.
  RingStats twice = want;
  for (size_t i = 0; i < kRsCounterCount; i++) {
    auto k = static_cast<RsCounter>(i);
    twice.at(k) *= 2;
  }
  CHECK(f.ring->pop_chain(c, niov) == PopResult::error);
  CHECK_RS(f.ring->rs, twice);
  CHECK(f.ring->cur_aidx() == aidx);
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
}

void check_probe(const ProbeRecorder& rec, ProbeKind k, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0) {
  REQUIRE(!rec.probes.empty());
  const ProbeEvent& e = rec.probes.front();
  CHECK(probe_name(e.kind) == std::string(probe_name(k)));
  CHECK(e.ring == 0);
  CHECK(e.arg[0] == a0);
  CHECK(e.arg[1] == a1);
  CHECK(e.arg[2] == a2);
}

}  // namespace

TEST_CASE("ring: constants the rest of the port relies on") {
  CHECK(kRsCounterCount == 26);
  CHECK(kProbeKindCount == 31);
  CHECK(std::string(rs_counter_name(static_cast<RsCounter>(0))) == "ndesc_too_high");
  CHECK(std::string(rs_counter_name(static_cast<RsCounter>(kRsCounterCount - 1))) == "tx_hookdrop");
  CHECK(static_cast<uint16_t>(VrState::VRS_RUN) == 0x3);
  CHECK(VRSF_REQ_PAUSE == 0x4);
  CHECK(VRSF_RENEW == 0x8);
  CHECK(VTNET_MAXSEGS == 32);
  CHECK(vring_legacy_used_offset(16) == 0x1000);
  CHECK(vring_legacy_used_offset(256) == 0x2000);
  CHECK(vring_legacy_used_offset(1024) == 0x5000);
  CHECK(std::string(vr_state_name(VrState::VRS_INIT)) == "VRS_INIT");
  CHECK(kQuirkCount == 3);
  CHECK(kViona_S_HostCaps == 0x11008082);  // GUEST_CSUM, GUEST_TSO4, MRG_RXBUF, NOTIFY_ON_EMPTY, INDIRECT_DESC
  CHECK(VRING_MAX_LEN == 32768);
  CHECK(GuestMemory::kMaxRegionSize == (16ull << 30));
}

TEST_CASE("ring: map validates size, addresses and alignment (errno, no counters)") {
  GuestFixture g;
  MockSplitQueue q(g.mem, kQueueBase, 16);
  Ring r(0);
  const uint64_t d = q.desc_pa(), a = q.avail_pa(), u = q.used_pa();
  CHECK(r.map(&g.mem, 0, d, a, u, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 3, d, a, u, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 24, d, a, u, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 16, 0, a, u, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 16, d, 0, u, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 16, d, a, 0, false, 0, 0) == EINVAL);
  CHECK(r.map(&g.mem, 16, d + 8, a, u, false, 0, 0) == EINVAL);   // desc 16-aligned
  CHECK(r.map(&g.mem, 16, d, a + 1, u, false, 0, 0) == EINVAL);   // avail 2-aligned
  CHECK(r.map(&g.mem, 16, d, a, u + 2, false, 0, 0) == EINVAL);   // used 4-aligned
  CHECK(r.map(&g.mem, 16, d, a, u, true, 0, 0) == EINVAL);        // avail at +256 is not page aligned
  CHECK(r.map(&g.mem, 16, kHole, a, u, false, 0, 0) == EINVAL);   // unmappable
  // The used ring runs off the end of the region: the part's first page was
  // held before the failure and must be released.
  CHECK(r.map(&g.mem, 16, d, a, g.end() - 8, false, 0, 0) == EINVAL);
  CHECK(!r.mapped());
  CHECK(g.mem.holds_outstanding() == 0);
  CHECK(r.size() == 0);
  CHECK(r.cur_aidx() == 0);
  CHECK(r.cur_uidx() == 0);
  CHECK_RS(r.rs, RingStats{});

  CHECK(r.map(&g.mem, 16, d, a, u, false, 7, 9) == 0);
  CHECK(r.mapped());
  CHECK(r.size() == 16);
  CHECK(r.cur_aidx() == 7);
  CHECK(r.cur_uidx() == 9);
  CHECK(r.desc_pa() == d);
  CHECK(r.avail_pa() == a);
  CHECK(r.used_pa() == u);
  // desc and avail share the first page, used has its own: three holds.
  CHECK(g.mem.holds_outstanding() == 3);
  r.unmap();
  CHECK(g.mem.holds_outstanding() == 0);
  CHECK(r.cur_aidx() == 0);
  CHECK(r.cur_uidx() == 9);  // kept, as viona's reset path does
  CHECK(r.desc_pa() == 0);
  // 4096-aligned parts pass the strict rule.
  CHECK(r.map(&g.mem, 16, 0x104000, 0x105000, 0x106000, true, 0, 0) == 0);
  CHECK(g.mem.holds_outstanding() == 3);
}

TEST_CASE("ring: empty ring pops nothing") {
  RingFixture f;
  Chain c;
  CHECK(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::empty);
  CHECK(f.ring->avail_count() == 0);
  CHECK_RS(f.ring->rs, RingStats{});
  CHECK(f.rec.probes.empty());
}

TEST_CASE("ring: a descriptor crossing two page boundaries becomes three exact pieces") {
  RingFixture f;
  const uint64_t addr = kData + 4000;
  const uint32_t len = 4096 + 200;  // 96 + 4096 + 104
  std::vector<uint8_t> pattern(len);
  for (uint32_t i = 0; i < len; i++) pattern[i] = static_cast<uint8_t>(i * 7 + 1);
  REQUIRE(f.g.mem.write(addr, pattern.data(), len));
  const uint16_t head = f.q.add_chain({{addr, len, VRING_DESC_F_WRITE}});

  Chain c;
  REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
  CHECK(c.cookie == head);
  CHECK(c.avail_idx == 0);
  CHECK(c.total_len == len);
  REQUIRE(c.iov.size() == 3);
  CHECK(c.iov[0].len == 96);
  CHECK(c.iov[1].len == 4096);
  CHECK(c.iov[2].len == 104);
  CHECK(c.piece_gpa == std::vector<uint64_t>{addr, kData + 0x1000, kData + 0x2000});
  CHECK(c.piece_write == std::vector<bool>{true, true, true});
  REQUIRE(c.descs.size() == 1);
  CHECK(c.descs[0].index == head);
  CHECK(c.descs[0].indirect_parent == -1);
  CHECK(c.descs[0].addr == addr);
  CHECK(c.descs[0].len == len);
  CHECK(c.descs[0].first_piece == 0);
  CHECK(c.descs[0].npieces == 3);
  // The pieces are the guest's bytes.
  std::vector<uint8_t> got;
  for (const IoVec& v : c.iov) got.insert(got.end(), v.base, v.base + v.len);
  CHECK(got == pattern);
  CHECK(c.holds.size() == 3);
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds + 3);
  CHECK(f.ring->cur_aidx() == 1);
  CHECK_RS(f.ring->rs, RingStats{});
  REQUIRE(f.rec.chains.size() == 1);
  CHECK(f.rec.chains[0].cookie == head);
  CHECK(f.rec.chains[0].npieces == 3);
  CHECK(f.rec.probes.empty());
  c.clear();
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
}

TEST_CASE("ring: contiguous mode keeps a multi-page descriptor in one piece") {
  RingFixture f(16, MemoryMode::contiguous);
  const uint64_t addr = kData + 4000;
  const uint32_t len = 4096 + 200;
  std::vector<uint8_t> pattern(len, 0x5a);
  pattern[len - 1] = 0xa5;
  REQUIRE(f.g.mem.write(addr, pattern.data(), len));
  f.q.add_chain({{addr, len, 0}, {kData + 0x10000, 10, VRING_DESC_F_WRITE}});
  Chain c;
  REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
  REQUIRE(c.iov.size() == 2);
  CHECK(c.iov[0].len == len);
  CHECK(c.iov[1].len == 10);
  CHECK(std::memcmp(c.iov[0].base, pattern.data(), len) == 0);
  CHECK(c.total_len == len + 10);
  CHECK(c.piece_write == std::vector<bool>{false, true});
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds + 2);
  c.clear();
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
}

TEST_CASE("ring: a multi-descriptor chain keeps order and lengths") {
  RingFixture f;
  f.q.set_next_desc(14);  // the chain wraps the table: 14, 15, 0
  const uint16_t head = f.q.add_chain({{kData, 12, 0}, {kData + 0x1000, 100, 0}, {kData + 0x2000, 1, 0}});
  CHECK(head == 14);
  CHECK(f.q.read_desc(15).next == 0);
  Chain c;
  REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
  CHECK(c.cookie == 14);
  CHECK(c.total_len == 113);
  REQUIRE(c.descs.size() == 3);
  CHECK(c.descs[0].index == 14);
  CHECK(c.descs[1].index == 15);
  CHECK(c.descs[2].index == 0);
  CHECK(c.descs[2].first_piece == 2);
  CHECK(c.piece_gpa == std::vector<uint64_t>{kData, kData + 0x1000, kData + 0x2000});
}

TEST_CASE("ring: indirect tables, aligned and straddling a page") {
  SUBCASE("aligned table") {
    RingFixture f;
    const uint16_t head = f.q.add_indirect_chain({{kData, 10, 0}, {kData + 4090, 20, VRING_DESC_F_WRITE}}, kTable);
    Chain c;
    REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.cookie == head);
    CHECK(c.total_len == 30);
    REQUIRE(c.iov.size() == 3);  // 10, then 6 + 14 across the page
    CHECK(c.iov[0].len == 10);
    CHECK(c.iov[1].len == 6);
    CHECK(c.iov[2].len == 14);
    REQUIRE(c.descs.size() == 3);
    CHECK(c.descs[0].index == head);
    CHECK(c.descs[0].indirect_parent == -1);
    CHECK((c.descs[0].flags & VRING_DESC_F_INDIRECT) != 0);
    CHECK(c.descs[0].npieces == 0);
    CHECK(c.descs[1].index == 0);
    CHECK(c.descs[1].indirect_parent == head);
    CHECK(c.descs[2].index == 1);
    CHECK(c.descs[2].npieces == 2);
    // The table page is released after the walk: only the buffer pages stay.
    CHECK(f.g.mem.holds_outstanding() == f.ring_holds + 3);
    CHECK(f.ring->cur_aidx() == 1);
  }
  SUBCASE("entry straddling a page is read whole") {
    RingFixture f;
    const uint64_t table = kTable + 0x1000 - 24;  // entry 1 spans 0x300ff8..0x301007
    const uint16_t head =
        f.q.add_indirect_chain({{kData, 10, 0}, {kData + 0x3000, 33, 0}, {kData + 0x5000, 7, 0}}, table);
    Chain c;
    REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.cookie == head);
    CHECK(c.total_len == 50);
    CHECK(c.piece_gpa == std::vector<uint64_t>{kData, kData + 0x3000, kData + 0x5000});
    REQUIRE(c.iov.size() == 3);
    CHECK(c.iov[1].len == 33);
    CHECK(f.g.mem.holds_outstanding() == f.ring_holds + 3);
  }
  SUBCASE("direct descriptors followed by a final INDIRECT one") {
    RingFixture f;
    for (uint16_t k = 0; k < 2; k++) f.q.write_indirect_desc(kTable, k, VringDesc{kData + 0x100 * k, 5, 0, 0});
    f.q.write_indirect_desc(kTable, 0, VringDesc{kData, 5, VRING_DESC_F_NEXT, 1});
    f.q.write_desc(3, VringDesc{kData + 0x4000, 8, VRING_DESC_F_NEXT, 4});
    f.q.write_desc(4, VringDesc{kTable, 32, VRING_DESC_F_INDIRECT, 0});
    f.q.set_avail_ring(0, 3);
    f.q.set_avail_idx(1);
    Chain c;
    REQUIRE(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.cookie == 3);
    CHECK(c.total_len == 18);
    CHECK(c.piece_gpa == std::vector<uint64_t>{kData + 0x4000, kData, kData + 0x100});
  }
}

TEST_CASE("ring: malformed chains bump exactly their counter") {
  SUBCASE("head index >= size") {
    RingFixture f;
    f.q.set_avail_ring(0, 16);
    f.q.set_avail_idx(1);
    expect_malformed(f, rs_only({{RsCounter::bad_idx, 1}}));
    check_probe(f.rec, ProbeKind::bad_idx, 16);
  }
  SUBCASE("next index >= size") {
    RingFixture f;
    f.q.add_next_out_of_range_chain();
    expect_malformed(f, rs_only({{RsCounter::bad_idx, 1}}));
    check_probe(f.rec, ProbeKind::bad_idx, 16);
  }
  SUBCASE("INDIRECT together with NEXT") {
    RingFixture f;
    f.q.write_indirect_desc(kTable, 0, VringDesc{kData, 4, 0, 0});
    f.q.set_next_desc(5);
    f.q.write_desc(5, VringDesc{kTable, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 6});
    f.q.write_desc(6, VringDesc{kData, 4, 0, 0});
    f.q.set_avail_ring(0, 5);
    f.q.set_avail_idx(1);
    expect_malformed(f, rs_only({{RsCounter::indir_bad_next, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_next, 5, 0);
  }
  SUBCASE("indirect next >= table entries") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}, {kData + 8, 4, 0}}, kTable);
    f.q.write_indirect_desc(kTable, 0, VringDesc{kData, 4, VRING_DESC_F_NEXT, 2});
    expect_malformed(f, rs_only({{RsCounter::indir_bad_next, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_next, 2, 2);
  }
  SUBCASE("nested indirect") {
    RingFixture f;
    f.q.add_nested_indirect_chain(kTable);
    expect_malformed(f, rs_only({{RsCounter::indir_bad_nest, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_nest);
  }
  SUBCASE("indirect length not a multiple of 16") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}, {kData + 8, 4, 0}}, kTable);
    f.q.write_desc(0, VringDesc{kTable, 17, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::indir_bad_len, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_len, 17);
  }
  SUBCASE("indirect length 0") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}}, kTable);
    f.q.write_desc(0, VringDesc{kTable, 0, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::indir_bad_len, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_len, 0);
  }
  SUBCASE("indirect table longer than the queue") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}}, kTable);
    f.q.write_desc(0, VringDesc{kTable, 16 * 17, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::indir_bad_len, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_len, 16 * 17);
  }
  SUBCASE("indirect table of exactly the queue size is fine") {
    RingFixture f;
    std::vector<BufSpec> bufs;
    for (uint64_t k = 0; k < 16; k++) bufs.push_back({kData + k, 1, 0});
    f.q.add_indirect_chain(bufs, kTable);
    Chain c;
    CHECK(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.iov.size() == 16);
  }
  SUBCASE("indirect table wrapping 2^64") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}}, kTable);
    f.q.write_desc(0, VringDesc{~0ull - 15, 32, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::indir_bad_len, 1}}));
    check_probe(f.rec, ProbeKind::indir_bad_len, 32);
  }
  SUBCASE("zero-length descriptor") {
    RingFixture f;
    f.q.add_zero_len_chain();
    expect_malformed(f, rs_only({{RsCounter::desc_bad_len, 1}}));
    check_probe(f.rec, ProbeKind::desc_bad_len, 0);
  }
  SUBCASE("zero-length descriptor after a good one (holds of the first released)") {
    RingFixture f;
    f.q.add_chain({{kData + 4000, 200, 0}, {kData, 0, 0}});
    expect_malformed(f, rs_only({{RsCounter::desc_bad_len, 1}}));
  }
  SUBCASE("zero-length indirect entry") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 4, 0}, {kData, 0, 0}}, kTable);
    expect_malformed(f, rs_only({{RsCounter::desc_bad_len, 1}}));
  }
  SUBCASE("buffer in a hole") {
    RingFixture f;
    f.q.add_chain({{kHole, 64, VRING_DESC_F_WRITE}});
    expect_malformed(f, rs_only({{RsCounter::bad_ring_addr, 1}}));
    check_probe(f.rec, ProbeKind::bad_ring_addr, kHole);
  }
  SUBCASE("buffer running off the end of the region") {
    RingFixture f;
    const uint64_t addr = f.g.end() - 100;
    f.q.add_chain({{kData, 8, 0}, {addr, 200, 0}});
    expect_malformed(f, rs_only({{RsCounter::bad_ring_addr, 1}}));
    check_probe(f.rec, ProbeKind::bad_ring_addr, addr);
  }
  SUBCASE("buffer wrapping 2^64") {
    RingFixture f;
    f.q.add_chain({{~0ull - 3, 8, 0}});
    expect_malformed(f, rs_only({{RsCounter::bad_ring_addr, 1}}));
  }
  SUBCASE("indirect table in a hole") {
    RingFixture f;
    f.q.add_chain({{kData, 4, 0}});
    f.q.write_desc(0, VringDesc{kHole + 0x20, 32, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::bad_ring_addr, 1}}));
    check_probe(f.rec, ProbeKind::bad_ring_addr, kHole);  // the table page
  }
  SUBCASE("indirect table running into a hole mid-walk") {
    RingFixture f;
    const uint64_t table = f.g.end() - 16;  // entry 0 mapped, entry 1 in the hole
    f.q.write_indirect_desc(table, 0, VringDesc{kData, 4, VRING_DESC_F_NEXT, 1});
    f.q.add_chain({{kData, 4, 0}});
    f.q.write_desc(0, VringDesc{table, 32, VRING_DESC_F_INDIRECT, 0});
    expect_malformed(f, rs_only({{RsCounter::bad_ring_addr, 1}}));
    check_probe(f.rec, ProbeKind::bad_ring_addr, f.g.end());
  }
  SUBCASE("descriptor with more pieces than iovec room") {
    RingFixture f;
    f.q.add_chain({{kData + 1, 4 * 4096, 0}});  // 5 pieces
    expect_malformed(f, rs_only({{RsCounter::too_many_desc, 1}}), 4);
    check_probe(f.rec, ProbeKind::too_many_desc);
  }
  SUBCASE("descriptor with exactly the iovec room is fine") {
    RingFixture f;
    f.q.add_chain({{kData + 1, 3 * 4096, 0}});  // 4 pieces
    Chain c;
    CHECK(f.ring->pop_chain(c, 4) == PopResult::ok);
    CHECK(c.iov.size() == 4);
  }
  SUBCASE("indirect walk fills the iovecs with NEXT still set") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 1, 0}, {kData + 1, 1, 0}, {kData + 2, 1, 0}}, kTable);
    expect_malformed(f, rs_only({{RsCounter::too_many_desc, 1}}), 2);
  }
  SUBCASE("32-bit length overflow") {
    RingFixture f;
    f.q.add_chain({{kData, 16, 0}, {kData, 0xFFFFFFFFu - 15, 0}});
    expect_malformed(f, rs_only({{RsCounter::len_overflow, 1}}));
    check_probe(f.rec, ProbeKind::len_overflow);
  }
  SUBCASE("32-bit length exactly at the limit is not an overflow") {
    // 16 + (2^32 - 17) = 2^32 - 1 fits; the second descriptor then fails
    // only on its piece count.
    RingFixture f;
    f.q.add_chain({{kData, 16, 0}, {kData, 0xFFFFFFFFu - 16, 0}});
    expect_malformed(f, rs_only({{RsCounter::too_many_desc, 1}}));
  }
  SUBCASE("32-bit overflow inside an indirect table") {
    RingFixture f;
    f.q.add_indirect_chain({{kData, 0x80000000u, 0}, {kData, 0x80000000u, 0}}, kTable);
    // The first entry needs far more pieces than 32: too_many_desc, not overflow.
    expect_malformed(f, rs_only({{RsCounter::too_many_desc, 1}}));
  }
}

TEST_CASE("ring: chains ended only by the iovec budget count nothing") {
  SUBCASE("cycle d0 -> d1 -> d0") {
    RingFixture f;
    f.q.add_cycle_chain();
    expect_malformed(f, RingStats{});
    CHECK(f.rec.probes.empty());
  }
  SUBCASE("more 1-byte descriptors than VTNET_MAXSEGS") {
    RingFixture f(64);
    f.q.add_too_long_chain(33);
    expect_malformed(f, RingStats{});
  }
  SUBCASE("exactly VTNET_MAXSEGS descriptors is fine") {
    RingFixture f(64);
    f.q.add_too_long_chain(32);
    Chain c;
    CHECK(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.iov.size() == 32);
    CHECK(c.total_len == 32);
  }
}

TEST_CASE("ring: avail.idx jumping past the queue size counts and still pops") {
  RingFixture f;
  const uint16_t head = f.q.add_chain({{kData, 8, 0}});
  f.q.jump_avail_idx(16);  // 17 outstanding on a 16-entry ring
  CHECK(f.ring->avail_count() == 17);
  CHECK_RS(f.ring->rs, rs_only({{RsCounter::ndesc_too_high, 1}}));
  check_probe(f.rec, ProbeKind::ndesc_too_high, 17);
  Chain c;
  // viona proceeds with the pop (§3.1): the head chain is well formed.
  CHECK(f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
  CHECK(c.cookie == head);
  CHECK_RS(f.ring->rs, rs_only({{RsCounter::ndesc_too_high, 2}}));
  CHECK(f.ring->cur_aidx() == 1);
  CHECK(f.q.used_idx() == 0);
  // Exactly the size is not "too high".
  f.q.set_avail_idx(17);
  CHECK(f.ring->avail_count() == 16);
  CHECK_RS(f.ring->rs, rs_only({{RsCounter::ndesc_too_high, 2}}));
}

TEST_CASE("ring: fault injection through a multi-page chain") {
  // 2 descriptors of 2 pieces each plus an indirect table of 2: 5 holds
  // (the table page), 2 + 2 buffer pages... counted by a clean run first.
  RingFixture probe_run;
  probe_run.q.add_chain({{kData + 4000, 200, 0}, {kData + 0x5000 + 4090, 10, VRING_DESC_F_WRITE}});
  const uint64_t before = probe_run.g.mem.holds_taken();
  {
    Chain c;
    REQUIRE(probe_run.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
  }
  const uint64_t needed = probe_run.g.mem.holds_taken() - before;
  CHECK(needed == 4);

  RingFixture f;
  f.q.add_chain({{kData + 4000, 200, 0}, {kData + 0x5000 + 4090, 10, VRING_DESC_F_WRITE}});
  uint64_t n = 1;
  for (; n <= needed + 1; n++) {
    f.g.mem.fail_nth_hold(n);
    Chain c;
    PopResult r = f.ring->pop_chain(c, VTNET_MAXSEGS);
    if (r == PopResult::ok) {
      f.g.mem.fail_nth_hold(0);
      CHECK(c.iov.size() == 4);
      CHECK(f.ring->cur_aidx() == 1);
      break;
    }
    CHECK(r == PopResult::error);
    CHECK_RS(f.ring->rs, rs_only({{RsCounter::bad_ring_addr, n}}));
    CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
    CHECK(f.ring->cur_aidx() == 0);
    CHECK(c.iov.empty());
  }
  CHECK(n == needed + 1);
  CHECK_RS(f.ring->rs, rs_only({{RsCounter::bad_ring_addr, needed}}));
  // Faulted addresses are the descriptors' start addresses.
  REQUIRE(f.rec.of(ProbeKind::bad_ring_addr).size() == needed);
  CHECK(f.rec.of(ProbeKind::bad_ring_addr)[0].arg[0] == kData + 4000);
  CHECK(f.rec.of(ProbeKind::bad_ring_addr)[1].arg[0] == kData + 4000);
  CHECK(f.rec.of(ProbeKind::bad_ring_addr)[2].arg[0] == kData + 0x5000 + 4090);
  CHECK(f.rec.of(ProbeKind::bad_ring_addr)[3].arg[0] == kData + 0x5000 + 4090);
}

TEST_CASE("ring: fault injection through an indirect chain") {
  RingFixture f;
  f.q.add_indirect_chain({{kData + 4000, 200, 0}, {kData + 0x8000, 16, 0}}, kTable + 0x1000 - 16);
  // Holds: table page 1, buffer 2 pieces, table page 2, buffer 1 piece.
  uint64_t n = 1;
  for (; n < 10; n++) {
    f.g.mem.fail_nth_hold(n);
    Chain c;
    if (f.ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok) {
      f.g.mem.fail_nth_hold(0);
      break;
    }
    CHECK_RS(f.ring->rs, rs_only({{RsCounter::bad_ring_addr, n}}));
    CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
    CHECK(f.ring->cur_aidx() == 0);
  }
  CHECK(n == 6);
  const auto ev = f.rec.of(ProbeKind::bad_ring_addr);
  REQUIRE(ev.size() == 5);
  CHECK(ev[0].arg[0] == kTable);           // first table page
  CHECK(ev[1].arg[0] == kData + 4000);     // first buffer, page 1
  CHECK(ev[2].arg[0] == kData + 4000);     // first buffer, page 2
  CHECK(ev[3].arg[0] == kTable + 0x1000);  // second table page
  CHECK(ev[4].arg[0] == kData + 0x8000);
}

TEST_CASE("ring: ring mapping fails cleanly under fault injection") {
  GuestFixture g;
  MockSplitQueue q(g.mem, kQueueBase, 256);  // desc, avail, used on 3 pages
  for (uint64_t n = 1; n <= 3; n++) {
    Ring r;
    g.mem.fail_nth_hold(n);
    CHECK(r.map(&g.mem, 256, q.desc_pa(), q.avail_pa(), q.used_pa(), true, 0, 0) == EINVAL);
    CHECK(g.mem.holds_outstanding() == 0);
    CHECK(!r.mapped());
  }
  g.mem.fail_nth_hold(0);
  Ring r;
  CHECK(r.map(&g.mem, 256, q.desc_pa(), q.avail_pa(), q.used_pa(), true, 0, 0) == 0);
  CHECK(g.mem.holds_outstanding() == 3);
}

TEST_CASE("ring: avail and used indices wrap past 65535") {
  GuestFixture g;
  MockSplitQueue q(g.mem, kQueueBase, 16);
  q.set_avail_idx(65534);
  q.set_used_idx(65534);
  auto ring = q.make_ring_at(0, 65534, 65534);
  ProbeRecorder rec;
  ring->set_listener(&rec);
  std::vector<uint16_t> heads;
  for (int k = 0; k < 3; k++) heads.push_back(q.add_chain({{kData + 0x1000ull * k, 100u + k, 0}}));
  CHECK(q.avail_idx() == 1);
  CHECK(ring->avail_count() == 3);
  const uint16_t want_aidx[3] = {65534, 65535, 0};
  for (int k = 0; k < 3; k++) {
    Chain c;
    REQUIRE(ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    CHECK(c.cookie == heads[k]);
    CHECK(c.avail_idx == want_aidx[k]);
    ring->push_used(c.cookie, c.total_len);
  }
  CHECK(ring->cur_aidx() == 1);
  CHECK(ring->cur_uidx() == 1);
  CHECK(q.used_idx() == 1);
  CHECK(ring->read_used_idx() == 1);
  // Slots 14, 15, 0.
  CHECK(q.used_elem(14).id == heads[0]);
  CHECK(q.used_elem(14).len == 100);
  CHECK(q.used_elem(15).id == heads[1]);
  CHECK(q.used_elem(15).len == 101);
  CHECK(q.used_elem(0).id == heads[2]);
  CHECK(q.used_elem(0).len == 102);
  REQUIRE(rec.used.size() == 3);
  CHECK(rec.used[0].slot == 65534);
  CHECK(rec.used[1].slot == 65535);
  CHECK(rec.used[2].slot == 0);
  CHECK(rec.publishes == std::vector<uint16_t>{65535, 0, 1});
  Chain c;
  CHECK(ring->pop_chain(c, VTNET_MAXSEGS) == PopResult::empty);
}

TEST_CASE("ring: push_used_many writes consecutive slots, or one slot with same_slot") {
  const VringUsedElem elems[3] = {{3, 100}, {7, 200}, {9, 300}};
  SUBCASE("consecutive") {
    RingFixture f;
    f.ring->push_used(1, 11);  // start at slot 1, wrap at 16 later
    f.ring->push_used_many(elems, 3, false);
    CHECK(f.q.used_idx() == 4);
    CHECK(f.ring->cur_uidx() == 4);
    CHECK(f.q.used_elem(1).id == 3);
    CHECK(f.q.used_elem(1).len == 100);
    CHECK(f.q.used_elem(2).id == 7);
    CHECK(f.q.used_elem(2).len == 200);
    CHECK(f.q.used_elem(3).id == 9);
    CHECK(f.q.used_elem(3).len == 300);
    CHECK(f.rec.publishes == std::vector<uint16_t>{1, 4});  // one publish for the batch
  }
  SUBCASE("same slot (the 13783 regression)") {
    RingFixture f;
    f.ring->push_used_many(elems, 3, true);
    CHECK(f.q.used_idx() == 3);
    CHECK(f.q.used_elem(0).id == 9);
    CHECK(f.q.used_elem(0).len == 300);
    CHECK(f.q.used_elem(1).id == 0);
    CHECK(f.q.used_elem(1).len == 0);
    CHECK(f.q.used_elem(2).len == 0);
    REQUIRE(f.rec.used.size() == 3);
    CHECK(f.rec.used[2].slot == 0);
    CHECK(f.rec.publishes == std::vector<uint16_t>{3});
  }
  SUBCASE("consecutive across the ring end") {
    GuestFixture g;
    MockSplitQueue q(g.mem, kQueueBase, 16);
    auto r = q.make_ring_at(0, 0, 15);
    r->push_used_many(elems, 3, false);
    CHECK(q.used_idx() == 18);
    CHECK(q.used_elem(15).id == 3);
    CHECK(q.used_elem(0).id == 7);
    CHECK(q.used_elem(1).id == 9);
  }
}

TEST_CASE("ring: used entry straddling a page (4-aligned used ring)") {
  // used at 0x101ffc: flags/idx in one page, ring[0] in the next; ring[511]
  // ... simpler: put used so that element 0 straddles.
  GuestFixture g;
  Ring r;
  // avail 2-aligned, used 4-aligned but not 8-aligned, element 0 at used+4
  // = 0x102ffc..0x103003.
  const uint64_t used = 0x102ff8;
  REQUIRE(r.map(&g.mem, 16, 0x100000, 0x101000, used, false, 0, 0) == 0);
  r.push_used(5, 0x01020304);
  VringUsedElem e{};
  REQUIRE(g.mem.read_obj(used + 4, &e));
  CHECK(e.id == 5);
  CHECK(e.len == 0x01020304);
  uint16_t idx = 0;
  REQUIRE(g.mem.read_obj(used + 2, &idx));
  CHECK(idx == 1);
}

TEST_CASE("ring: notification flags") {
  RingFixture f;
  CHECK(f.q.used_flags() == 0);
  f.ring->disable_notify();
  CHECK(f.q.used_flags() == VRING_USED_F_NO_NOTIFY);
  CHECK(f.ring->read_used_flags() == VRING_USED_F_NO_NOTIFY);
  f.ring->disable_notify();
  CHECK(f.q.used_flags() == VRING_USED_F_NO_NOTIFY);
  f.ring->enable_notify();
  CHECK(f.q.used_flags() == 0);
  f.q.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
  CHECK(f.ring->read_avail_flags() == VRING_AVAIL_F_NO_INTERRUPT);
}

TEST_CASE("ring: interrupt decision") {
  RingFixture f;
  RecordingSink sink;
  f.ring->set_interrupt_sink(&sink);
  SUBCASE("NO_INTERRUPT suppresses unless the check is skipped") {
    f.q.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
    CHECK(f.ring->intr_ring(false) == InterruptKind::suppressed);
    CHECK(!f.ring->intr_pending());
    CHECK(sink.wakeups.empty());
    CHECK(f.ring->intr_ring(true) == InterruptKind::poll);
    CHECK(f.ring->intr_pending());
    CHECK(sink.wakeups == std::vector<uint16_t>{0});
  }
  SUBCASE("poll 0 -> 1, then already, then clear") {
    CHECK(f.ring->intr_ring(false) == InterruptKind::poll);
    CHECK(f.ring->intr_ring(false) == InterruptKind::already);
    CHECK(sink.wakeups.size() == 1);
    f.ring->intr_clear();
    CHECK(!f.ring->intr_pending());
    CHECK(f.ring->intr_ring(false) == InterruptKind::poll);
    CHECK(sink.wakeups.size() == 2);
    REQUIRE(f.rec.intrs.size() == 3);
    CHECK(f.rec.intrs[0].kind == InterruptKind::poll);
    CHECK(f.rec.intrs[1].kind == InterruptKind::already);
    CHECK(f.rec.intrs[2].kind == InterruptKind::poll);
  }
  SUBCASE("MSI when an address is set") {
    f.ring->set_msi(0xfee00000, 0x4082);
    CHECK(f.ring->intr_ring(false) == InterruptKind::msi);
    CHECK(f.ring->intr_ring(false) == InterruptKind::msi);  // no latch for MSI
    REQUIRE(sink.msis.size() == 2);
    CHECK(sink.msis[0].ring == 0);
    CHECK(sink.msis[0].addr == 0xfee00000);
    CHECK(sink.msis[0].msg == 0x4082);
    CHECK(sink.wakeups.empty());
    CHECK(!f.ring->intr_pending());
    f.q.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
    CHECK(f.ring->intr_ring(false) == InterruptKind::suppressed);
    CHECK(sink.msis.size() == 2);
  }
}

TEST_CASE("ring: guest_error is the counter plus the probe") {
  RingFixture f;
  f.ring->guest_error(RsCounter::rx_pad_short, ProbeKind::rx_pad_short, 12);
  CHECK_RS(f.ring->rs, rs_only({{RsCounter::rx_pad_short, 1}}));
  check_probe(f.rec, ProbeKind::rx_pad_short, 12);
}

}  // namespace test
}  // namespace viona
