// SPDX-License-Identifier: MIT
// rx_test.cpp: the RX path (viona_rx.c, viona-behaviour.md section 4): used
// lengths, counters, transfer stats, header fields, padding, GRO fallback,
// multicast filtering and the historic quirks, byte for byte.
#include "viona/link.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/support/guest_fixture.h"
#include "tests/support/independent_checksum.h"
#include "tests/support/mock_split_queue.h"
#include "tests/support/pcap_frames.h"
#include "tests/support/probe_recorder.h"
#include "tests/support/stats_expect.h"

namespace viona {
namespace test {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kQueueBase = GuestFixture::kBase;  // 0x100000
constexpr uint64_t kData = 0x200000;                  // RX buffers (page aligned)
constexpr uint64_t kW = VRING_DESC_F_WRITE;
const uint8_t kOurMac[6] = {0x02, 0x08, 0x20, 0x00, 0x00, 0x01};  // Link's default
const uint8_t kOtherMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
const uint8_t kBcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t kMcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};

// Every byte depends on its offset (and not periodically by 256), so a copy
// taken from the wrong seek offset is visible.
uint8_t pattern(uint32_t i, uint8_t seed) { return static_cast<uint8_t>(i * 7 + (i >> 8) * 13 + seed); }

Bytes make_frame(uint32_t len, const uint8_t* dst = kOurMac, uint8_t seed = 1) {
  Bytes f(len);
  for (uint32_t i = 0; i < len; i++) f[i] = pattern(i, seed);
  for (uint32_t i = 0; i < 6 && i < len; i++) f[i] = dst[i];
  return f;
}

RxFrame rx_frame(const Bytes& b, RxMeta m = RxMeta{}) {
  RxFrame f;
  f.data = b.data();
  f.len = static_cast<uint32_t>(b.size());
  f.meta = m;
  return f;
}

// A ProbeRecorder that also keeps the device's writes into guest buffers.
struct RxRecorder : ProbeRecorder {
  struct Write {
    uint16_t cookie;
    uint64_t off;
    Bytes data;
  };
  void on_guest_write(const Ring& r, uint16_t cookie, uint64_t off, const uint8_t* p, size_t n) override {
    writes.push_back(Write{cookie, off, Bytes(p, p + n)});
  }
  std::vector<Write> writes;
};

// A link with RX queue 0 attached (ring_init + kick: VRS_RUN).
struct RxFixture {
  GuestFixture g;
  Link link;
  MockSplitQueue q;
  RxRecorder rec;
  uint64_t ring_holds = 0;  // holds the ring mapping itself keeps (one per part page)

  explicit RxFixture(uint64_t features, uint16_t qsz = 64, bool attach = true)
      : g(), link(&g.mem), q(g.mem, kQueueBase, qsz) {
    link.set_features(features);
    link.set_listener(&rec);
    if (attach) REQUIRE(q.attach(link, 0) == 0);
    ring_holds = g.mem.holds_outstanding();
  }
  Ring& ring() { return link.ring(0); }
  RxBatchResult deliver(const std::vector<RxFrame>& fs) { return link.rx_deliver(0, fs.data(), fs.size()); }
  RxBatchResult deliver1(const Bytes& b, RxMeta m = RxMeta{}) {
    RxFrame f = rx_frame(b, m);
    return link.rx_deliver(0, &f, 1);
  }
  Bytes read(uint64_t gpa, size_t n) const {
    Bytes b(n);
    REQUIRE(g.mem.read(gpa, b.data(), n));
    return b;
  }
  void fill(uint64_t gpa, size_t n, uint8_t v) {
    Bytes b(n, v);
    REQUIRE(g.mem.write(gpa, b.data(), n));
  }
  uint16_t add_buf(uint64_t gpa, uint32_t len) { return q.add_chain({{gpa, len, kW}}); }
  std::vector<ProbeEvent> probes_of(ProbeKind k) const { return rec.of(k); }
};

VirtioNetHdr read_hdr(const RxFixture& f, uint64_t gpa) {
  VirtioNetHdr h;
  std::memset(&h, 0, sizeof(h));
  REQUIRE(f.g.mem.read(gpa, &h, sizeof(h)));
  return h;
}

TransferStats vts(uint64_t packets, uint64_t bytes, uint64_t errors, uint64_t drops) {
  TransferStats t;
  t.vts_packets = packets;
  t.vts_bytes = bytes;
  t.vts_errors = errors;
  t.vts_drops = drops;
  return t;
}

Bytes slice(const Bytes& b, size_t off, size_t n) { return Bytes(b.begin() + off, b.begin() + off + n); }

}  // namespace

// --- plain receive (viona_recv_plain) -----------------------------------

TEST_CASE("rx plain: legacy 10-byte header, used len = copied + 10, bytes in the guest") {
  RxFixture f(0);
  CHECK(f.link.rx_header_len() == 10);
  f.fill(kData, 2048, 0xaa);
  const uint16_t head = f.add_buf(kData, 2048);
  const Bytes fr = make_frame(100);
  const RxBatchResult res = f.deliver1(fr);
  CHECK(res.accepted == 1);
  CHECK(res.dropped == 0);
  CHECK(f.q.used_idx() == 1);
  CHECK(f.q.used_elem(0).id == head);
  CHECK(f.q.used_elem(0).len == 110);
  CHECK(f.read(kData, 10) == Bytes(10, 0));
  CHECK(f.read(kData + 10, 100) == fr);
  CHECK(f.read(kData + 110, 1) == Bytes(1, 0xaa));  // nothing past the frame
  CHECK_RS(f.ring().rs, RingStats{});
  CHECK(f.ring().vts == vts(1, 100, 0, 0));
  REQUIRE(f.probes_of(ProbeKind::pkt_rx).size() == 1);
  CHECK(f.probes_of(ProbeKind::pkt_rx)[0].arg[0] == 100);
  REQUIRE(f.probes_of(ProbeKind::rx).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx)[0].arg[0] == 1);
  CHECK(f.probes_of(ProbeKind::rx)[0].arg[1] == 0);
  REQUIRE(f.rec.intrs.size() == 1);
  CHECK(f.rec.intrs[0].kind == InterruptKind::poll);
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);  // no buffer page stays held
}

TEST_CASE("rx plain: VERSION_1 makes the header 12 bytes with num_buffers = 1") {
  RxFixture f(VIRTIO_F_VERSION_1);
  CHECK(f.link.rx_header_len() == 12);
  f.fill(kData, 2048, 0xaa);
  f.add_buf(kData, 2048);
  const Bytes fr = make_frame(200);
  CHECK(f.deliver1(fr).accepted == 1);
  CHECK(f.q.used_elem(0).len == 212);
  const VirtioNetHdr h = read_hdr(f, kData);
  CHECK(h.flags == 0);
  CHECK(h.gso_type == 0);
  CHECK(h.num_buffers == 1);
  CHECK(f.read(kData + 12, 200) == fr);
}

TEST_CASE("rx plain: a frame spread over a chain of several descriptors") {
  RxFixture f(0);
  // 50 + 2000 bytes: 40 frame bytes after the header, then 960.
  const uint16_t head = f.q.add_chain({{kData, 50, kW}, {kData + 0x1000, 2000, kW}});
  const Bytes fr = make_frame(1000);
  CHECK(f.deliver1(fr).accepted == 1);
  CHECK(f.q.used_elem(0).id == head);
  CHECK(f.q.used_elem(0).len == 1010);
  CHECK(f.read(kData + 10, 40) == slice(fr, 0, 40));
  CHECK(f.read(kData + 0x1000, 960) == slice(fr, 40, 960));
  // The listener saw the header and both data pieces, at chain offsets.
  REQUIRE(f.rec.writes.size() == 3);
  CHECK(f.rec.writes[0].off == 10);
  CHECK(f.rec.writes[0].data == slice(fr, 0, 40));
  CHECK(f.rec.writes[1].off == 50);
  CHECK(f.rec.writes[1].data == slice(fr, 40, 960));
  CHECK(f.rec.writes[2].off == 0);
  CHECK(f.rec.writes[2].data == Bytes(10, 0));
  CHECK(f.rec.writes[2].cookie == head);
}

TEST_CASE("rx plain: rs_too_short + rs_bad_rx_frame; used len = max(copied, 60 + hdr); header untouched") {
  RxFixture f(0);
  f.fill(kData, 0x3000, 0xaa);
  const uint16_t h0 = f.add_buf(kData, 500);           // 490 frame bytes fit
  const uint16_t h1 = f.add_buf(kData + 0x1000, 40);   // 30 fit: length raised to 70
  const Bytes fr = make_frame(1000);
  const RxBatchResult res = f.deliver({rx_frame(fr), rx_frame(fr)});
  CHECK(res.accepted == 0);
  CHECK(res.dropped == 2);
  CHECK(f.q.used_idx() == 2);
  CHECK(f.q.used_elem(0).id == h0);
  CHECK(f.q.used_elem(0).len == 490);
  CHECK(f.q.used_elem(1).id == h1);
  CHECK(f.q.used_elem(1).len == 70);
  CHECK(f.read(kData, 10) == Bytes(10, 0xaa));  // not zeroed on too_short
  CHECK(f.read(kData + 10, 490) == slice(fr, 0, 490));
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::too_short, 2}, {RsCounter::bad_rx_frame, 2}}));
  const auto ts = f.probes_of(ProbeKind::too_short);
  REQUIRE(ts.size() == 2);
  CHECK(ts[0].arg[0] == h0);
  CHECK(ts[0].arg[1] == 490);
  CHECK(ts[0].arg[2] == 1000);
  CHECK(ts[1].arg[1] == 30);
  REQUIRE(f.probes_of(ProbeKind::bad_rx_frame).size() == 2);
  CHECK(f.probes_of(ProbeKind::bad_rx_frame)[1].arg[0] == h1);
  CHECK(f.ring().vts == vts(0, 0, 2, 2));
  CHECK(f.rec.intrs.size() == 1);
}

TEST_CASE("rx plain: first piece shorter than the header is zeroed; bad frame, len 60 + hdr") {
  RxFixture f(VIRTIO_F_VERSION_1);  // 12-byte header
  f.fill(kData, 64, 0xaa);
  const uint16_t head = f.q.add_chain({{kData, 8, kW}, {kData + 0x1000, 2000, kW}});
  const Bytes fr = make_frame(100);
  CHECK(f.deliver1(fr).dropped == 1);
  CHECK(f.q.used_elem(0).id == head);
  CHECK(f.q.used_elem(0).len == 72);
  CHECK(f.read(kData, 8) == Bytes(8, 0));
  CHECK(f.read(kData + 8, 1) == Bytes(1, 0xaa));
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::bad_rx_frame, 1}}));
  CHECK(f.ring().vts == vts(0, 0, 1, 1));
}

TEST_CASE("rx plain: no chain is ENOSPC: every frame dropped, no rs_no_space, one interrupt decision") {
  RxFixture f(0);
  const Bytes fr = make_frame(100);
  const RxBatchResult res = f.deliver({rx_frame(fr), rx_frame(fr), rx_frame(fr)});
  CHECK(res.accepted == 0);
  CHECK(res.dropped == 3);
  CHECK(f.q.used_idx() == 0);
  CHECK_RS(f.ring().rs, RingStats{});
  CHECK(f.ring().vts == vts(0, 0, 0, 3));
  CHECK(f.rec.intrs.size() == 1);  // even though every frame was dropped
  REQUIRE(f.probes_of(ProbeKind::rx).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx)[0].arg[0] == 0);
  CHECK(f.probes_of(ProbeKind::rx)[0].arg[1] == 3);
}

TEST_CASE("rx: DATA_VALID and GSO fields under GUEST_CSUM / GUEST_TSO4 (section 4.3)") {
  const Bytes fr = make_frame(1000);
  RxMeta ok;
  ok.cksum_ok = true;
  RxMeta lso = ok;
  lso.hw_lso = true;
  lso.lso_mss = 1448;
  SUBCASE("without GUEST_CSUM nothing is set") {
    RxFixture f(0);
    f.add_buf(kData, 2048);
    CHECK(f.deliver1(fr, lso).accepted == 1);
    const VirtioNetHdr h = read_hdr(f, kData);
    CHECK(h.flags == 0);
    CHECK(h.gso_type == 0);
    CHECK(h.gso_size == 0);
  }
  SUBCASE("GUEST_CSUM: DATA_VALID only; GSO needs GUEST_TSO4") {
    RxFixture f(VIRTIO_NET_F_GUEST_CSUM);
    f.add_buf(kData, 2048);
    f.add_buf(kData + 0x1000, 2048);
    CHECK(f.deliver({rx_frame(fr, lso), rx_frame(fr)}).accepted == 2);
    VirtioNetHdr h = read_hdr(f, kData);
    CHECK(h.flags == VIRTIO_NET_HDR_F_DATA_VALID);
    CHECK(h.gso_type == 0);
    h = read_hdr(f, kData + 0x1000);
    CHECK(h.flags == 0);
  }
  SUBCASE("GUEST_TSO4: gso_type TCPV4, gso_size = MSS; hdr_len and csum fields stay 0") {
    RxFixture f(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_MRG_RXBUF);
    f.add_buf(kData, 2048);
    CHECK(f.deliver1(fr, lso).accepted == 1);
    const VirtioNetHdr h = read_hdr(f, kData);
    CHECK(h.flags == VIRTIO_NET_HDR_F_DATA_VALID);
    CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4);
    CHECK(h.gso_size == 1448);
    CHECK(h.hdr_len == 0);
    CHECK(h.csum_start == 0);
    CHECK(h.csum_offset == 0);
    CHECK(h.num_buffers == 1);
    CHECK(f.q.used_elem(0).len == 1012);
  }
}

// --- merged receive (viona_recv_merged) ---------------------------------

// The bug 14032 seed. A 1536-byte buffer at page offset 0xe00 (3584) is
// split by paged memory into pieces of 512 and 1024 bytes. The first piece
// takes the 12-byte header and 500 frame bytes; the second gets
// copy(seek 500, room 1024) -> 1014 and the frame ends: the trace of the
// bug report, copy_mblk(0, 500) -> 500, copy_mblk(500, 1024) -> 1014.
TEST_CASE("rx merged: illumos 14032 seed, 1514 bytes in pieces of 500 + 1014 (both modes)") {
  const uint64_t buf = kData + 0xe00;
  const Bytes fr = make_frame(1514);
  for (bool quirk : {false, true}) {
    CAPTURE(quirk);
    RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
    f.link.quirks.set(QuirkKind::illumos_14032, quirk);
    const uint16_t head = f.add_buf(buf, 1536);
    const RxBatchResult res = f.deliver1(fr);
    REQUIRE(f.rec.chains.size() == 1);
    CHECK(f.rec.chains[0].npieces == 2);
    REQUIRE(f.rec.writes.size() == 3);
    CHECK(f.rec.writes[0].off == 0);
    CHECK(f.rec.writes[0].data.size() == 12);
    CHECK(f.rec.writes[1].off == 12);
    CHECK(f.rec.writes[1].data.size() == 500);
    CHECK(f.rec.writes[2].off == 512);
    CHECK(f.rec.writes[2].data.size() == 1014);
    // The bytes are right either way (the second copy's seek is still 500);
    // only the total is wrong under the quirk.
    CHECK(f.read(buf + 12, 1514) == fr);
    CHECK(read_hdr(f, buf).num_buffers == 1);
    CHECK(f.q.used_idx() == 1);
    CHECK(f.q.used_elem(0).id == head);
    CHECK(f.q.used_elem(0).len == 1526);
    if (!quirk) {
      CHECK(res.accepted == 1);
      CHECK_RS(f.ring().rs, RingStats{});
      CHECK(f.probes_of(ProbeKind::too_short).empty());
      CHECK(f.ring().vts == vts(1, 1514, 0, 0));
    } else {
      CHECK(res.dropped == 1);
      CHECK_RS(f.ring().rs, rs_only({{RsCounter::too_short, 1}, {RsCounter::bad_rx_frame, 1}}));
      const auto ts = f.probes_of(ProbeKind::too_short);
      REQUIRE(ts.size() == 1);
      CHECK(ts[0].arg[0] == head);
      CHECK(ts[0].arg[1] == 2014);
      CHECK(ts[0].arg[2] == 1514);
      CHECK(f.probes_of(ProbeKind::bad_rx_frame).size() == 1);
      CHECK(f.ring().vts == vts(0, 0, 1, 1));
    }
  }
}

// Six chains whose 1536-byte buffers each start at page offset 0xc00, so
// every chain is two pieces (1024 + 512).
void post_straddling(RxFixture& f, int n, std::vector<uint16_t>* heads) {
  for (int k = 0; k < n; k++) heads->push_back(f.add_buf(kData + 0x1000ull * k + 0xc00, 1536));
}
uint64_t straddling_buf(int k) { return kData + 0x1000ull * k + 0xc00; }

TEST_CASE("rx merged: 9000-byte jumbo frame over page-straddling 1536-byte buffers") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.mtu = 9000;
  std::vector<uint16_t> heads;
  post_straddling(f, 6, &heads);
  const Bytes fr = make_frame(9000);
  CHECK(f.deliver1(fr).accepted == 1);
  // 12 + 9000 = 9012 = 5 * 1536 + 1332.
  const uint32_t want[6] = {1536, 1536, 1536, 1536, 1536, 1332};
  CHECK(f.q.used_idx() == 6);
  for (int k = 0; k < 6; k++) {
    CAPTURE(k);
    CHECK(f.q.used_elem(static_cast<uint16_t>(k)).id == heads[k]);
    CHECK(f.q.used_elem(static_cast<uint16_t>(k)).len == want[k]);
  }
  CHECK(f.rec.publishes.size() == 1);  // one batch publish
  CHECK(f.rec.publishes[0] == 6);
  CHECK(read_hdr(f, straddling_buf(0)).num_buffers == 6);
  CHECK(f.read(straddling_buf(0) + 12, 1524) == slice(fr, 0, 1524));
  for (int k = 1; k < 5; k++) CHECK(f.read(straddling_buf(k), 1536) == slice(fr, 1524 + 1536 * (k - 1), 1536));
  CHECK(f.read(straddling_buf(5), 1332) == slice(fr, 1524 + 1536 * 4, 1332));
  CHECK_RS(f.ring().rs, RingStats{});
  CHECK(f.ring().vts == vts(1, 9000, 0, 0));
  CHECK(f.g.mem.holds_outstanding() == f.ring_holds);
  // The listener's writes rebuild exactly what the guest sees.
  std::vector<Bytes> seen(6, Bytes(1536, 0));
  for (const auto& w : f.rec.writes) {
    int k = 0;
    while (heads[k] != w.cookie) k++;
    std::memcpy(seen[k].data() + w.off, w.data.data(), w.data.size());
  }
  for (int k = 0; k < 6; k++) CHECK(slice(seen[k], 0, want[k]) == f.read(straddling_buf(k), want[k]));
}

TEST_CASE("rx merged: illumos 14032 on the jumbo frame: wrong seek offsets, too_short 10024 9000") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.mtu = 9000;
  f.link.quirks.set(QuirkKind::illumos_14032);
  std::vector<uint16_t> heads;
  post_straddling(f, 6, &heads);
  const Bytes fr = make_frame(9000);
  CHECK(f.deliver1(fr).dropped == 1);
  // copied after each copy: 1012, 2536 | 3560, 5096 | 6120, 7656 | 8680,
  // 10024 (the last copy, seek 8680, finds only 320 bytes and ends the frame).
  CHECK(f.q.used_idx() == 4);
  const uint32_t want[4] = {1536, 1536, 1536, 1344};
  for (int k = 0; k < 4; k++) {
    CAPTURE(k);
    CHECK(f.q.used_elem(static_cast<uint16_t>(k)).id == heads[k]);
    CHECK(f.q.used_elem(static_cast<uint16_t>(k)).len == want[k]);
  }
  CHECK(f.ring().cur_aidx() == 4);  // two chains left for the guest
  CHECK(read_hdr(f, straddling_buf(0)).num_buffers == 4);
  CHECK(f.read(straddling_buf(0) + 12, 1012) == slice(fr, 0, 1012));
  CHECK(f.read(straddling_buf(0) + 1024, 512) == slice(fr, 1012, 512));
  CHECK(f.read(straddling_buf(1), 1024) == slice(fr, 2536, 1024));  // should have been 1524
  CHECK(f.read(straddling_buf(1) + 1024, 512) == slice(fr, 3560, 512));
  CHECK(f.read(straddling_buf(3), 1024) == slice(fr, 7656, 1024));
  CHECK(f.read(straddling_buf(3) + 1024, 320) == slice(fr, 8680, 320));
  const auto ts = f.probes_of(ProbeKind::too_short);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].arg[0] == heads[3]);
  CHECK(ts[0].arg[1] == 10024);
  CHECK(ts[0].arg[2] == 9000);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::too_short, 1}, {RsCounter::bad_rx_frame, 1}}));
  CHECK(f.ring().vts == vts(0, 0, 1, 1));
}

TEST_CASE("rx merged: illumos 14032 can end the loop with a freshly popped, empty chain") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.quirks.set(QuirkKind::illumos_14032);
  // Chain 0 = 256 + 1000 bytes. Frame of 1400: copies 244 then 1000 (seek
  // 244), so copied = 244 + 1244 = 1488 >= 1400 although 156 bytes are left.
  // The frame is not exhausted, so chain 1 is popped; then the loop test
  // (copied < size) fails before anything is copied into it.
  const uint16_t c0 = f.q.add_chain({{kData, 256, kW}, {kData + 0x1000, 1000, kW}});
  const uint16_t c1 = f.add_buf(kData + 0x2000, 2048);
  CHECK(f.deliver1(make_frame(1400)).dropped == 1);
  CHECK(f.q.used_idx() == 2);
  CHECK(f.q.used_elem(0).id == c0);
  CHECK(f.q.used_elem(0).len == 1256);
  // viona would push an uninitialised element here; the port pushes the
  // chain it popped with length 0 (see rx.cpp).
  CHECK(f.q.used_elem(1).id == c1);
  CHECK(f.q.used_elem(1).len == 0);
  CHECK(read_hdr(f, kData).num_buffers == 2);
  const auto ts = f.probes_of(ProbeKind::too_short);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].arg[0] == c1);
  CHECK(ts[0].arg[1] == 1488);
  CHECK(ts[0].arg[2] == 1400);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::too_short, 1}, {RsCounter::bad_rx_frame, 1}}));
}

TEST_CASE("rx_input: with several pairs in use the ring comes from the first frame's hash") {
  GuestFixture g;
  Link link(&g.mem, 2);
  link.usepairs = 2;
  MockSplitQueue q0(g.mem, kQueueBase, 16), q2(g.mem, kQueueBase + 0x10000, 16);
  REQUIRE(q0.attach(link, 0) == 0);
  REQUIRE(q2.attach(link, 2) == 0);
  for (int k = 0; k < 8; k++) {
    q0.add_chain({{kData + 0x1000ull * k, 2048, kW}});
    q2.add_chain({{kData + 0x10000 + 0x1000ull * k, 2048, kW}});
  }
  // Frames differing in their first bytes spread over both rings, and a
  // batch lands whole on the ring of its first frame.
  int on0 = 0, on2 = 0;
  for (uint8_t seed = 0; seed < 8; seed++) {
    const Bytes a = make_frame(100, kOurMac, seed), b = make_frame(100, kOurMac, 99);
    const std::vector<RxFrame> in{rx_frame(a), rx_frame(b)};
    const uint16_t u0 = q0.used_idx(), u2 = q2.used_idx();
    CHECK(link.rx_input(in.data(), in.size()).accepted == 2);
    const int d0 = q0.used_idx() - u0, d2 = q2.used_idx() - u2;
    CHECK(d0 + d2 == 2);
    CHECK((d0 == 0 || d2 == 0));
    on0 += d0 / 2;
    on2 += d2 / 2;
    if (on0 + on2 >= 4 && on0 > 0 && on2 > 0) break;
  }
  CHECK(on0 > 0);
  CHECK(on2 > 0);
}

TEST_CASE("rx merged: illumos-13783-batch-slot writes every element into one slot") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.mtu = 9000;
  f.link.quirks.set(QuirkKind::illumos_13783_batch_slot);
  std::vector<uint16_t> heads;
  post_straddling(f, 6, &heads);
  // Stale entries the driver can recognise.
  for (uint16_t s = 0; s < 6; s++) {
    const VringUsedElem stale{0xdead, 0xbeef};
    REQUIRE(f.g.mem.write_obj(f.q.used_pa() + 4 + 8ull * s, stale));
  }
  CHECK(f.deliver1(make_frame(9000)).accepted == 1);
  CHECK(f.q.used_idx() == 6);
  CHECK(f.q.used_elem(0).id == heads[5]);  // the last element landed in slot 0
  CHECK(f.q.used_elem(0).len == 1332);
  for (uint16_t s = 1; s < 6; s++) {
    CAPTURE(s);
    CHECK(f.q.used_elem(s).id == 0xdead);
    CHECK(f.q.used_elem(s).len == 0xbeef);
  }
}

TEST_CASE("rx merged: underrun pushes the consumed chains with their partial lengths") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.mtu = 9000;
  std::vector<uint16_t> heads;
  post_straddling(f, 2, &heads);
  const Bytes fr = make_frame(4000);
  CHECK(f.deliver1(fr).dropped == 1);
  CHECK(f.q.used_idx() == 2);
  CHECK(f.q.used_elem(0).len == 1536);
  CHECK(f.q.used_elem(1).id == heads[1]);
  CHECK(f.q.used_elem(1).len == 1536);
  CHECK(read_hdr(f, straddling_buf(0)).num_buffers == 2);
  CHECK(f.read(straddling_buf(1), 1536) == slice(fr, 1524, 1536));
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_merge_underrun, 1}}));
  REQUIRE(f.probes_of(ProbeKind::rx_merge_underrun).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx_merge_underrun)[0].arg[0] == heads[1]);
  CHECK(f.ring().vts == vts(0, 0, 1, 1));
}

TEST_CASE("rx merged: overrun when a frame would need a 33rd chain") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.mtu = 9000;
  std::vector<uint16_t> heads;
  for (int k = 0; k < 33; k++) heads.push_back(f.add_buf(kData + 64ull * k, 64));
  // 32 chains of 64 bytes hold 12 + 2036 frame bytes; the frame has 2100.
  const Bytes fr = make_frame(2100);
  CHECK(f.deliver1(fr).dropped == 1);
  CHECK(f.q.used_idx() == 32);
  for (uint16_t k = 0; k < 32; k++) {
    CAPTURE(k);
    CHECK(f.q.used_elem(k).id == heads[k]);
    CHECK(f.q.used_elem(k).len == 64);
  }
  CHECK(f.ring().cur_aidx() == 32);  // the 33rd chain was never popped
  CHECK(read_hdr(f, kData).num_buffers == 32);
  CHECK(f.read(kData + 12, 2036) == slice(fr, 0, 2036));
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_merge_overrun, 1}}));
  REQUIRE(f.probes_of(ProbeKind::rx_merge_overrun).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx_merge_overrun)[0].arg[0] == heads[31]);
  CHECK(f.ring().vts == vts(0, 0, 1, 1));
}

TEST_CASE("rx merged: first piece under 12 bytes is zeroed and pushed with its own length") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.fill(kData, 16, 0xaa);
  const uint16_t head = f.q.add_chain({{kData, 8, kW}, {kData + 0x1000, 2000, kW}});
  CHECK(f.deliver1(make_frame(100)).dropped == 1);
  CHECK(f.q.used_elem(0).id == head);
  CHECK(f.q.used_elem(0).len == 8);
  CHECK(f.read(kData, 9) == Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0xaa}));
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::bad_rx_frame, 1}}));
}

TEST_CASE("rx merged: ENOSPC counts rs_no_space once and drops the rest of the batch") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.add_buf(kData, 2048);
  const Bytes fr = make_frame(100);
  const RxBatchResult res = f.deliver({rx_frame(fr), rx_frame(fr), rx_frame(fr), rx_frame(fr)});
  CHECK(res.accepted == 1);
  CHECK(res.dropped == 3);
  // Frames 3 and 4 are not tried: no second rs_no_space.
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::no_space, 1}}));
  CHECK(f.probes_of(ProbeKind::no_space).size() == 1);
  CHECK(f.ring().vts == vts(1, 100, 0, 3));
  CHECK(f.rec.intrs.size() == 1);
  // A chain posted afterwards serves the next batch.
  f.add_buf(kData + 0x1000, 2048);
  CHECK(f.deliver1(fr).accepted == 1);
  CHECK(f.q.used_idx() == 2);
  CHECK(f.ring().vts == vts(2, 200, 0, 3));
}

// --- padding (section 4.2 step 4) --------------------------------------

TEST_CASE("rx: 56-byte (VLAN-stripped) frames get the shared 4-byte pad, uncounted") {
  RxFixture f(0);
  f.fill(kData, 128, 0xaa);
  f.add_buf(kData, 2048);
  const Bytes fr = make_frame(56);
  CHECK(f.deliver1(fr).accepted == 1);
  CHECK(f.q.used_elem(0).len == 70);
  CHECK(f.read(kData + 10, 56) == fr);
  CHECK(f.read(kData + 66, 4) == Bytes(4, 0));
  CHECK(f.read(kData + 70, 1) == Bytes(1, 0xaa));
  CHECK_RS(f.ring().rs, RingStats{});
  CHECK(f.ring().vts == vts(1, 60, 0, 0));
  CHECK(f.probes_of(ProbeKind::pkt_rx)[0].arg[0] == 60);
}

TEST_CASE("rx: short frames are padded with zeros to 60 (rs_rx_pad_short); pre-OS-6815 does not") {
  const Bytes fr = make_frame(42);  // an ARP request's size
  SUBCASE("padded") {
    RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
    f.fill(kData, 128, 0xaa);
    f.add_buf(kData, 2048);
    CHECK(f.deliver1(fr).accepted == 1);
    CHECK(f.q.used_elem(0).len == 72);
    CHECK(f.read(kData + 12, 42) == fr);
    CHECK(f.read(kData + 54, 18) == Bytes(18, 0));
    CHECK(f.read(kData + 72, 1) == Bytes(1, 0xaa));
    CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_pad_short, 1}}));
    REQUIRE(f.probes_of(ProbeKind::rx_pad_short).size() == 1);
    CHECK(f.probes_of(ProbeKind::rx_pad_short)[0].arg[0] == 18);
    CHECK(f.ring().vts == vts(1, 60, 0, 0));
    // The pad bytes are reported to the listener too.
    REQUIRE(f.rec.writes.size() == 2);
    CHECK(f.rec.writes[1].off == 12);
    CHECK(f.rec.writes[1].data.size() == 60);
  }
  SUBCASE("pre-OS-6815") {
    RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
    f.link.quirks.set(QuirkKind::pre_os_6815);
    f.fill(kData, 128, 0xaa);
    f.add_buf(kData, 2048);
    f.add_buf(kData + 0x1000, 2048);
    const Bytes v = make_frame(56);
    CHECK(f.deliver({rx_frame(fr), rx_frame(v)}).accepted == 2);
    CHECK(f.q.used_elem(0).len == 54);
    CHECK(f.q.used_elem(1).len == 68);
    CHECK(f.read(kData + 54, 1) == Bytes(1, 0xaa));
    CHECK_RS(f.ring().rs, RingStats{});
    CHECK(f.ring().vts == vts(2, 98, 0, 0));
  }
}

TEST_CASE("rx: the QinQ capture's frames are delivered byte for byte") {
  const auto frames = read_pcap_frames(shared_pcap("tcpdump__802.1ad_QinQ.pcap"));
  REQUIRE(frames.size() == 2);
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.link.promisc = PromiscMode::VIONA_PROMISC_ALL;
  f.add_buf(kData, 2048);
  f.add_buf(kData + 0x1000, 2048);
  std::vector<RxFrame> in{rx_frame(frames[0]), rx_frame(frames[1])};
  CHECK(f.link.rx_input(in.data(), in.size()).accepted == 2);
  for (int k = 0; k < 2; k++) {
    const uint32_t len = static_cast<uint32_t>(frames[k].size());
    const uint32_t padded = len < 60 ? 60 : len;
    CHECK(f.q.used_elem(static_cast<uint16_t>(k)).len == 12 + padded);
    CHECK(f.read(kData + 0x1000ull * k + 12, len) == frames[k]);
  }
}

// --- MTU, LSO and GRO fallback (section 4.2 step 3) -----------------------

TEST_CASE("rx: frames over MTU + 14 are dropped (rs_rx_drop_over_mtu) unless LSO the guest takes") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.add_buf(kData, 2048);
  const Bytes big = make_frame(1515);
  const Bytes fits = make_frame(1514);
  RxMeta lso_no_mss;
  lso_no_mss.hw_lso = true;
  const RxBatchResult res = f.deliver({rx_frame(big), rx_frame(big, lso_no_mss), rx_frame(fits)});
  CHECK(res.accepted == 1);
  CHECK(res.dropped == 2);
  CHECK(f.q.used_idx() == 1);
  CHECK(f.q.used_elem(0).len == 1526);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_drop_over_mtu, 2}}));
  const auto p = f.probes_of(ProbeKind::rx_drop_over_mtu);
  REQUIRE(p.size() == 2);
  CHECK(p[0].arg[0] == 1515);
  CHECK(f.ring().vts == vts(1, 1514, 2, 2));
}

TEST_CASE("rx: an LSO frame within 65550 bytes goes whole to a GUEST_TSO4 guest") {
  const auto frames = read_pcap_frames(shared_pcap("tcpdump__gso-ipv4.pcap"));
  REQUIRE(frames.size() == 1);
  const Bytes& fr = frames[0];
  REQUIRE(fr.size() == 7306);
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4);
  std::vector<uint16_t> heads;
  post_straddling(f, 5, &heads);
  RxMeta m;
  m.hw_lso = true;
  m.lso_mss = 1448;
  CHECK(f.deliver1(fr, m).accepted == 1);
  // 12 + 7306 = 7318 = 4 * 1536 + 1174.
  CHECK(f.q.used_idx() == 5);
  CHECK(f.q.used_elem(4).len == 1174);
  const VirtioNetHdr h = read_hdr(f, straddling_buf(0));
  CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4);
  CHECK(h.gso_size == 1448);
  CHECK(h.flags == 0);  // cksum_ok not claimed
  CHECK(h.num_buffers == 5);
  CHECK(f.read(straddling_buf(0) + 12, 1524) == slice(fr, 0, 1524));
  CHECK(f.read(straddling_buf(4), 1174) == slice(fr, 1524 + 3 * 1536, 1174));
  CHECK_RS(f.ring().rs, RingStats{});
}

TEST_CASE("rx: BIG TCP to a guest without GUEST_TSO4 is segmented in software (rs_rx_gro_fallback)") {
  const auto frames = read_pcap_frames(shared_pcap("tcpdump__bigtcp-ipv4.pcap"));
  REQUIRE(frames.size() == 1);
  const Bytes& fr = frames[0];
  REQUIRE(fr.size() == 80066);
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM, 128);
  for (int k = 0; k < 60; k++) f.add_buf(kData + 0x1000ull * k, 2048);
  RxMeta m;
  m.hw_lso = true;
  m.lso_mss = 1448;
  const RxBatchResult res = f.deliver1(fr, m);
  // 80000 payload bytes / 1448 = 55 full segments + 360.
  CHECK(res.accepted == 56);
  CHECK(res.dropped == 0);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_gro_fallback, 1}}));
  const auto g = f.probes_of(ProbeKind::rx_gro_fallback);
  REQUIRE(g.size() == 1);
  CHECK(g[0].arg[0] == 80066);
  CHECK(g[0].arg[1] == 56);
  CHECK(f.ring().vts == vts(56, 55 * 1514 + 426, 0, 0));
  REQUIRE(f.q.used_idx() == 56);
  Bytes payload;
  for (uint16_t k = 0; k < 56; k++) {
    CAPTURE(k);
    const uint32_t seg_len = k < 55 ? 1514 : 426;
    CHECK(f.q.used_elem(k).len == 12 + seg_len);
    const VirtioNetHdr h = read_hdr(f, kData + 0x1000ull * k);
    CHECK(h.flags == VIRTIO_NET_HDR_F_DATA_VALID);  // checksums computed in software
    CHECK(h.gso_type == 0);
    CHECK(h.num_buffers == 1);
    const Bytes seg = f.read(kData + 0x1000ull * k + 12, seg_len);
    CHECK(slice(seg, 0, 12) == slice(fr, 0, 12));  // MAC addresses
    CHECK(ipv4_header_checksum_ok(seg));
    CHECK(tcp_checksum_ok(seg));
    CHECK(static_cast<uint32_t>((seg[16] << 8) | seg[17]) == seg_len - 14);  // IPv4 total length
    payload.insert(payload.end(), seg.begin() + 66, seg.end());
  }
  CHECK(payload == slice(fr, 66, 80000));
}

TEST_CASE("rx: GRO fallback failure is an error but not a drop (rs_rx_gro_fallback_fail)") {
  RxFixture f(VIRTIO_NET_F_MRG_RXBUF);
  f.add_buf(kData, 2048);
  Bytes junk = make_frame(3000);  // not TCP/IPv4: the pattern's ethertype is no 0x0800
  RxMeta m;
  m.hw_lso = true;
  m.lso_mss = 1448;
  const RxBatchResult res = f.deliver1(junk, m);
  CHECK(res.accepted == 0);
  CHECK(res.dropped == 0);
  CHECK(f.ring().cur_aidx() == 0);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_gro_fallback_fail, 1}}));
  REQUIRE(f.probes_of(ProbeKind::rx_gro_fallback_fail).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx_gro_fallback_fail)[0].arg[0] == 3000);
  CHECK(f.ring().vts == vts(0, 0, 1, 0));
  CHECK(f.rec.intrs.size() == 1);
}

// --- steering, multicast, hooks, ring state (sections 4.1, 4.2) ----------

TEST_CASE("rx mcast callback: only multicast passes; unparseable frames bump rs_rx_mcast_check") {
  RxFixture f(0);
  for (int k = 0; k < 4; k++) f.add_buf(kData + 0x1000ull * k, 2048);
  const Bytes mc = make_frame(100, kMcast, 3);
  const Bytes bc = make_frame(100, kBcast);
  const Bytes uc = make_frame(100, kOurMac);
  const Bytes runt = make_frame(10, kMcast);
  const RxBatchResult res = f.link.rx_deliver_mcast(0, std::vector<RxFrame>{rx_frame(bc), rx_frame(runt), rx_frame(mc), rx_frame(uc)}.data(), 4);
  CHECK(res.accepted == 1);
  CHECK(res.dropped == 0);
  CHECK(f.q.used_idx() == 1);
  CHECK(f.read(kData + 10, 100) == mc);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_mcast_check, 1}}));
  CHECK(f.ring().vts == vts(1, 100, 0, 0));  // filtered frames are counted nowhere

  // Nothing multicast: rx_common is not entered, no interrupt decision.
  f.rec.clear();
  RxFrame only_bc = rx_frame(bc);
  CHECK(f.link.rx_deliver_mcast(0, &only_bc, 1).accepted == 0);
  CHECK(f.rec.intrs.empty());
  CHECK(f.probes_of(ProbeKind::rx).empty());
}

TEST_CASE("rx_input: promiscuous modes NONE, MULTI and ALL") {
  const Bytes ours = make_frame(100, kOurMac, 1);
  const Bytes other = make_frame(100, kOtherMac, 2);
  const Bytes bc = make_frame(100, kBcast, 3);
  const Bytes mc = make_frame(100, kMcast, 4);
  const std::vector<RxFrame> in{rx_frame(ours), rx_frame(other), rx_frame(bc), rx_frame(mc)};
  struct Case {
    PromiscMode mode;
    std::vector<const Bytes*> want;  // in used-ring order
  };
  const Case cases[] = {
      {PromiscMode::VIONA_PROMISC_NONE, {&ours, &bc}},
      {PromiscMode::VIONA_PROMISC_MULTI, {&mc, &ours, &bc}},  // the multicast callback runs first
      {PromiscMode::VIONA_PROMISC_ALL, {&ours, &other, &bc, &mc}},
  };
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.mode));
    RxFixture f(0);
    f.link.promisc = c.mode;
    for (int k = 0; k < 4; k++) f.add_buf(kData + 0x1000ull * k, 2048);
    const RxBatchResult res = f.link.rx_input(in.data(), in.size());
    CHECK(res.accepted == c.want.size());
    CHECK(res.dropped == 0);
    REQUIRE(f.q.used_idx() == c.want.size());
    for (size_t k = 0; k < c.want.size(); k++) CHECK(f.read(kData + 0x1000ull * k + 10, 100) == *c.want[k]);
    CHECK_RS(f.ring().rs, RingStats{});
  }
}

TEST_CASE("rx: an inbound hook that returns non-zero drops the frame (rs_rx_hookdrop)") {
  RxFixture f(0);
  f.add_buf(kData, 2048);
  f.add_buf(kData + 0x1000, 2048);
  f.link.rx_hook = [](const uint8_t* p, uint32_t len) { return p[6] == 0xee ? 13 : 0; };
  Bytes bad = make_frame(100);
  bad[6] = 0xee;
  const Bytes good = make_frame(100);
  const RxBatchResult res = f.deliver({rx_frame(bad), rx_frame(good)});
  CHECK(res.accepted == 1);
  CHECK(res.dropped == 1);
  CHECK(f.q.used_idx() == 1);
  CHECK(f.read(kData + 10, 100) == good);
  CHECK_RS(f.ring().rs, rs_only({{RsCounter::rx_hookdrop, 1}}));
  REQUIRE(f.probes_of(ProbeKind::rx_hook_drop).size() == 1);
  CHECK(f.probes_of(ProbeKind::rx_hook_drop)[0].arg[0] == 13);
  CHECK(f.ring().vts == vts(1, 100, 0, 1));
}

TEST_CASE("rx: frames to a ring that is not in VRS_RUN are dropped silently") {
  const Bytes fr = make_frame(100);
  SUBCASE("INIT (initialised, never kicked)") {
    RxFixture f(0, 64, false);
    REQUIRE(f.link.ring_init(0, 64, kQueueBase) == 0);
    f.add_buf(kData, 2048);
    const RxBatchResult res = f.deliver1(fr);
    CHECK(res.accepted == 0);
    CHECK(res.dropped == 0);
    CHECK(f.q.used_idx() == 0);
    CHECK(f.ring().cur_aidx() == 0);
    CHECK(f.ring().vts == TransferStats{});
    CHECK(f.rec.probes.empty());
    CHECK(f.rec.intrs.empty());
  }
  SUBCASE("RESET") {
    RxFixture f(0, 64, false);
    CHECK(f.deliver1(fr).accepted == 0);
    CHECK(f.rec.probes.empty());
  }
  SUBCASE("RUN with RENEW set") {
    RxFixture f(0);
    f.add_buf(kData, 2048);
    f.ring().state_flags |= VRSF_RENEW;
    CHECK(f.deliver1(fr).accepted == 0);
    CHECK(f.ring().cur_aidx() == 0);
    CHECK(f.rec.intrs.empty());
    CHECK(f.ring().vts == TransferStats{});
  }
}

}  // namespace test
}  // namespace viona
