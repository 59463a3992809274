// SPDX-License-Identifier: MIT
// tx_test.cpp: the TX path (viona_tx.c, behaviour spec section 5): header
// cursor, length limits, copy and loan modes, offload translation, drain loop.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "tests/support/guest_fixture.h"
#include "tests/support/independent_checksum.h"
#include "tests/support/mock_split_queue.h"
#include "tests/support/pcap_frames.h"
#include "viona/link.h"
#include "viona/tx.h"
#include "viona/tx_finish.h"
#include "viona/tx_loans.h"

namespace viona {
namespace test {
namespace {

constexpr uint16_t kTx = 1;  // TX ring of pair 0
constexpr uint16_t kQsz = 64;

struct Recorder : ProbeListener {
  std::vector<ProbeEvent> probes;
  std::vector<InterruptKind> intrs;
  void on_probe(const ProbeEvent& ev) override { probes.push_back(ev); }
  void on_interrupt(const Ring& ring, InterruptKind kind) override { intrs.push_back(kind); }
  std::vector<ProbeEvent> of(ProbeKind k) const {
    std::vector<ProbeEvent> out;
    for (const ProbeEvent& e : probes) {
      if (e.kind == k) out.push_back(e);
    }
    return out;
  }
};

struct CollectSink : TxSink {
  std::vector<TxPacket> pkts;
  std::function<void(TxPacket&)> on_transmit;  // runs before the packet is kept
  void transmit(TxPacket&& pkt) override {
    if (on_transmit) on_transmit(pkt);
    pkts.push_back(std::move(pkt));
  }
};

// The guest's virtio-net header, |len| = 10 or 12 bytes, little-endian.
std::vector<uint8_t> net_hdr(uint32_t len, uint8_t flags = 0, uint8_t gso_type = 0, uint16_t gso_size = 0,
                             uint16_t csum_start = 0, uint16_t csum_offset = 0) {
  std::vector<uint8_t> h(len, 0);
  h[0] = flags;
  h[1] = gso_type;
  h[4] = uint8_t(gso_size);
  h[5] = uint8_t(gso_size >> 8);
  h[6] = uint8_t(csum_start);
  h[7] = uint8_t(csum_start >> 8);
  h[8] = uint8_t(csum_offset);
  h[9] = uint8_t(csum_offset >> 8);
  return h;
}

void put16(std::vector<uint8_t>& f, size_t o, uint16_t v) {
  f[o] = uint8_t(v >> 8);
  f[o + 1] = uint8_t(v);
}

// Ethernet header with |ethertype| then |body_len| patterned bytes.
std::vector<uint8_t> eth_frame(uint16_t ethertype, size_t body_len) {
  std::vector<uint8_t> f(14 + body_len);
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  put16(f, 12, ethertype);
  for (size_t i = 14; i < f.size(); i++) f[i] = uint8_t(i * 7 + 3);
  return f;
}

// IPv4 + TCP (proto 6) or UDP (17), |payload| bytes; checksums left as the
// guest's partial (pseudo-header incl. length), not needed for translation.
std::vector<uint8_t> ipv4_frame(uint8_t proto, size_t payload) {
  const size_t l4 = proto == 6 ? 20 : 8;
  std::vector<uint8_t> f = eth_frame(0x0800, 20 + l4 + payload);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[1] = 0;
  put16(f, 16, uint16_t(20 + l4 + payload));
  put16(f, 18, 0x1234);  // id
  put16(f, 20, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = proto;
  put16(f, 24, 0xbeef);  // header checksum: garbage on purpose
  const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
  std::memcpy(ip + 12, addrs, 8);
  uint8_t* l4p = ip + 20;
  l4p[0] = 0x30;
  l4p[1] = 0x39;
  l4p[2] = 0x00;
  l4p[3] = 0x50;
  if (proto == 6) {
    l4p[12] = 0x50;  // data offset 5
    l4p[13] = 0x18;  // PSH|ACK
    l4p[16] = 0xaa;  // checksum field: garbage
    l4p[17] = 0x55;
  } else {
    put16(f, 14 + 20 + 4, uint16_t(8 + payload));
    l4p[6] = 0xaa;
    l4p[7] = 0x55;
  }
  return f;
}

std::vector<uint8_t> ipv6_udp_frame(size_t payload) {
  std::vector<uint8_t> f = eth_frame(0x86dd, 40 + 8 + payload);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x60;
  std::memset(ip + 1, 0, 3);
  put16(f, 18, uint16_t(8 + payload));
  ip[6] = 17;
  ip[7] = 64;
  for (int i = 0; i < 32; i++) ip[8 + i] = uint8_t(i);
  put16(f, 54 + 4, uint16_t(8 + payload));
  return f;
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct TxFixture {
  GuestFixture g;
  Link link{&g.mem};
  MockSplitQueue q{g.mem, GuestFixture::kBase, kQsz};
  Recorder rec;
  CollectSink sink;
  uint64_t next_buf = GuestFixture::kBase + 0x10000;

  explicit TxFixture(uint64_t features = 0, bool copy = true, uint16_t pad = 0, OffloadCaps caps = {}) {
    link.set_offload_caps(caps);
    link.set_features(features);
    link.params.tx_copy_data = copy;
    link.params.tx_header_pad = pad;
    link.set_listener(&rec);
    REQUIRE(q.attach(link, kTx) == 0);
    ring_holds = g.mem.holds_outstanding();  // the ring's own mapping
  }
  uint64_t ring_holds = 0;
  // Page holds taken for packets and not yet released.
  uint64_t packet_holds() const { return g.mem.holds_outstanding() - ring_holds; }
  Ring& ring() { return link.ring(kTx); }

  // Writes |bytes| (virtio header + frame) contiguously into fresh guest
  // memory and posts them as descriptors of the lengths in |split| (the
  // last one takes whatever is left). Returns the head index.
  uint16_t post(const std::vector<uint8_t>& bytes, std::vector<uint32_t> split = {}) {
    const uint64_t at = next_buf;
    next_buf += (bytes.size() + 2 * kPageSize) & ~kPageMask;
    REQUIRE(g.mem.write(at, bytes.data(), bytes.size()));
    std::vector<BufSpec> bufs;
    uint64_t off = 0;
    for (uint32_t len : split) {
      bufs.push_back(BufSpec{at + off, len, 0});
      off += len;
    }
    if (off < bytes.size()) bufs.push_back(BufSpec{at + off, uint32_t(bytes.size() - off), 0});
    last_addr = at;
    return q.add_chain(bufs);
  }
  uint64_t last_addr = 0;

  TxDrainResult drain() { return link.tx_drain(kTx, sink); }
};

RingStats only(RsCounter c) {
  RingStats s;
  s.at(c) = 1;
  return s;
}

TransferStats vts(uint64_t packets, uint64_t bytes, uint64_t errors, uint64_t drops) {
  TransferStats t;
  t.vts_packets = packets;
  t.vts_bytes = bytes;
  t.vts_errors = errors;
  t.vts_drops = drops;
  return t;
}

// ---------------------------------------------------------------------------
// Header cursor and lengths (viona_tx step 2-3)

TEST_CASE("tx: virtio header split across three descriptors, frame starting mid-descriptor") {
  // Newest viona reads the header through iov_bunch: any layout works.
  TxFixture fx(VIRTIO_F_VERSION_1);  // modern: 12-byte header
  const std::vector<uint8_t> frame = ipv4_frame(17, 100);
  const uint16_t head = fx.post(cat(net_hdr(12), frame), {5, 4, 20});
  const TxDrainResult r = fx.drain();
  CHECK(r.sent == 1);
  CHECK_FALSE(r.bailed);
  REQUIRE(fx.sink.pkts.size() == 1);
  CHECK(fx.sink.pkts[0].head == frame);
  CHECK(fx.sink.pkts[0].loaned.empty());
  CHECK(fx.sink.pkts[0].len == frame.size());
  CHECK(fx.sink.pkts[0].cookie == head);
  CHECK(fx.sink.pkts[0].loan == nullptr);
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).id == head);
  CHECK(fx.q.used_elem(0).len == 12 + frame.size());  // whole chain, header included
  CHECK(fx.ring().vts == vts(1, frame.size(), 0, 0));
  CHECK(fx.ring().rs == RingStats{});
  CHECK(fx.packet_holds() == 0);
}

TEST_CASE("tx: header and frame in one descriptor; legacy header is 10 bytes, 12 with MRG_RXBUF") {
  const std::vector<uint8_t> frame = ipv4_frame(6, 40);
  {
    TxFixture fx(0);
    CHECK(fx.link.tx_header_len() == 10);
    fx.post(cat(net_hdr(10), frame));
    CHECK(fx.drain().sent == 1);
    REQUIRE(fx.sink.pkts.size() == 1);
    CHECK(fx.sink.pkts[0].head == frame);
    CHECK(fx.q.used_elem(0).len == 10 + frame.size());
  }
  {
    // Legacy quirk: num_buffers is in TX headers too when MRG_RXBUF is on.
    TxFixture fx(VIRTIO_NET_F_MRG_RXBUF);
    CHECK(fx.link.tx_header_len() == 12);
    fx.post(cat(net_hdr(12), frame));
    CHECK(fx.drain().sent == 1);
    REQUIRE(fx.sink.pkts.size() == 1);
    CHECK(fx.sink.pkts[0].head == frame);
    CHECK(fx.q.used_elem(0).len == 12 + frame.size());
  }
}

TEST_CASE("tx: chain shorter than the virtio header is drop_fail, used len = chain length") {
  TxFixture fx(0);
  const uint16_t head = fx.post(std::vector<uint8_t>(8, 0x11), {3});  // 3 + 5 bytes
  const TxDrainResult r = fx.drain();
  CHECK(r.sent == 0);
  CHECK(fx.sink.pkts.empty());
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).id == head);
  CHECK(fx.q.used_elem(0).len == 8);
  CHECK(fx.ring().vts == vts(0, 0, 1, 1));  // drop_fail: error and drop
  const auto drops = fx.rec.of(ProbeKind::tx_drop);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].arg[0] == 0);  // no packet length without a header
  CHECK(drops[0].arg[1] == head);
  CHECK(fx.ring().rs == RingStats{});  // not an rs_* condition
}

TEST_CASE("tx: packet length must be 14..65535") {
  TxFixture fx(0);
  const uint16_t h13 = fx.post(cat(net_hdr(10), std::vector<uint8_t>(13, 1)));
  const uint16_t h14 = fx.post(cat(net_hdr(10), eth_frame(0x88b5, 0)));
  const uint16_t h64k = fx.post(cat(net_hdr(10), eth_frame(0x88b5, 65536 - 14)), {10});
  const uint16_t hmax = fx.post(cat(net_hdr(10), eth_frame(0x88b5, 65535 - 14)), {4, 4000});
  const TxDrainResult r = fx.drain();
  CHECK(r.sent == 2);
  REQUIRE(fx.sink.pkts.size() == 2);
  CHECK(fx.sink.pkts[0].cookie == h14);
  CHECK(fx.sink.pkts[0].len == 14);
  CHECK(fx.sink.pkts[1].cookie == hmax);
  CHECK(fx.sink.pkts[1].len == 65535);
  CHECK(fx.sink.pkts[1].head == eth_frame(0x88b5, 65535 - 14));
  REQUIRE(fx.q.used_idx() == 4);
  CHECK(fx.q.used_elem(0).id == h13);
  CHECK(fx.q.used_elem(0).len == 23);
  CHECK(fx.q.used_elem(1).id == h14);
  CHECK(fx.q.used_elem(1).len == 24);
  CHECK(fx.q.used_elem(2).id == h64k);
  CHECK(fx.q.used_elem(2).len == 65546);
  CHECK(fx.q.used_elem(3).id == hmax);
  CHECK(fx.q.used_elem(3).len == 65545);
  CHECK(fx.ring().vts == vts(2, 14 + 65535, 2, 2));
  const auto drops = fx.rec.of(ProbeKind::tx_drop);
  REQUIRE(drops.size() == 2);
  CHECK(drops[0].arg[0] == 13);
  CHECK(drops[0].arg[1] == h13);
  CHECK(drops[1].arg[0] == 65536);
  CHECK(drops[1].arg[1] == h64k);
  CHECK(fx.packet_holds() == 0);
}

// ---------------------------------------------------------------------------
// Probes, stats, interrupts (viona_tx_done, the worker loop)

TEST_CASE("tx: pkt_tx per packet, tx(count) per drain, one interrupt per completed packet") {
  TxFixture fx(0);
  fx.link.ring_set_msi(kTx, 0xfee00000, 0x41);
  const std::vector<uint8_t> a = ipv4_frame(17, 10), b = ipv4_frame(17, 300);
  fx.post(cat(net_hdr(10), a));
  fx.post(cat(net_hdr(10), b));
  fx.post(std::vector<uint8_t>(5, 0));  // a drop is completed too
  CHECK(fx.drain().sent == 2);
  const auto pkt = fx.rec.of(ProbeKind::pkt_tx);
  REQUIRE(pkt.size() == 2);
  CHECK(pkt[0].arg[0] == a.size());
  CHECK(pkt[1].arg[0] == b.size());
  const auto tx = fx.rec.of(ProbeKind::tx);
  REQUIRE(tx.size() == 1);
  CHECK(tx[0].arg[0] == 2);
  CHECK(tx[0].ring == kTx);
  CHECK(fx.rec.intrs == std::vector<InterruptKind>{InterruptKind::msi, InterruptKind::msi, InterruptKind::msi});
  CHECK(fx.ring().vts == vts(2, a.size() + b.size(), 1, 1));
  // Notifications are re-enabled once the ring is drained.
  CHECK((fx.q.used_flags() & VRING_USED_F_NO_NOTIFY) == 0);
}

TEST_CASE("tx: VIRTIO_F_RING_NOTIFY_ON_EMPTY interrupts on an empty ring despite NO_INTERRUPT") {
  for (bool noe : {false, true}) {
    CAPTURE(noe);
    TxFixture fx(noe ? VIRTIO_F_RING_NOTIFY_ON_EMPTY : 0);
    fx.q.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT);
    fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
    CHECK(fx.drain().sent == 1);
    if (noe) {
      CHECK(fx.rec.intrs == std::vector<InterruptKind>{InterruptKind::suppressed, InterruptKind::poll});
      CHECK(fx.ring().intr_pending());
    } else {
      CHECK(fx.rec.intrs == std::vector<InterruptKind>{InterruptKind::suppressed});
      CHECK_FALSE(fx.ring().intr_pending());
    }
  }
}

TEST_CASE("tx: the drain checks stop/pause requests every 32 packets") {
  TxFixture fx(0);
  for (int i = 0; i < 40; i++) fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
  fx.ring().state_flags |= VRSF_REQ_PAUSE;
  TxDrainResult r = fx.drain();
  CHECK(r.sent == 32);
  CHECK(r.bailed);
  CHECK(fx.q.used_idx() == 32);
  CHECK(fx.ring().cur_aidx() == 32);
  fx.ring().state_flags = 0;
  r = fx.drain();
  CHECK(r.sent == 8);
  CHECK_FALSE(r.bailed);
  CHECK(fx.q.used_idx() == 40);

  // A request seen only after a short drain still ends the worker's loop.
  for (int i = 0; i < 5; i++) fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
  fx.ring().state_flags |= VRSF_REQ_STOP;
  r = fx.drain();
  CHECK(r.sent == 5);
  CHECK(r.bailed);
}

TEST_CASE("tx: a request arriving mid-drain (from the backend) is seen at the 32nd packet") {
  TxFixture fx(0);
  for (int i = 0; i < 50; i++) fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
  fx.sink.on_transmit = [&](TxPacket& p) {
    if (fx.sink.pkts.size() == 4) fx.ring().state_flags |= VRSF_REQ_STOP;
  };
  const TxDrainResult r = fx.drain();
  CHECK(r.sent == 32);
  CHECK(r.bailed);
}

TEST_CASE("tx: drain only in VRS_RUN") {
  TxFixture fx(0);
  fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
  REQUIRE(fx.link.ring_pause(kTx) == 0);  // RUN -> INIT
  CHECK(fx.drain().sent == 0);
  CHECK(fx.q.used_idx() == 0);
  CHECK(fx.rec.of(ProbeKind::tx).empty());
  CHECK(fx.link.tx_drain(0, fx.sink).sent == 0);  // an RX ring is never drained
  REQUIRE(fx.link.ring_kick(kTx) == 0);
  CHECK(fx.drain().sent == 1);
}

TEST_CASE("tx: a malformed head chain stops the drain; it stays at the head (divergence: no spin)") {
  TxFixture fx(0);
  fx.q.add_zero_len_chain();
  fx.post(cat(net_hdr(10), ipv4_frame(17, 10)));
  TxDrainResult r = fx.drain();
  CHECK(r.sent == 0);
  CHECK(fx.q.used_idx() == 0);
  CHECK(fx.ring().cur_aidx() == 0);
  CHECK(fx.ring().rs == only(RsCounter::desc_bad_len));
  CHECK(fx.ring().vts == TransferStats{});
  r = fx.drain();  // the next kick fails the same way
  CHECK(r.sent == 0);
  CHECK(fx.ring().rs.rs_desc_bad_len == 2);
}

TEST_CASE("tx: rs_tx_absent when the pop finds nothing the loop had counted") {
  // In one thread the loop's count and the pop agree; viona's case is a
  // guest lowering avail.idx between them. tx_one after an empty count
  // stands for that pop.
  TxFixture fx(0);
  Chain chain;
  uint32_t len = 0;
  CHECK(TxPathImpl::tx_one(fx.link, fx.ring(), fx.sink, chain, &len) == TxOneResult::absent);
  CHECK(fx.ring().rs == only(RsCounter::tx_absent));
  CHECK(fx.rec.of(ProbeKind::tx_absent).size() == 1);
  CHECK(fx.q.used_idx() == 0);
  CHECK(fx.ring().vts == TransferStats{});
}

TEST_CASE("tx: rs_tx_hookdrop: the outbound hook's rejection is a drop, not an error") {
  TxFixture fx(0);
  const std::vector<uint8_t> good = ipv4_frame(17, 20), bad = ipv4_frame(17, 21);
  std::vector<std::vector<uint8_t>> seen;
  fx.link.tx_hook = [&](const uint8_t* f, uint32_t len) {
    seen.emplace_back(f, f + len);
    return len == bad.size() ? 7 : 0;
  };
  fx.post(cat(net_hdr(10), good));
  const uint16_t hbad = fx.post(cat(net_hdr(10), bad));
  CHECK(fx.drain().sent == 1);
  CHECK(seen == std::vector<std::vector<uint8_t>>{good, bad});
  REQUIRE(fx.sink.pkts.size() == 1);
  CHECK(fx.sink.pkts[0].head == good);
  CHECK(fx.ring().rs == only(RsCounter::tx_hookdrop));
  const auto hd = fx.rec.of(ProbeKind::tx_hook_drop);
  REQUIRE(hd.size() == 1);
  CHECK(hd[0].arg[0] == 7);
  CHECK(fx.ring().vts == vts(1, good.size(), 0, 1));
  CHECK(fx.q.used_idx() == 2);
  CHECK(fx.q.used_elem(1).id == hbad);
  CHECK(fx.q.used_elem(1).len == 10 + bad.size());
}

// ---------------------------------------------------------------------------
// Loan mode (tx_copy_data false) and the header pad

TEST_CASE("tx loan mode: used entry held until tx_release; pieces reference guest memory") {
  TxFixture fx(0, /*copy=*/false);
  const std::vector<uint8_t> frame = ipv4_frame(6, 1000);
  const uint16_t head = fx.post(cat(net_hdr(10), frame), {10, 100});
  CHECK(fx.drain().sent == 1);
  REQUIRE(fx.sink.pkts.size() == 1);
  TxPacket& p = fx.sink.pkts[0];
  REQUIRE(p.loan != nullptr);
  CHECK(p.loan->cookie == head);
  CHECK(p.loan->total_len == 10 + frame.size());
  CHECK(p.head == std::vector<uint8_t>(frame.begin(), frame.begin() + VIONA_MAX_HDRS_LEN));
  CHECK(p.flatten() == frame);
  CHECK_FALSE(p.loaned.empty());
  CHECK(fx.q.used_idx() == 0);
  CHECK(fx.ring().xfer_outstanding == 1);
  CHECK(fx.rec.intrs.empty());
  CHECK(fx.packet_holds() > 0);
  CHECK(fx.ring().vts == vts(1, frame.size(), 0, 0));  // counted as sent at send time

  // The loaned bytes are the guest's; the headers are a private copy.
  const uint8_t poke = 0xee;
  REQUIRE(fx.g.mem.write(fx.last_addr + 10 + 900, &poke, 1));
  REQUIRE(fx.g.mem.write(fx.last_addr + 10 + 20, &poke, 1));
  const std::vector<uint8_t> now = p.flatten();
  CHECK(now[900] == 0xee);
  CHECK(now[20] == frame[20]);

  // The ring cannot stop or pause with a loan out.
  CHECK(fx.link.ring_reset(kTx) == EBUSY);
  CHECK(fx.link.ring_pause(kTx) == EBUSY);

  fx.link.tx_release(p.loan);
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).id == head);
  CHECK(fx.q.used_elem(0).len == 10 + frame.size());
  CHECK(fx.ring().xfer_outstanding == 0);
  CHECK(fx.rec.intrs.size() == 1);
  CHECK(fx.packet_holds() == 0);
  CHECK(fx.link.ring_reset(kTx) == 0);
}

TEST_CASE("tx loan mode: a head re-posted while in flight is drop_fail; xfer_outstanding counts packets") {
  TxFixture fx(0, false);
  const std::vector<uint8_t> f1 = ipv4_frame(17, 400), f2 = ipv4_frame(17, 50);
  const uint16_t h1 = fx.post(cat(net_hdr(10), f1));
  const uint16_t h2 = fx.post(cat(net_hdr(10), f2));
  CHECK(fx.drain().sent == 2);
  CHECK(fx.ring().xfer_outstanding == 2);
  // A short packet is wholly copied but still completes at release (its
  // header buffer is the slot's).
  REQUIRE(fx.sink.pkts.size() == 2);
  CHECK(fx.sink.pkts[1].loaned.empty());
  CHECK(fx.sink.pkts[1].head == f2);
  REQUIRE(fx.sink.pkts[1].loan != nullptr);

  // The guest re-posts h1 (its buffer is still loaned).
  fx.q.set_avail_ring(fx.q.avail_idx(), h1);
  fx.q.set_avail_idx(uint16_t(fx.q.avail_idx() + 1));
  CHECK(fx.drain().sent == 0);
  CHECK(fx.sink.pkts.size() == 2);
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).id == h1);
  CHECK(fx.q.used_elem(0).len == 10 + f1.size());
  CHECK(fx.ring().xfer_outstanding == 2);
  CHECK(fx.ring().vts == vts(2, f1.size() + f2.size(), 1, 1));
  CHECK(fx.sink.pkts[0].loan->busy);  // the in-flight slot was not reset

  // Completion order is release order.
  fx.link.tx_release(fx.sink.pkts[1].loan);
  CHECK(fx.ring().xfer_outstanding == 1);
  fx.link.tx_release(fx.sink.pkts[0].loan);
  CHECK(fx.ring().xfer_outstanding == 0);
  REQUIRE(fx.q.used_idx() == 3);
  CHECK(fx.q.used_elem(1).id == h2);
  CHECK(fx.q.used_elem(1).len == 10 + f2.size());
  CHECK(fx.q.used_elem(2).id == h1);
  CHECK(fx.q.used_elem(2).len == 10 + f1.size());
  CHECK(fx.packet_holds() == 0);
}

TEST_CASE("tx loan mode: headers not covered by 138 copied bytes fall back to a full copy") {
  TxFixture fx(0, false);
  const std::vector<uint8_t> frame = eth_frame(0x88b5, 500);  // not IP: L4 never parsed
  fx.post(cat(net_hdr(10), frame));
  CHECK(fx.drain().sent == 1);
  REQUIRE(fx.sink.pkts.size() == 1);
  CHECK(fx.sink.pkts[0].loaned.empty());
  CHECK(fx.sink.pkts[0].head == frame);
  CHECK(fx.q.used_idx() == 0);  // still a loan: completes at release
  fx.link.tx_release(fx.sink.pkts[0].loan);
  CHECK(fx.q.used_idx() == 1);
}

TEST_CASE("tx loan mode: unparseable L2 (too many VLAN tags) is drop_fail and frees the slot") {
  TxFixture fx(0, false);
  std::vector<uint8_t> frame = eth_frame(0x8100, 300);
  for (size_t o = 16; o < 16 + 4 * 6; o += 4) put16(frame, o, 0x8100);  // tag after tag
  const uint16_t head = fx.post(cat(net_hdr(10), frame));
  CHECK(fx.drain().sent == 0);
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).len == 10 + frame.size());
  CHECK(fx.ring().vts == vts(0, 0, 1, 1));
  CHECK(fx.ring().xfer_outstanding == 0);
  // The slot was reset: the same head id is accepted next time.
  fx.q.set_avail_ring(fx.q.avail_idx(), head);
  const std::vector<uint8_t> fixed = ipv4_frame(17, 300 - 28);  // same length, parseable
  REQUIRE(fixed.size() == frame.size());
  REQUIRE(fx.g.mem.write(fx.last_addr + 10, fixed.data(), fixed.size()));
  fx.q.set_avail_idx(uint16_t(fx.q.avail_idx() + 1));
  CHECK(fx.drain().sent == 1);
  CHECK(fx.ring().xfer_outstanding == 1);
  fx.link.tx_release(fx.sink.pkts.at(0).loan);
}

TEST_CASE("tx_header_pad: reserved in front of the copied headers, never part of TxPacket::head") {
  const std::vector<uint8_t> frame = ipv4_frame(6, 600);
  {
    TxFixture fx(0, true, 64);
    fx.post(cat(net_hdr(10), frame));
    CHECK(fx.drain().sent == 1);
    REQUIRE(fx.sink.pkts.size() == 1);
    CHECK(fx.sink.pkts[0].head == frame);
  }
  {
    TxFixture fx(0, false, VIONA_MAX_HEADER_PAD);
    fx.post(cat(net_hdr(10), frame));
    CHECK(fx.drain().sent == 1);
    REQUIRE(fx.sink.pkts.size() == 1);
    const TxPacket& p = fx.sink.pkts[0];
    CHECK(p.head == std::vector<uint8_t>(frame.begin(), frame.begin() + VIONA_MAX_HDRS_LEN));
    const std::vector<uint8_t>& hb = p.loan->header_buf;
    REQUIRE(hb.size() == VIONA_MAX_HDRS_LEN + VIONA_MAX_HEADER_PAD);
    CHECK(std::vector<uint8_t>(hb.begin(), hb.begin() + VIONA_MAX_HEADER_PAD) ==
          std::vector<uint8_t>(VIONA_MAX_HEADER_PAD, 0));
    CHECK(std::vector<uint8_t>(hb.begin() + VIONA_MAX_HEADER_PAD, hb.end()) == p.head);
    CHECK(p.flatten() == frame);
    fx.link.tx_release(p.loan);
  }
}

// ---------------------------------------------------------------------------
// Checksum / LSO translation (viona_tx_offloads, spec 5.3)

constexpr uint8_t kNeeds = VIRTIO_NET_HDR_F_NEEDS_CSUM;

OffloadCaps caps_partial() {
  OffloadCaps c;
  c.cksum_partial = true;
  return c;
}
OffloadCaps caps_full_v4() {
  OffloadCaps c;
  c.cksum_full_v4 = true;
  return c;
}
OffloadCaps caps_full_v6() {
  OffloadCaps c;
  c.cksum_full_v6 = true;
  return c;
}
OffloadCaps with_lso(OffloadCaps c) {
  c.lso_tcpv4 = true;
  c.lso_max = 65535;
  return c;
}

// One packet with |hdr| through a link with |features| and |caps|.
struct OneCsum {
  TxFixture fx;
  OneCsum(uint64_t features, OffloadCaps caps, const std::vector<uint8_t>& hdr, const std::vector<uint8_t>& frame)
      : fx(features, true, 0, caps) {
    fx.post(cat(hdr, frame));
    CHECK(fx.drain().sent == 1);  // a failed offload still transmits
    REQUIRE(fx.sink.pkts.size() == 1);
  }
  const TxPacket& pkt() const { return fx.sink.pkts[0]; }
};

bool offload_empty(const TxOffload& o) {
  return !o.csum_partial && !o.csum_full && !o.ipv4_hdr && !o.lso && o.start == 0 && o.stuff == 0 && o.end == 0 &&
         o.mss == 0;
}

TEST_CASE("tx offload: partial-capable backend gets L3-relative start/stuff/end") {
  const std::vector<uint8_t> f = ipv4_frame(17, 100);
  OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, 34, 6), f);
  const TxOffload& o = c.pkt().offload;
  CHECK(o.csum_partial);
  CHECK_FALSE(o.csum_full);
  CHECK_FALSE(o.lso);
  CHECK(o.start == 20);
  CHECK(o.stuff == 26);
  CHECK(o.end == f.size() - 14);
  CHECK(c.pkt().head == f);  // untouched
  CHECK(c.fx.ring().rs == RingStats{});
  CHECK(c.fx.ring().vts == vts(1, f.size(), 0, 0));
}

TEST_CASE("tx offload: full-v4 backend gets FULL with the checksum field zeroed") {
  std::vector<uint8_t> f = ipv4_frame(6, 100);
  OneCsum c(VIRTIO_NET_F_CSUM, caps_full_v4(), net_hdr(10, kNeeds, 0, 0, 34, 16), f);
  CHECK(c.pkt().offload.csum_full);
  CHECK_FALSE(c.pkt().offload.csum_partial);
  f[50] = 0;
  f[51] = 0;
  CHECK(c.pkt().head == f);
  CHECK(c.fx.ring().rs == RingStats{});
}

TEST_CASE("tx offload: IPv6 with a full-v6 backend is FULL; nothing asked without CSUM negotiated") {
  const std::vector<uint8_t> f = ipv6_udp_frame(64);
  {
    OneCsum c(VIRTIO_NET_F_CSUM, caps_full_v6(), net_hdr(10, kNeeds, 0, 0, 54, 6), f);
    CHECK(c.pkt().offload.csum_full);
    CHECK(c.fx.ring().rs == RingStats{});
  }
  {
    OneCsum c(0, caps_full_v6(), net_hdr(10, kNeeds, 0, 0, 54, 6), f);
    CHECK(offload_empty(c.pkt().offload));
    CHECK(c.fx.ring().rs == RingStats{});
    CHECK(c.fx.ring().vts == vts(1, f.size(), 0, 0));
  }
}

// Every checksum counter moves by exactly one; the packet is still sent
// (newest viona), without offload, and counted as an error.
void check_fail(OneCsum& c, RsCounter counter, ProbeKind probe, size_t len) {
  CHECK(c.fx.ring().rs == only(counter));
  CHECK(c.fx.rec.of(probe).size() == 1);
  CHECK(offload_empty(c.pkt().offload));
  CHECK(c.fx.ring().vts == vts(1, len, 1, 0));
  CHECK(c.fx.q.used_idx() == 1);
}

TEST_CASE("tx offload: rs_fail_hcksum for invalid offsets") {
  const std::vector<uint8_t> f = ipv4_frame(17, 100);
  const uint16_t len = uint16_t(f.size());
  SUBCASE("csum_start beyond the packet") {
    OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, len, 0), f);
    check_fail(c, RsCounter::fail_hcksum, ProbeKind::fail_hcksum, f.size());
  }
  SUBCASE("csum_start inside the Ethernet header") {
    OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, 13, 6), f);
    check_fail(c, RsCounter::fail_hcksum, ProbeKind::fail_hcksum, f.size());
  }
  SUBCASE("field past the end") {
    OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, 34, uint16_t(len - 34)), f);
    check_fail(c, RsCounter::fail_hcksum, ProbeKind::fail_hcksum, f.size());
  }
}

TEST_CASE("tx offload: rs_fail_hcksum in loan mode when the field lies past the 138 copied bytes") {
  // csum_start + csum_offset + 2 must fit the first (copied-header) buffer;
  // in copy mode that buffer is the whole packet, so the same request passes.
  const std::vector<uint8_t> f = ipv4_frame(17, 900);
  const std::vector<uint8_t> hdr = net_hdr(10, kNeeds, 0, 0, 34, 104);  // field at 138..139
  for (bool copy : {true, false}) {
    CAPTURE(copy);
    TxFixture fx(VIRTIO_NET_F_CSUM, copy, 0, caps_partial());
    fx.post(cat(hdr, f));
    CHECK(fx.drain().sent == 1);
    REQUIRE(fx.sink.pkts.size() == 1);
    if (copy) {
      CHECK(fx.ring().rs == RingStats{});
      CHECK(fx.sink.pkts[0].offload.csum_partial);
      CHECK(fx.sink.pkts[0].offload.stuff == 138 - 14);
    } else {
      CHECK(fx.ring().rs == only(RsCounter::fail_hcksum));
      CHECK(offload_empty(fx.sink.pkts[0].offload));
      CHECK(fx.ring().vts == vts(1, f.size(), 1, 0));
      fx.link.tx_release(fx.sink.pkts[0].loan);
    }
  }
  {
    // One byte earlier fits exactly (136 + 2 = 138) in loan mode too.
    TxFixture fx(VIRTIO_NET_F_CSUM, false, 0, caps_partial());
    fx.post(cat(net_hdr(10, kNeeds, 0, 0, 34, 102), f));
    CHECK(fx.drain().sent == 1);
    CHECK(fx.ring().rs == RingStats{});
    REQUIRE(fx.sink.pkts.size() == 1);
    CHECK(fx.sink.pkts[0].offload.csum_partial);
    fx.link.tx_release(fx.sink.pkts[0].loan);
  }
}

TEST_CASE("tx offload: rs_fail_hcksum for an IPv4 request the backend cannot do") {
  const std::vector<uint8_t> f = ipv4_frame(6, 100);
  OneCsum c(VIRTIO_NET_F_CSUM, caps_full_v6(), net_hdr(10, kNeeds, 0, 0, 34, 16), f);
  check_fail(c, RsCounter::fail_hcksum, ProbeKind::fail_hcksum, f.size());
  CHECK(c.pkt().head == f);
}

TEST_CASE("tx offload: rs_fail_hcksum6 for an IPv6 request the backend cannot do") {
  const std::vector<uint8_t> f = ipv6_udp_frame(64);
  OneCsum c(VIRTIO_NET_F_CSUM, caps_full_v4(), net_hdr(10, kNeeds, 0, 0, 54, 6), f);
  check_fail(c, RsCounter::fail_hcksum6, ProbeKind::fail_hcksum6, f.size());
}

TEST_CASE("tx offload: rs_fail_hcksum_proto for a non-IP frame") {
  const std::vector<uint8_t> f = eth_frame(0x0806, 46);  // ARP
  OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, 20, 2), f);
  check_fail(c, RsCounter::fail_hcksum_proto, ProbeKind::fail_hcksum_proto, f.size());
}

TEST_CASE("tx offload: rs_tx_gso_fail without HOST_TSO4 negotiated") {
  const std::vector<uint8_t> f = ipv4_frame(6, 3000);
  OneCsum c(VIRTIO_NET_F_CSUM, with_lso(caps_partial()), net_hdr(10, kNeeds, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16),
            f);
  check_fail(c, RsCounter::tx_gso_fail, ProbeKind::tx_gso_fail, f.size());
}

TEST_CASE("tx offload: rs_tx_gso_fail when the backend has neither full-v4 nor partial checksums") {
  const std::vector<uint8_t> f = ipv4_frame(6, 3000);
  OneCsum c(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, with_lso(caps_full_v6()),
            net_hdr(10, kNeeds, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16), f);
  REQUIRE(c.fx.link.has(VIRTIO_NET_F_HOST_TSO4));
  check_fail(c, RsCounter::tx_gso_fail, ProbeKind::tx_gso_fail, f.size());
}

TEST_CASE("tx offload: LSO on a partial backend rewrites the pseudo-header sum without the TCP length") {
  std::vector<uint8_t> f = ipv4_frame(6, 3000);
  OffloadCaps caps = with_lso(caps_partial());
  caps.cksum_ipv4_hdr = true;
  // gso_type is bit-tested: ECN (0x80) | TCPV4 still means LSO.
  OneCsum c(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, caps, net_hdr(10, kNeeds, 0x81, 1448, 34, 16), f);
  const TxOffload& o = c.pkt().offload;
  CHECK(o.lso);
  CHECK(o.mss == 1448);
  CHECK(o.csum_partial);
  CHECK(o.ipv4_hdr);
  CHECK(o.start == 20);
  CHECK(o.stuff == 36);
  CHECK(o.end == f.size() - 14);
  // 10.0.0.1 + 10.0.0.2 + 6 = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006.
  f[50] = 0x14;
  f[51] = 0x09;
  f[24] = 0;  // IPv4 header checksum zeroed for the NIC
  f[25] = 0;
  CHECK(c.pkt().head == f);
  CHECK(c.fx.ring().rs == RingStats{});
}

TEST_CASE("tx offload: LSO on a full-v4 backend zeroes the field and asks FULL + LSO") {
  std::vector<uint8_t> f = ipv4_frame(6, 3000);
  OneCsum c(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, with_lso(caps_full_v4()),
            net_hdr(10, kNeeds, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 34, 16), f);
  CHECK(c.pkt().offload.lso);
  CHECK(c.pkt().offload.mss == 1000);
  CHECK(c.pkt().offload.csum_full);
  CHECK_FALSE(c.pkt().offload.csum_partial);
  f[50] = 0;
  f[51] = 0;
  CHECK(c.pkt().head == f);
}

// ---------------------------------------------------------------------------
// A real Linux GSO frame through a no-offload backend (finish_for_wire)

void check_gso_capture(bool copy) {
  const std::vector<std::vector<uint8_t>> frames = read_pcap_frames(shared_pcap("tcpdump__gso-ipv4.pcap"));
  REQUIRE(frames.size() == 1);
  const std::vector<uint8_t>& f = frames[0];
  REQUIRE(f.size() == 7306);
  const size_t hdrs = 14 + 20 + 32;  // TCP with 12 bytes of options
  REQUIRE((f[46] >> 4) * 4 == 32);

  TxFixture fx(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, copy, 0, with_lso(caps_partial()));
  REQUIRE(fx.link.has(VIRTIO_NET_F_HOST_TSO4));
  std::vector<std::vector<uint8_t>> wire;
  fx.sink.on_transmit = [&](TxPacket& p) {
    wire = finish_for_wire(p);
    if (p.loan != nullptr) fx.link.tx_release(p.loan);
  };
  fx.post(cat(net_hdr(10, kNeeds, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 14 + 20, 16), f), {10, 1000, 3000});
  CHECK(fx.drain().sent == 1);
  CHECK(fx.ring().rs == RingStats{});
  CHECK(fx.q.used_idx() == 1);
  CHECK(fx.q.used_elem(0).len == 10 + f.size());
  CHECK(fx.ring().xfer_outstanding == 0);

  REQUIRE(wire.size() == 5);  // 7240 payload bytes = 5 x 1448
  std::vector<uint8_t> payload;
  for (const std::vector<uint8_t>& s : wire) {
    CHECK(s.size() == hdrs + 1448);
    CHECK(ipv4_header_checksum_ok(s));
    CHECK(tcp_checksum_ok(s));
    payload.insert(payload.end(), s.begin() + hdrs, s.end());
  }
  CHECK(payload == std::vector<uint8_t>(f.begin() + hdrs, f.end()));
  CHECK(fx.packet_holds() == 0);
}

TEST_CASE("tx: tcpdump__gso-ipv4.pcap with NEEDS_CSUM+TSO4 reaches a no-offload wire as checked MSS segments") {
  SUBCASE("copy mode") { check_gso_capture(true); }
  SUBCASE("loan mode") { check_gso_capture(false); }
}

TEST_CASE("finish_for_wire: partial checksum filled in, no-offload packet passed as is") {
  std::vector<uint8_t> f = ipv4_frame(17, 77);
  // The guest's partial: the pseudo-header sum (with UDP length) in the field.
  const uint32_t ps = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + (8 + 77);
  put16(f, 40, uint16_t((ps & 0xffff) + (ps >> 16)));
  OneCsum c(VIRTIO_NET_F_CSUM, caps_partial(), net_hdr(10, kNeeds, 0, 0, 34, 6), f);
  const auto wire = finish_for_wire(c.pkt());
  REQUIRE(wire.size() == 1);
  CHECK(udp_checksum_ok(wire[0]));
  CHECK(std::vector<uint8_t>(wire[0].begin() + 42, wire[0].end()) ==
        std::vector<uint8_t>(f.begin() + 42, f.end()));

  TxPacket plain;
  plain.head = f;
  plain.len = uint32_t(f.size());
  const auto same = finish_for_wire(plain);
  REQUIRE(same.size() == 1);
  CHECK(same[0] == f);
}

}  // namespace
}  // namespace test
}  // namespace viona
