// SPDX-License-Identifier: MIT
// link_test.cpp: ring init errno rules, the ring state machine, state get/set, pairs.
#include "viona/link.h"

#include <doctest/doctest.h>

#include <cerrno>

#include "tests/support/guest_fixture.h"
#include "tests/support/mock_split_queue.h"
#include "tests/support/probe_recorder.h"
#include "tests/support/stats_expect.h"

namespace viona {
namespace test {
namespace {

constexpr uint64_t kRx = GuestFixture::kBase;            // ring 0 queue
constexpr uint64_t kTx = GuestFixture::kBase + 0x10000;  // ring 1 queue
constexpr uint64_t kData = 0x400000;

}  // namespace

TEST_CASE("link: ring_init errno rules") {
  GuestFixture g;
  Link link(&g.mem);
  CHECK(link.nrings() == 2);
  CHECK(link.ring_init(2, 16, kRx) == EINVAL);       // index >= 2 * npairs
  CHECK(link.ring_init(0, 0, kRx) == EINVAL);
  CHECK(link.ring_init(0, 12, kRx) == EINVAL);
  CHECK(link.ring_init(0, 16, 0) == EINVAL);
  CHECK(link.ring_init(0, 16, kRx + 0x800) == EINVAL);  // legacy base must be page aligned
  CHECK(link.ring_init(0, 16, 0x2000) == EINVAL);       // hole
  CHECK(link.ring_init(0, 16, g.end() - 0x1000) == EINVAL);  // used part past the region
  CHECK(link.ring(0).state == VrState::VRS_RESET);
  CHECK(!link.ring(0).mapped());
  CHECK(g.mem.holds_outstanding() == 0);
  // As implemented: the legacy ioctl checks only its base, so qsz < 256
  // (avail not page aligned) works on a non-modern link.
  CHECK(link.ring_init(0, 16, kRx) == 0);
  CHECK(link.ring(0).state == VrState::VRS_INIT);
  CHECK(link.ring(0).size() == 16);
  CHECK(link.ring(0).avail_pa() == kRx + 256);
  CHECK(link.ring(0).used_pa() == kRx + 0x1000);
  CHECK(link.ring_init(0, 16, kRx) == EBUSY);  // not RESET
  CHECK(link.ring_init(1, 32768, kTx) == 0);     // VRING_MAX_LEN
  CHECK(link.ring(1).size() == 32768);
}

TEST_CASE("link: modern ring init alignment depends on the negotiated features") {
  GuestFixture g;
  const uint64_t d = kRx, a = kRx + 256, u = kRx + 0x1000;
  SUBCASE("non-modern link: every part 4096-aligned") {
    Link link(&g.mem);
    CHECK(!link.modern());
    CHECK(link.ring_init_modern(0, 16, d, a, u) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d, kRx + 0x2000, u) == 0);
  }
  SUBCASE("modern link: natural alignment") {
    Link link(&g.mem);
    link.set_features(VIRTIO_F_VERSION_1);
    CHECK(link.modern());
    CHECK(link.ring_init_modern(0, 16, d + 8, a, u) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d, a + 1, u) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d, a, u + 2) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, 0, a, u) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d, 0, u) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d, a, 0) == EINVAL);
    CHECK(link.ring_init_modern(0, 16, d + 16, a + 2, u + 4) == 0);
    CHECK(link.ring(0).desc_pa() == d + 16);
  }
}

TEST_CASE("link: ring state machine") {
  GuestFixture g;
  Link link(&g.mem);
  MockSplitQueue rx(g.mem, kRx, 16), tx(g.mem, kTx, 16);
  CHECK(link.ring_kick(0) == EBUSY);  // RESET
  CHECK(link.ring_pause(0) == 0);     // RESET: nothing to do
  CHECK(link.ring_reset(0) == 0);     // already RESET
  CHECK(link.ring_kick(5) == EINVAL);
  CHECK(link.ring_pause(5) == EINVAL);
  CHECK(link.ring_reset(5) == EINVAL);

  CHECK(link.ring_init(0, 16, kRx) == 0);
  CHECK(link.ring(0).state == VrState::VRS_INIT);
  CHECK(link.ring_pause(0) == 0);  // INIT: stays
  CHECK(link.ring(0).state == VrState::VRS_INIT);
  CHECK(rx.used_flags() == 0);
  CHECK(link.ring_kick(0) == 0);
  CHECK(link.ring(0).state == VrState::VRS_RUN);
  CHECK(link.ring(0).state_flags == 0);
  CHECK(rx.used_flags() == VRING_USED_F_NO_NOTIFY);  // RX never needs kicks
  CHECK(link.ring_kick(0) == 0);                     // RUN: no change
  CHECK(link.ring(0).state == VrState::VRS_RUN);

  CHECK(tx.attach(link, 1) == 0);
  CHECK(link.ring(1).state == VrState::VRS_RUN);
  CHECK(tx.used_flags() == 0);  // TX keeps notifications on

  // Pause keeps indices, mapping and error stats, consolidates transfer stats.
  Ring& r = link.ring(0);
  rx.add_chain({{kData, 64, VRING_DESC_F_WRITE}});
  rx.add_zero_len_chain();
  {
    Chain c;
    REQUIRE(r.pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    r.push_used(c.cookie, 64);
    CHECK(r.pop_chain(c, VTNET_MAXSEGS) == PopResult::error);
  }
  r.vts.vts_packets = 1;
  r.vts.vts_bytes = 64;
  r.vts.vts_drops = 2;
  const uint64_t holds = g.mem.holds_outstanding();
  CHECK(link.ring_pause(0) == 0);
  CHECK(r.state == VrState::VRS_INIT);
  CHECK(r.mapped());
  CHECK(r.cur_aidx() == 1);
  CHECK(r.cur_uidx() == 1);
  CHECK_RS(r.rs, rs_only({{RsCounter::desc_bad_len, 1}}));
  CHECK(r.vts == TransferStats{});
  CHECK(link.vls_rx.vts_packets == 1);
  CHECK(link.vls_rx.vts_bytes == 64);
  CHECK(link.vls_rx.vts_drops == 2);
  CHECK(link.vls_tx == TransferStats{});
  CHECK(rx.used_flags() == 0);  // RX worker clears NO_NOTIFY when it stops running
  CHECK(g.mem.holds_outstanding() == holds);
  CHECK(link.ring_kick(0) == 0);
  CHECK(r.state == VrState::VRS_RUN);

  // TX pause refuses while loans are outstanding (viona would wait).
  link.ring(1).xfer_outstanding = 1;
  CHECK(link.ring_pause(1) == EBUSY);
  CHECK(link.ring_reset(1) == EBUSY);
  CHECK(link.ring(1).state == VrState::VRS_RUN);
  link.ring(1).xfer_outstanding = 0;
  link.ring(1).vts.vts_packets = 3;
  CHECK(link.ring_reset(1) == 0);
  CHECK(link.vls_tx.vts_packets == 3);

  // Reset: unmapped, RESET, cur_uidx kept, holds gone; re-init starts over.
  CHECK(link.ring_reset(0) == 0);
  CHECK(r.state == VrState::VRS_RESET);
  CHECK(r.state_flags == 0);
  CHECK(!r.mapped());
  CHECK(r.size() == 0);
  CHECK(r.cur_aidx() == 0);
  CHECK(r.cur_uidx() == 1);
  CHECK(r.desc_pa() == 0);
  CHECK(g.mem.holds_outstanding() == 0);
  CHECK(link.ring_kick(0) == EBUSY);
  CHECK(link.ring_init(0, 16, kRx) == 0);
  CHECK(r.cur_uidx() == 0);
  CHECK_RS(r.rs, RingStats{});
}

TEST_CASE("link: ring get/set state round trip, with indices about to wrap") {
  GuestFixture g;
  Link link(&g.mem);
  link.set_features(VIRTIO_F_VERSION_1);
  MockSplitQueue q(g.mem, kRx, 16);
  RingState st;
  st.index = 0;
  st.qsize = 16;
  st.desc = q.desc_pa();
  st.avail = q.avail_pa();
  st.used = q.used_pa();
  st.avail_idx = 65534;
  st.used_idx = 65534;
  CHECK(link.ring_set_state(st) == 0);
  CHECK(link.ring(0).state == VrState::VRS_INIT);
  CHECK(link.ring_set_state(st) == EBUSY);
  RingState out;
  out.index = 0;
  CHECK(link.ring_get_state(&out) == 0);
  CHECK(out.qsize == 16);
  CHECK(out.desc == st.desc);
  CHECK(out.avail == st.avail);
  CHECK(out.used == st.used);
  CHECK(out.avail_idx == 65534);
  CHECK(out.used_idx == 65534);
  out.index = 2;
  CHECK(link.ring_get_state(&out) == EINVAL);

  // Run three chains through the wrap, then move the ring state to a second link.
  q.set_avail_idx(65534);
  CHECK(link.ring_kick(0) == 0);
  for (int k = 0; k < 3; k++) q.add_chain({{kData + 0x100ull * k, 10, VRING_DESC_F_WRITE}});
  Ring& r = link.ring(0);
  for (int k = 0; k < 3; k++) {
    Chain c;
    REQUIRE(r.pop_chain(c, VTNET_MAXSEGS) == PopResult::ok);
    r.push_used(c.cookie, 10);
  }
  CHECK(q.used_idx() == 1);
  CHECK(link.ring_pause(0) == 0);
  out.index = 0;
  CHECK(link.ring_get_state(&out) == 0);
  CHECK(out.avail_idx == 1);
  CHECK(out.used_idx == 1);
  CHECK(link.ring_reset(0) == 0);

  Link other(&g.mem);
  other.set_features(VIRTIO_F_VERSION_1);
  CHECK(other.ring_set_state(out) == 0);
  CHECK(other.ring(0).cur_aidx() == 1);
  CHECK(other.ring(0).cur_uidx() == 1);
  // Error cases.
  RingState bad = out;
  bad.index = 1;
  bad.qsize = 0;
  CHECK(other.ring_set_state(bad) == EINVAL);
  bad.qsize = 16;
  bad.used = 0;
  CHECK(other.ring_set_state(bad) == EINVAL);
  bad.index = 9;
  CHECK(other.ring_set_state(bad) == EINVAL);
}

TEST_CASE("link: msi and interrupt clear per ring") {
  GuestFixture g;
  Link link(&g.mem);
  RecordingSink sink;
  link.set_interrupt_sink(&sink);
  MockSplitQueue q(g.mem, kRx, 16);
  CHECK(q.attach(link, 0) == 0);
  CHECK(link.ring_set_msi(2, 1, 1) == EINVAL);
  CHECK(link.ring_intr_clr(2) == EINVAL);
  CHECK(link.ring(0).intr_ring(false) == InterruptKind::poll);
  CHECK(link.ring(0).intr_pending());
  CHECK(link.ring_intr_clr(0) == 0);
  CHECK(!link.ring(0).intr_pending());
  CHECK(link.ring_set_msi(0, 0xfee00000, 0x4082) == 0);
  CHECK(link.ring(0).msi_addr() == 0xfee00000);
  CHECK(link.ring(0).intr_ring(false) == InterruptKind::msi);
  REQUIRE(sink.msis.size() == 1);
  CHECK(sink.msis[0].msg == 0x4082);
  CHECK(sink.wakeups == std::vector<uint16_t>{0});
  // Ring init zeroes the MSI target.
  CHECK(link.ring_reset(0) == 0);
  CHECK(link.ring_init(0, 16, kRx) == 0);
  CHECK(link.ring(0).msi_addr() == 0);
}

TEST_CASE("link: set_pairs") {
  GuestFixture g;
  Link link(&g.mem);
  ProbeRecorder rec;
  link.set_listener(&rec);
  CHECK(link.npairs() == 1);
  CHECK(link.set_pairs(0) == EINVAL);
  CHECK(link.set_pairs(257) == EINVAL);
  CHECK(link.ring_init(0, 16, kRx) == 0);
  CHECK(link.set_pairs(2) == EBUSY);  // a ring is not RESET
  CHECK(link.ring_reset(0) == 0);
  CHECK(link.set_pairs(2) == 0);
  CHECK(link.npairs() == 2);
  CHECK(link.nrings() == 4);
  CHECK(Link::is_tx_ring(3));
  CHECK(!Link::is_tx_ring(2));
  CHECK(link.ring(3).index() == 3);
  CHECK(link.ring(3).listener() == &rec);
  // Probes on a new ring carry its index.
  MockSplitQueue q(g.mem, kTx, 16);
  CHECK(q.attach(link, 3) == 0);
  q.add_zero_len_chain();
  Chain c;
  CHECK(link.ring(3).pop_chain(c, 16) == PopResult::error);
  REQUIRE(rec.probes.size() == 1);
  CHECK(rec.probes[0].kind == ProbeKind::desc_bad_len);
  CHECK(rec.probes[0].ring == 3);
  CHECK(link.set_pairs(256) == EBUSY);
  CHECK(link.ring_reset(3) == 0);
  CHECK(link.set_pairs(256) == 0);
  CHECK(link.nrings() == 512);
}

TEST_CASE("link: destruction releases every ring mapping") {
  GuestFixture g;
  {
    Link link(&g.mem);
    MockSplitQueue rx(g.mem, kRx, 16), tx(g.mem, kTx, 16);
    CHECK(rx.attach(link, 0) == 0);
    CHECK(tx.attach(link, 1) == 0);
    CHECK(g.mem.holds_outstanding() == 6);
  }
  CHECK(g.mem.holds_outstanding() == 0);
}

}  // namespace test
}  // namespace viona
