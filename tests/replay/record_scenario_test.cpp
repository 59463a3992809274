// SPDX-License-Identifier: MIT
// record_scenario_test.cpp: viona-rr record's scenarios (malformed chains, TX offload, RX LSO, migration, live capture) record what viona does and replay clean.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

#include "bhyve_glue/backend/live_backend.h"
#include "replay/record_scenario.h"
#include "replay/record_session.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "tests/support/independent_checksum.h"
#include "tests/support/pcap_frames.h"
#include "tests/support/temp_dir.h"

using bhyve_glue::RxCorruptKind;
using viona_rr::OpKind;
using viona_rr::RecordSpec;
using viona_rr::RecordSummary;

namespace {

struct Recorded {
  RecordSummary sum;
  std::vector<viona_rr::TraceOp> ops;
  std::vector<viona_rr::TracePacket> packets;
  std::vector<viona_rr::TraceChain> chains;
  std::vector<viona_rr::TraceProbe> probes;
  std::vector<viona_rr::TraceUsed> used;
};

Recorded record(const RecordSpec& spec) {
  Recorded r;
  std::string err;
  REQUIRE_MESSAGE(viona_rr::record_session(spec, &r.sum, &err), err);
  viona_rr::TraceError terr;
  auto rd = viona_rr::TraceReader::open(spec.out, &terr);
  REQUIRE_MESSAGE(rd, terr.message);
  REQUIRE(rd->read_ops(&r.ops).ok());
  REQUIRE(rd->read_packets(&r.packets).ok());
  REQUIRE(rd->read_chains(&r.chains).ok());
  REQUIRE(rd->read_probes(&r.probes).ok());
  REQUIRE(rd->read_used(&r.used).ok());
  return r;
}

void check_replays_clean(const std::string& path) {
  viona_rr::ReplayResult res = viona_rr::replay_trace(path, viona_rr::ReplayOptions{});
  CHECK_MESSAGE(res.error.ok(), res.error.message);
  for (const viona_rr::Finding& f : res.findings) CHECK_MESSAGE(false, f.message);
  CHECK(res.passed());
}

std::vector<viona_rr::TraceProbe> probes_of(const Recorded& r, viona::ProbeKind k) {
  std::vector<viona_rr::TraceProbe> out;
  for (const auto& p : r.probes) {
    if (p.kind == k) out.push_back(p);
  }
  return out;
}

const viona_rr::RecordRingCounters& ring_counters(const RecordSummary& s, uint16_t ring) {
  for (const auto& c : s.rings) {
    if (c.ring == ring) return c;
  }
  FAIL("ring " << ring << " not in the summary");
  return s.rings.front();
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The IPv4 pseudo-header sum without the length (what viona writes for a
// partial-checksum LSO NIC), computed here byte by byte.
uint16_t pseudo_no_len(const std::vector<uint8_t>& f) {
  uint32_t s = 6;
  for (size_t k = 26; k < 34; k += 2) s += be16(&f[k]);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

}  // namespace

TEST_CASE("record: the guest verifies every frame offered, byte for byte; frames the device dropped are not a failure") {
  viona::test::TempDir dir("record_scenario_test");
  const std::string pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  const auto frames = viona::test::read_pcap_frames(pcap);
  REQUIRE(frames.size() == 179);
  SUBCASE("a plain recording: all 179 frames verified, guest_ok") {
    RecordSpec spec;
    spec.pcap = pcap;
    spec.guest = "linux-mrg";
    spec.out = dir.file("plain.trace");
    Recorded r = record(spec);
    CHECK(r.sum.accepted == 179);
    CHECK_MESSAGE(r.sum.guest_ok, r.sum.guest.first_mismatch);
    CHECK(r.sum.guest.rx_frames == 179);
    CHECK(r.sum.guest.rx_verified == 179);
    CHECK(r.sum.guest.rx_not_received == 0);
    CHECK(r.sum.guest.rx_mismatch == 0);
    CHECK(r.sum.guest.rx_unexpected == 0);
    CHECK(r.sum.guest.first_mismatch.empty());
  }
  SUBCASE("MTU 576, batches of 32: the over-MTU frames are dropped mid-batch and not received") {
    size_t big = 0;
    for (const auto& f : frames) big += f.size() > 576 + 14 ? 1 : 0;
    REQUIRE(big == 38);
    RecordSpec spec;
    spec.pcap = pcap;
    spec.guest = "linux-mrg";
    spec.mtu = 576;
    spec.batch = 32;
    spec.out = dir.file("mtu576.trace");
    Recorded r = record(spec);
    CHECK(r.sum.accepted == 179 - 38);
    CHECK(r.sum.dropped == 38);
    CHECK(ring_counters(r.sum, 0).rs.rs_rx_drop_over_mtu == 38);
    CHECK_MESSAGE(r.sum.guest_ok, r.sum.guest.first_mismatch);
    CHECK(r.sum.guest.rx_frames == 141);
    CHECK(r.sum.guest.rx_verified == 141);
    CHECK(r.sum.guest.rx_not_received == 38);
    CHECK(r.sum.guest.rx_mismatch == 0);
  }
  SUBCASE("direction both: received frames verified and reflected") {
    RecordSpec spec;
    spec.pcap = pcap;
    spec.guest = "linux-mrg";
    spec.direction = "both";
    spec.batch = 8;
    spec.out = dir.file("both.trace");
    Recorded r = record(spec);
    CHECK_MESSAGE(r.sum.guest_ok, r.sum.guest.first_mismatch);
    CHECK(r.sum.guest.rx_verified == 179);
    CHECK(r.sum.guest.tx_completed == 179);
  }
  SUBCASE("trace = false: the same run, no file") {
    RecordSpec spec;
    spec.pcap = pcap;
    spec.guest = "linux-mrg";
    spec.mtu = 576;
    spec.batch = 32;
    spec.repeat = 2;
    spec.trace = false;
    spec.out = dir.file("none.trace");
    RecordSummary sum;
    std::string err;
    REQUIRE_MESSAGE(viona_rr::record_session(spec, &sum, &err), err);
    CHECK(access(spec.out.c_str(), F_OK) != 0);
    CHECK(sum.frames == 358);
    CHECK(sum.accepted == 282);
    CHECK(sum.dropped == 76);
    CHECK(sum.packets == 0);
    CHECK(sum.ops == 0);
    CHECK(ring_counters(sum, 0).rs.rs_rx_drop_over_mtu == 76);
    CHECK_MESSAGE(sum.guest_ok, sum.guest.first_mismatch);
    CHECK(sum.guest.rx_verified == 282);
    CHECK(sum.guest.rx_not_received == 76);
  }
}

TEST_CASE("record --corrupt: each kind bumps exactly its counter, the ring stays stuck, the trace replays clean") {
  viona::test::TempDir dir("record_scenario_test");
  const std::vector<RxCorruptKind> kinds = {
      RxCorruptKind::bad_idx,       RxCorruptKind::indir_bad_next, RxCorruptKind::indir_bad_nest,
      RxCorruptKind::indir_bad_len, RxCorruptKind::desc_bad_len,   RxCorruptKind::bad_ring_addr,
      RxCorruptKind::too_many_desc, RxCorruptKind::len_overflow,   RxCorruptKind::ndesc_too_high};
  for (RxCorruptKind k : kinds) {
    const std::string name = bhyve_glue::rx_corrupt_kind_name(k);
    CAPTURE(name);
    RecordSpec spec;
    spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
    spec.count = 16;
    spec.guest = "linux-small";
    spec.ring_size = 64;
    spec.corrupt = name + "@8";
    spec.out = dir.file(name + ".trace");
    Recorded r = record(spec);
    const bool stuck = k != RxCorruptKind::ndesc_too_high;
    CHECK(r.sum.frames == 16);
    CHECK(r.sum.accepted == (stuck ? 8u : 16u));
    CHECK(r.sum.dropped == (stuck ? 8u : 0u));
    // The only other counter: frame 3 of the capture is short (padded),
    // before the corruption.
    viona::RsCounter c;
    REQUIRE(viona::rs_counter_from_name(name, &c));
    viona::RingStats want;
    want.rs_rx_pad_short = 1;
    want.at(c) = 8;  // one failed pop per later frame
    CHECK(ring_counters(r.sum, 0).rs == want);
    CHECK(ring_counters(r.sum, 0).vts.vts_packets == (stuck ? 8u : 16u));
    CHECK(ring_counters(r.sum, 0).vts.vts_drops == (stuck ? 8u : 0u));
    CHECK(ring_counters(r.sum, 0).vts.vts_errors == 0);  // ENOSPC drops are not errors
    // The guest got every frame the device accepted, intact; the dropped
    // ones are not received, which is not a failure.
    CHECK_MESSAGE(r.sum.guest_ok, r.sum.guest.first_mismatch);
    CHECK(r.sum.guest.rx_verified == r.sum.accepted);
    CHECK(r.sum.guest.rx_not_received == r.sum.dropped);
    // The trace shows the probe once per frame after the 8th, and no chain
    // popped after it when the ring is stuck.
    viona::ProbeKind pk;
    REQUIRE(viona::probe_from_name(name.c_str(), &pk));
    const auto ps = probes_of(r, pk);
    CHECK(ps.size() == 8);
    CHECK(r.chains.size() == (stuck ? 8u : 16u));
    for (const auto& p : ps) {
      REQUIRE(p.packet_seq);
      CHECK(*p.packet_seq >= 9);
      if (k == RxCorruptKind::bad_idx) CHECK(p.arg[0] == 64);          // next = queue size
      if (k == RxCorruptKind::indir_bad_len) CHECK(p.arg[0] == 24);    // the table length
      if (k == RxCorruptKind::desc_bad_len) CHECK(p.arg[0] == 0);
      if (k == RxCorruptKind::indir_bad_next) CHECK(p.arg[1] == 0);    // INDIRECT|NEXT on the ring
      if (k == RxCorruptKind::ndesc_too_high) CHECK(p.arg[0] == 129);  // 64 posted + 65 jumped
    }
    // What the guest wrote is in the trace as mem_write ops after frame 8's batch.
    uint64_t batch8 = 0, writes_after = 0;
    for (const auto& op : r.ops) {
      if (op.kind == OpKind::rx_batch && op.args[0] == 8) batch8 = op.seq;
      if (op.kind == OpKind::mem_write && batch8 != 0 && op.seq > batch8) writes_after++;
    }
    CHECK(batch8 != 0);
    CHECK(writes_after > 0);
    check_replays_clean(spec.out);
  }
}

TEST_CASE("record --corrupt on a merged-RX guest: the failed pop is also rs_no_space") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  spec.count = 12;
  spec.guest = "linux-mrg";
  spec.ring_size = 64;
  spec.corrupt = "bad_idx@4";
  spec.out = dir.file("mrg.trace");
  Recorded r = record(spec);
  CHECK(r.sum.accepted == 4);
  CHECK(r.sum.dropped == 8);
  viona::RingStats want;
  want.rs_bad_idx = 8;
  want.rs_no_space = 8;
  want.rs_rx_pad_short = 1;  // frame 3, before the corruption
  CHECK(ring_counters(r.sum, 0).rs == want);
  CHECK(ring_counters(r.sum, 0).vts.vts_drops == 8);
  check_replays_clean(spec.out);
}

TEST_CASE("record --corrupt KIND@0: the ring is malformed before the first frame") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  spec.count = 4;
  spec.guest = "linux-small";
  spec.ring_size = 64;
  spec.corrupt = "desc_bad_len@0";
  spec.out = dir.file("zero.trace");
  Recorded r = record(spec);
  CHECK(r.sum.accepted == 0);
  CHECK(r.sum.dropped == 4);
  CHECK(ring_counters(r.sum, 0).rs.rs_desc_bad_len == 4);
  CHECK(r.chains.empty());
  check_replays_clean(spec.out);
}

TEST_CASE("record --corrupt: bad specs are refused before any trace exists") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  spec.out = dir.file("x.trace");
  std::string err;
  for (const char* bad : {"bad_idx", "nonsense@3", "bad_idx@", "bad_idx@-1", "bad_idx@3x"}) {
    spec.corrupt = bad;
    CAPTURE(bad);
    CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
    CHECK(err.find("--corrupt") == 0);
  }
  spec.corrupt = "bad_idx@3";
  spec.direction = "tx";
  CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
  CHECK(err == "--corrupt malforms an RX chain: it needs --direction rx or both");
  CHECK(dir.entries().count("x.trace") == 0);
}

TEST_CASE("record --tx-offload: the GSO capture through an LSO backend and through one without offloads") {
  viona::test::TempDir dir("record_scenario_test");
  const std::vector<uint8_t> orig = viona::test::read_pcap_frames(viona::test::shared_pcap("tcpdump__gso-ipv4.pcap")).at(0);
  REQUIRE(orig.size() == 7306);
  auto spec_for = [&](const std::string& be) {
    RecordSpec s;
    s.pcap = viona::test::shared_pcap("tcpdump__gso-ipv4.pcap");
    s.guest = "linux-mrg";
    s.ring_size = 64;
    s.direction = "tx";
    s.tx_offload = true;
    s.backend_offload = be;
    s.tx_pcap = dir.file(be + ".pcap");
    s.out = dir.file(be + ".trace");
    return s;
  };

  SUBCASE("lso: HOST_TSO4 negotiated, LSO with partial checksum, five wire segments") {
    RecordSpec spec = spec_for("lso");
    Recorded r = record(spec);
    CHECK(r.sum.sent == 1);
    CHECK(r.sum.guest_ok);
    CHECK(ring_counters(r.sum, 1).rs == viona::RingStats{});
    CHECK(ring_counters(r.sum, 1).vts.vts_packets == 1);
    CHECK(ring_counters(r.sum, 1).vts.vts_bytes == 7306);
    CHECK(ring_counters(r.sum, 1).vts.vts_errors == 0);
    // The packet as viona handed it over: IPv4 header checksum zeroed for
    // the NIC, the TCP field rewritten to the pseudo-header sum without
    // the length; every other byte is the capture's.
    std::vector<const viona_rr::TracePacket*> tx;
    for (const auto& p : r.packets) {
      if (p.direction == viona_rr::DirectionKind::tx) tx.push_back(&p);
    }
    REQUIRE(tx.size() == 1);
    const std::vector<uint8_t>& got = tx[0]->data;
    REQUIRE(got.size() == orig.size());
    CHECK(be16(&got[24]) == 0);
    CHECK(be16(&got[50]) == pseudo_no_len(orig));
    std::vector<uint8_t> rest = got, want = orig;
    for (size_t k : {24, 25, 50, 51}) rest[k] = want[k] = 0;
    CHECK(rest == want);
    // The backend finished it for the wire: 5 x 1448 payload bytes.
    const auto wire = viona::test::read_pcap_frames(spec.tx_pcap);
    REQUIRE(wire.size() == 5);
    for (const auto& f : wire) {
      CHECK(f.size() == 1514);
      CHECK(viona::test::ipv4_header_checksum_ok(f));
      CHECK(viona::test::tcp_checksum_ok(f));
    }
    check_replays_clean(spec.out);
  }

  SUBCASE("none: CSUM is not offered, viona ignores the request and sends the frame as the guest wrote it") {
    RecordSpec spec = spec_for("none");
    Recorded r = record(spec);
    CHECK(r.sum.sent == 1);
    CHECK(ring_counters(r.sum, 1).rs == viona::RingStats{});
    CHECK(ring_counters(r.sum, 1).vts.vts_packets == 1);
    CHECK(ring_counters(r.sum, 1).vts.vts_errors == 0);
    const viona_rr::TracePacket* tx = nullptr;
    for (const auto& p : r.packets) {
      if (p.direction == viona_rr::DirectionKind::tx) tx = &p;
    }
    REQUIRE(tx != nullptr);
    // The guest's own pseudo-header sum (TCP length 7272 included) is still there.
    uint32_t s = 6 + 7272;
    for (size_t k = 26; k < 34; k += 2) s += be16(&orig[k]);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    CHECK(be16(&tx->data[50]) == s);
    CHECK(be16(&tx->data[24]) == be16(&orig[24]));
    const auto wire = viona::test::read_pcap_frames(spec.tx_pcap);
    REQUIRE(wire.size() == 1);
    CHECK(wire[0] == tx->data);
    check_replays_clean(spec.out);
  }

  SUBCASE("partial without LSO: HOST_TSO4 not offered, the GSO request fails but the packet goes out") {
    RecordSpec spec = spec_for("partial");
    Recorded r = record(spec);
    viona::RingStats want;
    want.rs_tx_gso_fail = 1;
    CHECK(ring_counters(r.sum, 1).rs == want);
    CHECK(ring_counters(r.sum, 1).vts.vts_packets == 1);
    CHECK(ring_counters(r.sum, 1).vts.vts_errors == 1);
    CHECK(probes_of(r, viona::ProbeKind::tx_gso_fail).size() == 1);
    check_replays_clean(spec.out);
  }
}

TEST_CASE("record --tx-offload: small TCP/UDP frames get NEEDS_CSUM only; a full-checksum backend finishes them") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpdump__ldp-common-session.pcap");
  spec.guest = "linux-mrg";  // linux-small does not negotiate CSUM
  spec.ring_size = 64;
  spec.direction = "tx";
  spec.tx_offload = true;
  spec.backend_offload = "full";
  spec.tx_pcap = dir.file("full.pcap");
  spec.out = dir.file("full.trace");
  Recorded r = record(spec);
  CHECK(r.sum.sent == 22);
  CHECK(ring_counters(r.sum, 1).rs == viona::RingStats{});
  const auto wire = viona::test::read_pcap_frames(spec.tx_pcap);
  REQUIRE(wire.size() == 22);
  size_t ok = 0;
  for (const auto& f : wire) {
    if (viona::test::tcp_checksum_ok(f) || viona::test::udp_checksum_ok(f)) ok++;
  }
  CHECK(ok == 22);  // every frame of the session is TCP or UDP (802.1Q tagged) and now checksummed
  check_replays_clean(spec.out);
}

TEST_CASE("record --rx-lso: BIG TCP through the GRO fallback (linux-small), GSO whole (linux-big)") {
  viona::test::TempDir dir("record_scenario_test");
  SUBCASE("linux-small: no GUEST_TSO4, 80066 bytes segmented at MSS 1448 into 56 frames") {
    RecordSpec spec;
    spec.pcap = viona::test::shared_pcap("tcpdump__bigtcp-ipv4.pcap");
    spec.guest = "linux-small";
    spec.ring_size = 64;
    spec.rx_lso = 1448;
    spec.out = dir.file("gro.trace");
    Recorded r = record(spec);
    CHECK(r.sum.frames == 1);
    CHECK(r.sum.accepted == 56);
    viona::RingStats want;
    want.rs_rx_gro_fallback = 1;
    CHECK(ring_counters(r.sum, 0).rs == want);
    CHECK(ring_counters(r.sum, 0).vts.vts_packets == 56);
    const auto gro = probes_of(r, viona::ProbeKind::rx_gro_fallback);
    REQUIRE(gro.size() == 1);
    CHECK(gro[0].arg[0] == 80066);
    CHECK(gro[0].arg[1] == 56);
    // The guest expects the 56 segments the GRO fallback cuts.
    CHECK_MESSAGE(r.sum.guest_ok, r.sum.guest.first_mismatch);
    CHECK(r.sum.guest.rx_verified == 56);
    CHECK(r.sum.guest.rx_not_received == 0);
    CHECK(r.used.size() == 56);
    size_t batches = 0;
    for (const auto& op : r.ops) {
      if (op.kind != OpKind::rx_batch) continue;
      batches++;
      CHECK(op.args[2] == 1);  // HW_LSO
      CHECK(op.args[3] == 1448);
    }
    CHECK(batches == 1);
    check_replays_clean(spec.out);
  }
  SUBCASE("linux-big: GUEST_TSO4, 7306 bytes delivered whole into one chain") {
    RecordSpec spec;
    spec.pcap = viona::test::shared_pcap("tcpdump__gso-ipv4.pcap");
    spec.guest = "linux-big";
    spec.ring_size = 64;
    spec.rx_lso = 1448;
    spec.out = dir.file("lso.trace");
    Recorded r = record(spec);
    CHECK(r.sum.accepted == 1);
    CHECK(ring_counters(r.sum, 0).rs == viona::RingStats{});
    CHECK(ring_counters(r.sum, 0).vts.vts_bytes == 7306);
    REQUIRE(r.used.size() == 1);
    CHECK(r.used[0].len == 10 + 7306);
    check_replays_clean(spec.out);
  }
  SUBCASE("frames within the MTU keep plain metadata and their own batching") {
    RecordSpec spec;
    spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
    spec.count = 8;
    spec.guest = "linux-small";
    spec.ring_size = 64;
    spec.rx_lso = 1448;
    spec.batch = 4;
    spec.out = dir.file("plain.trace");
    Recorded r = record(spec);
    size_t batches = 0;
    for (const auto& op : r.ops) {
      if (op.kind != OpKind::rx_batch) continue;
      batches++;
      CHECK(op.args[1] == 4);
      CHECK(op.args[2] == 0);
    }
    CHECK(batches == 2);
  }
}

TEST_CASE("record --migrate-at: pause, save, reset and restore mid-traffic; replays clean; 14032 still detected") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  spec.filter = "len == 1514";
  spec.count = 12;
  spec.guest = "custom:mrg=1,buf=1536,offset=3584,stride=4096";  // the seed's layout
  spec.ring_size = 256;
  spec.direction = "both";
  spec.migrate_at = 6;
  spec.out = dir.file("migrate.trace");
  Recorded r = record(spec);
  CHECK(r.sum.accepted == 12);
  // Every frame was reflected, but ring stats restart at RING_SET_STATE
  // (a ring init): the rings count the 6 frames after the migration.
  CHECK(ring_counters(r.sum, 0).vts.vts_packets == 6);
  CHECK(ring_counters(r.sum, 1).vts.vts_packets == 6);
  CHECK(ring_counters(r.sum, 0).rs == viona::RingStats{});
  // The control sequence after frame 6, in order.
  std::vector<std::pair<OpKind, uint16_t>> seqv;
  const viona_rr::TraceOp* st0 = nullptr;
  bool after6 = false;
  for (const auto& op : r.ops) {
    if (op.kind == OpKind::rx_batch && op.args[0] == 11) after6 = true;  // frame 6's batch (packets 1,2 per frame)
    if (!after6) continue;
    if (op.kind == OpKind::ring_pause || op.kind == OpKind::ring_reset || op.kind == OpKind::ring_set_state ||
        op.kind == OpKind::ring_set_msi || (op.kind == OpKind::ring_kick && !seqv.empty() && seqv.size() < 10)) {
      seqv.push_back({op.kind, op.ring});
      if (op.kind == OpKind::ring_set_state && op.ring == 0) st0 = &op;
    }
  }
  const std::vector<std::pair<OpKind, uint16_t>> want = {
      {OpKind::ring_pause, 0},     {OpKind::ring_pause, 1},   {OpKind::ring_reset, 0},
      {OpKind::ring_reset, 1},     {OpKind::ring_set_state, 0}, {OpKind::ring_set_msi, 0},
      {OpKind::ring_set_state, 1}, {OpKind::ring_set_msi, 1}, {OpKind::ring_kick, 0},
      {OpKind::ring_kick, 1}};
  REQUIRE(seqv.size() >= want.size());
  CHECK(std::vector<std::pair<OpKind, uint16_t>>(seqv.begin(), seqv.begin() + 10) == want);
  REQUIRE(st0 != nullptr);
  CHECK(st0->args[0] == 6);    // avail index: six chains consumed
  CHECK(st0->args[1] == 6);    // used index
  CHECK(st0->args[2] == 256);  // queue size
  CHECK(st0->args[3] == bhyve_glue::kGuestBase);  // the RX ring is the guest's first area
  check_replays_clean(spec.out);

  viona_rr::ReplayOptions q;
  q.quirks.set(viona::QuirkKind::illumos_14032);
  viona_rr::ReplayResult res = viona_rr::replay_trace(spec.out, q);
  CHECK(res.error.ok());
  CHECK(res.count(viona_rr::FindingKind::divergence) == 1);

  SUBCASE("a legacy ring below 256 entries cannot take RING_SET_STATE (newest viona's alignment rule)") {
    spec.ring_size = 64;
    spec.out = dir.file("small.trace");
    std::string err;
    CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
    CHECK(err ==
          "--migrate-at: VNA_IOC_RING_SET_STATE of ring 0 failed with errno 22 (a legacy ring's parts are page "
          "aligned only from queue size 256)");
  }
}

TEST_CASE("record --iface: an interface that cannot be opened is a clear error") {
  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.iface = "vnosuch0";
  spec.count = 3;
  spec.out = dir.file("live.trace");
  std::string err;
  CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
  CHECK(err.find("--iface vnosuch0: ") == 0);
  spec.count = 0;
  CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
  CHECK(err == "--iface vnosuch0 needs -c COUNT (frames to capture before recording)");
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  CHECK_FALSE(viona_rr::record_session(spec, nullptr, &err));
  CHECK(err == "--pcap and --iface exclude each other");
  CHECK(dir.entries().count("live.trace") == 0);
}

#ifdef __linux__
namespace {

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

}  // namespace

TEST_CASE("record --iface: frames captured on a veth in a private namespace are recorded and replay clean") {
  if (getuid() != 0 || sh("command -v ip") != 0) {
    MESSAGE("live record test skipped: needs root and ip(8)");
    return;
  }
  const std::string ns = "vscen" + std::to_string(getpid());
  if (sh("ip netns add " + ns) != 0) {
    MESSAGE("live record test skipped: cannot create a network namespace");
    return;
  }
  struct Del {
    std::string n;
    ~Del() { sh("ip netns del " + n); }
  } del{ns};
  REQUIRE(sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1") == 0);
  REQUIRE(sh("ip -n " + ns + " link add vsa type veth peer name vsb") == 0);
  REQUIRE(sh("ip -n " + ns + " link set vsa up") == 0);
  REQUIRE(sh("ip -n " + ns + " link set vsb up") == 0);

  viona::test::TempDir dir("record_scenario_test");
  RecordSpec spec;
  spec.iface = "vsa";
  spec.filter = "ether proto 0x88b5";
  spec.count = 3;
  spec.capture_timeout = 10;
  spec.guest = "linux-small";
  spec.ring_size = 64;
  spec.out = dir.file("live.trace");
  RecordSummary sum;
  std::string err;
  bool ok = false;
  int orig = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(orig >= 0);
  REQUIRE(fd >= 0);
  REQUIRE(setns(fd, CLONE_NEWNET) == 0);
  {
    std::string serr;
    std::unique_ptr<bhyve_glue::LiveBackend> sender = bhyve_glue::LiveBackend::open("vsb", "", &serr);
    REQUIRE_MESSAGE(sender, serr);
    std::atomic<bool> done{false};
    // Sends until the recording is over: the capture may open after the first frames.
    std::thread t([&] {
      for (uint8_t i = 0; !done.load(); i++) {
        viona::TxPacket p;
        p.head.assign(100, i);
        std::memset(p.head.data(), 0xff, 6);
        const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x42};
        std::memcpy(p.head.data() + 6, src, 6);
        p.head[12] = 0x88;
        p.head[13] = 0xb5;
        p.len = 100;
        sender->transmit(std::move(p));
        usleep(20000);
      }
    });
    ok = viona_rr::record_session(spec, &sum, &err);
    done = true;
    t.join();
  }
  REQUIRE(setns(orig, CLONE_NEWNET) == 0);
  ::close(fd);
  ::close(orig);
  REQUIRE_MESSAGE(ok, err);
  CHECK(sum.frames == 3);
  CHECK(sum.accepted == 3);  // broadcast frames: classified and delivered
  CHECK(sum.packets == 3);
  check_replays_clean(spec.out);
}
#endif

TEST_CASE("record: progress is reported every 4096 frames at most, and once at the end with done == total") {
  viona::test::TempDir dir("record_progress_test");
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  RecordSpec spec;
  spec.pcap = viona::test::shared_pcap("tcpreplay__test.pcap");
  spec.guest = "linux-mrg";
  spec.batch = 32;
  spec.repeat = 50;  // 8950 frames
  spec.trace = false;
  spec.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  std::string err;
  RecordSummary sum;
  REQUIRE_MESSAGE(viona_rr::record_session(spec, &sum, &err), err);
  REQUIRE(calls.size() == 3);  // past 4096, past 8192, the end
  for (const auto& c : calls) CHECK(c.second == 8950);
  CHECK(calls[0].first >= 4096);
  CHECK(calls[0].first < 4096 + 32);
  CHECK(calls[1].first >= calls[0].first + 4096);
  CHECK(calls[2].first == 8950);
}
