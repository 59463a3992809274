// SPDX-License-Identifier: MIT
// record_replay_test.cpp: record_session into scratch traces, replay them; 14032 both ways; diff and minimize.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replay/minimize.h"
#include "replay/record_session.h"
#include "replay/replayer.h"
#include "replay/trace_diff.h"
#include "tests/support/pcap_frames.h"
#include "tests/support/trace_scenario.h"

using viona::test::ScratchDir;
using viona_rr::Finding;
using viona_rr::FindingKind;
using viona_rr::FindingSourceKind;
using viona_rr::RecordSpec;
using viona_rr::RecordSummary;
using viona_rr::ReplayOptions;
using viona_rr::ReplayResult;

namespace {

constexpr const char* kSeedGuest = "custom:mrg=1,buf=1536,offset=3584,stride=4096";

RecordSpec seed_spec(bool quirk) {
  RecordSpec s;
  s.pcap = "tcpreplay__test.pcap";
  s.filter = "len == 1514";
  s.guest = kSeedGuest;
  if (quirk) s.quirks.set(viona::QuirkKind::illumos_14032);
  return s;
}

ReplayOptions q14032() {
  ReplayOptions o;
  o.quirks.set(viona::QuirkKind::illumos_14032);
  return o;
}

const Finding* first_of(const ReplayResult& r, FindingKind k, FindingSourceKind src, const std::string& rule) {
  for (const Finding& f : r.findings) {
    if (f.kind == k && f.source == src && f.rule == rule) return &f;
  }
  return nullptr;
}

// What each shared capture does at each MTU (the same for both guests but
// one: linux-small's single 1518-byte buffer cannot take the 7306-byte GSO
// frame that MTU 9000 admits).
struct Expect {
  const char* pcap;
  unsigned mtu;
  uint64_t frames, accepted, dropped;
  uint64_t vts_packets, vts_bytes, over_mtu, pad_short;
};
constexpr Expect kExpect[] = {
    {"tcpdump__802.1ad_QinQ.pcap", 1500, 2, 2, 0, 2, 128, 0, 0},
    {"tcpdump__802.1ad_QinQ.pcap", 9000, 2, 2, 0, 2, 128, 0, 0},
    {"tcpdump__bigtcp-ipv4.pcap", 1500, 1, 0, 1, 0, 0, 1, 0},
    {"tcpdump__bigtcp-ipv4.pcap", 9000, 1, 0, 1, 0, 0, 1, 0},
    {"tcpdump__gso-ipv4.pcap", 1500, 1, 0, 1, 0, 0, 1, 0},
    {"tcpdump__gso-ipv4.pcap", 9000, 1, 1, 0, 1, 7306, 0, 0},  // linux-small: too short
    {"tcpdump__ldp-common-session.pcap", 1500, 22, 22, 0, 22, 2816, 0, 4},
    {"tcpdump__ldp-common-session.pcap", 9000, 22, 22, 0, 22, 2816, 0, 4},
    {"tcpreplay__test.pcap", 1500, 179, 179, 0, 179, 69018, 0, 1},
    {"tcpreplay__test.pcap", 9000, 179, 179, 0, 179, 69018, 0, 1},
};

}  // namespace

TEST_CASE("record_session: every shared capture, linux-mrg and linux-small, MTU 1500 and 9000, replays clean") {
  ScratchDir dir;
  for (const Expect& e : kExpect) {
    for (const char* guest : {"linux-mrg", "linux-small"}) {
      RecordSpec s;
      s.pcap = e.pcap;
      s.guest = guest;
      s.mtu = e.mtu;
      const std::string name = std::string(e.pcap) + "-" + guest + "-" + std::to_string(e.mtu) + ".trace";
      INFO(name);
      RecordSummary sum;
      const std::string t = viona::test::record_scenario(dir, name, s, &sum);
      const bool small_jumbo = std::string(guest) == "linux-small" && e.accepted == 1 && e.vts_bytes == 7306;
      CHECK(sum.frames == viona::test::read_pcap_frames(viona::test::shared_pcap(e.pcap)).size());
      CHECK(sum.frames == e.frames);
      CHECK(sum.packets == e.frames);
      CHECK(sum.sent == 0);
      // linux-small's jumbo frame passes the MTU check, then is too short for its buffer.
      CHECK(sum.accepted == (small_jumbo ? 0 : e.accepted));
      CHECK(sum.dropped == (small_jumbo ? 1 : e.dropped));
      REQUIRE(sum.rings.size() == 2);
      CHECK(sum.rings[0].ring == 0);
      CHECK(sum.rings[1].ring == 1);
      const viona::RingStats& rs = sum.rings[0].rs;
      CHECK(rs.at(viona::RsCounter::rx_drop_over_mtu) == e.over_mtu);
      CHECK(rs.at(viona::RsCounter::rx_pad_short) == e.pad_short);
      CHECK(rs.at(viona::RsCounter::too_short) == (small_jumbo ? 1u : 0u));
      CHECK(sum.rings[0].vts.vts_packets == (small_jumbo ? 0 : e.vts_packets));
      CHECK(sum.rings[0].vts.vts_bytes == (small_jumbo ? 0 : e.vts_bytes));
      CHECK(sum.rings[0].vts.vts_drops == e.dropped + (small_jumbo ? 1 : 0));
      CHECK(sum.rings[1].vts.vts_packets == 0);
      ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
      INFO((r.findings.empty() ? r.error.message : r.findings[0].headline()));
      CHECK(r.passed());
      CHECK(r.packets == e.frames);
      CHECK(r.ops == sum.ops);
    }
  }
}

TEST_CASE("14032: recorded with the quirk, replayed without: recording-side oracle and a divergence") {
  ScratchDir dir;
  RecordSummary sum;
  const std::string t = viona::test::record_scenario(dir, "seed-quirk.trace", seed_spec(true), &sum);
  CHECK(sum.frames == 32);
  CHECK(sum.accepted == 0);  // every page-split copy fails under the quirk
  CHECK(sum.dropped == 32);
  CHECK(sum.rings[0].rs.at(viona::RsCounter::too_short) == 32);
  CHECK(viona::test::sql_int(t, "SELECT quirks FROM config") == 1);
  CHECK(viona::test::sql_int(t, "SELECT guest_profile = '" + std::string(kSeedGuest) + "' FROM config") == 1);

  ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
  REQUIRE(r.error.ok());
  CHECK_FALSE(r.passed());
  REQUIRE(r.findings.size() == 3);
  CHECK(r.findings[0].kind == FindingKind::divergence);
  CHECK(r.findings[0].rule == "event-mismatch");
  CHECK(r.findings[0].message == "rx_batch event 2: recorded probe, now used");
  const Finding* o = first_of(r, FindingKind::oracle, FindingSourceKind::recording, "too-short-overcount");
  REQUIRE(o != nullptr);
  CHECK(o->message == "too_short reports copied 2014 > frame size 1514");
  CHECK(o->expected == "copied <= 1514");
  CHECK(o->actual == "2014");
  REQUIRE(o->packet_seq.has_value());
  CHECK(*o->packet_seq == 1);
  CHECK(o->op_seq == r.findings[0].op_seq);
  CHECK(first_of(r, FindingKind::oracle, FindingSourceKind::recording, "too-short-room") != nullptr);
  CHECK(r.count(FindingKind::divergence) == 1);
  CHECK(r.count(FindingKind::oracle) == 2);
  // Replayed with the quirk it was recorded with: the same port, no divergence,
  // but the recording's and the replay's oracles both object.
  ReplayResult same = viona_rr::replay_trace(t, q14032());
  CHECK(same.count(FindingKind::divergence) == 0);
  CHECK(first_of(same, FindingKind::oracle, FindingSourceKind::recording, "too-short-overcount") != nullptr);
  CHECK(first_of(same, FindingKind::oracle, FindingSourceKind::replay, "too-short-overcount") != nullptr);
}

TEST_CASE("14032: recorded without the quirk: --quirk illumos-14032 diverges and the replay oracle fires") {
  ScratchDir dir;
  RecordSummary sum;
  const std::string t = viona::test::record_scenario(dir, "seed.trace", seed_spec(false), &sum);
  CHECK(sum.rings[0].rs.at(viona::RsCounter::too_short) == 0);
  CHECK(sum.rings[0].vts.vts_packets == 32);
  CHECK(sum.rings[0].vts.vts_bytes == 32 * 1514);
  ReplayResult clean = viona_rr::replay_trace(t, ReplayOptions{});
  CHECK(clean.passed());
  ReplayResult r = viona_rr::replay_trace(t, q14032());
  REQUIRE(r.findings.size() == 3);
  CHECK(r.findings[0].kind == FindingKind::divergence);
  CHECK(r.findings[0].rule == "event-mismatch");
  CHECK(r.findings[0].message == "rx_batch event 2: recorded used, now probe");
  REQUIRE(r.findings[0].packet_seq.has_value());
  CHECK(*r.findings[0].packet_seq == 1);
  const Finding* o = first_of(r, FindingKind::oracle, FindingSourceKind::replay, "too-short-overcount");
  REQUIRE(o != nullptr);
  CHECK(o->actual == "2014");
  CHECK(first_of(r, FindingKind::oracle, FindingSourceKind::recording, "too-short-overcount") == nullptr);
}

TEST_CASE("diff: identical traces, different traces, unreadable traces") {
  ScratchDir dir;
  const std::string lib = "traces/tcpreplay-linux-mrg.trace";
  // The same recording made again: timestamps, host and creation time differ, nothing else.
  RecordSpec s;
  s.pcap = "tcpreplay__test.pcap";
  const std::string again = viona::test::record_scenario(dir, "again.trace", s);
  viona_rr::TraceDiffResult same = viona_rr::diff_traces(lib, again);
  CHECK(same.error.ok());
  CHECK(same.identical());
  CHECK(same.total == 0);
  CHECK(same.a_packets == 179);
  CHECK(same.b_packets == 179);
  CHECK(viona_rr::trace_diff_exit_status(same) == 0);
  CHECK(viona_rr::trace_diff_text(same) == "--- " + lib + " (179 packets)\n+++ " + again +
                                               " (179 packets)\nidentical\n");

  const std::string alt = dir.file("altered.trace");
  viona::test::copy_file(lib, alt);
  REQUIRE(viona::test::sql_exec(alt, "UPDATE used SET len = len + 1 WHERE packet_seq = 50") == 1);
  REQUIRE(viona::test::sql_exec(alt, "UPDATE packets SET timestamp_ns = 7 WHERE seq = 3") == 1);  // ignored
  viona_rr::TraceDiffResult d = viona_rr::diff_traces(lib, alt);
  CHECK(viona_rr::trace_diff_exit_status(d) == 1);
  REQUIRE(d.total == 1);
  CHECK(d.packets_differing == 1);
  REQUIRE(d.differences.size() == 1);
  CHECK(d.differences[0].where == "packet 50");
  CHECK(d.differences[0].what == "used 1");
  CHECK(d.differences[0].a == "ring 0 used_idx 49 slot 49 id 49 len 93");
  CHECK(d.differences[0].b == "ring 0 used_idx 49 slot 49 id 49 len 94");
  nlohmann::json j = nlohmann::json::parse(viona_rr::trace_diff_json(d));
  CHECK(j["identical"] == false);
  CHECK(j["total"] == 1);
  CHECK(j["differences"][0]["packet"] == 50);
  CHECK(j["differences"][0]["what"] == "used 1");

  // A packet's bytes, and the end counters.
  REQUIRE(viona::test::sql_exec(alt, "UPDATE packets SET data = zeroblob(caplen) WHERE seq = 4") == 1);
  REQUIRE(viona::test::sql_exec(alt, "UPDATE counters SET value = value + 5 WHERE name = 'vts_packets' AND "
                                     "snapshot_seq = (SELECT max(seq) FROM counter_snapshots WHERE ring = 0)") == 1);
  d = viona_rr::diff_traces(lib, alt);
  REQUIRE(d.total == 3);
  CHECK(d.differences[0].where == "packet 4");
  CHECK(d.differences[0].what == "bytes");
  CHECK(d.differences[2].where == "counters ring 0");
  CHECK(d.differences[2].what == "vts_packets");
  CHECK(d.differences[2].a == "179");
  CHECK(d.differences[2].b == "184");

  viona_rr::TraceDiffResult other = viona_rr::diff_traces(lib, "traces/tcpreplay-linux-small.trace");
  CHECK(viona_rr::trace_diff_exit_status(other) == 1);
  CHECK(other.packets_differing == 179);

  viona_rr::TraceDiffResult bad = viona_rr::diff_traces(lib, dir.file("missing.trace"));
  CHECK(bad.error.kind == viona_rr::TraceErrorKind::not_a_file);
  CHECK(viona_rr::trace_diff_exit_status(bad) == 2);
  viona::test::write_bytes(dir.file("junk.trace"), std::vector<uint8_t>(4096, 0x5a));
  bad = viona_rr::diff_traces(dir.file("junk.trace"), lib);
  CHECK(bad.error.kind == viona_rr::TraceErrorKind::not_sqlite);
  CHECK(viona_rr::trace_diff_exit_status(bad) == 2);
}

TEST_CASE("diff --replay: a trace against its own replay, with and without a quirk") {
  // Without quirks every library trace is its own replay, custom guests included.
  for (const char* t : {"traces/tcpreplay-linux-mrg.trace", "traces/seed-14032-split.trace",
                        "traces/no-space-linux-mrg.trace", "traces/tcpreplay-linux-mrg-both.trace",
                        "traces/tcpreplay-linux-small-tx.trace", "traces/gso-jumbo-linux-mrg-9000-contiguous.trace"}) {
    viona_rr::TraceDiffResult r = viona_rr::diff_with_replay(t, viona::Quirks{});
    INFO(t << ": " << r.error.message << (r.differences.empty() ? "" : r.differences[0].line()));
    CHECK(r.identical());
    CHECK(viona_rr::trace_diff_exit_status(r) == 0);
  }
  viona::Quirks q;
  q.set(viona::QuirkKind::illumos_14032);
  viona_rr::TraceDiffResult r = viona_rr::diff_with_replay("traces/seed-14032-split.trace", q);
  CHECK(viona_rr::trace_diff_exit_status(r) == 1);
  CHECK(r.b_path == "replay of traces/seed-14032-split.trace with illumos-14032");
  REQUIRE(r.differences.size() >= 2);
  CHECK(r.differences[0].line() == "config: quirks: (none) | illumos-14032");
  // The first frame's merged copy fails: the used entry becomes too_short.
  CHECK(r.differences[1].where == "packet 1");
  bool too_short = false;
  for (const viona_rr::TraceDifference& d : r.differences) {
    too_short |= d.where == "packet 1" && d.b.find("too_short") != std::string::npos &&
                 d.b.find("2014 1514") != std::string::npos;
  }
  CHECK(too_short);
  viona_rr::TraceDiffResult bad = viona_rr::diff_with_replay("traces/none.trace", q);
  CHECK(viona_rr::trace_diff_exit_status(bad) == 2);
}

TEST_CASE("minimize: the 179-packet tcpreplay trace under illumos-14032 shrinks to the packets that matter") {
  ScratchDir dir;
  const std::string t = "traces/tcpreplay-linux-mrg.trace";
  viona_rr::MinimizeOptions o;
  o.replay_quirks.set(viona::QuirkKind::illumos_14032);
  o.out = dir.file("min.trace");
  viona_rr::MinimizeResult res;
  std::string err;
  REQUIRE_MESSAGE(viona_rr::minimize_trace(t, o, &res, &err) == 0, err);
  CHECK(res.original_packets == 179);
  CHECK(viona::test::sql_int(t, "SELECT count(*) FROM packets") == 179);
  CHECK(res.target.kind == FindingKind::divergence);
  CHECK(res.target.rule == "event-mismatch");
  CHECK_FALSE(res.exhausted);
  CHECK(res.kept.size() <= 3);
  CHECK(res.kept.size() >= 1);
  CHECK(res.tests < 200);
  CHECK(viona::test::sql_int(o.out, "SELECT count(*) FROM packets") == static_cast<int64_t>(res.kept.size()));
  // The minimized trace still fails the same way under the quirk, and passes without it.
  ReplayResult r = viona_rr::replay_trace(o.out, q14032());
  REQUIRE_FALSE(r.findings.empty());
  CHECK(r.findings[0].kind == res.target.kind);
  CHECK(r.findings[0].rule == res.target.rule);
  CHECK(first_of(r, FindingKind::oracle, FindingSourceKind::replay, "too-short-overcount") != nullptr);
  CHECK(viona_rr::replay_trace(o.out, ReplayOptions{}).passed());
  CHECK(res.final_finding.rule == res.target.rule);
  // 1-minimal: dropping any one kept packet loses the failure.
  viona_rr::RerecordPlan plan;
  REQUIRE(viona_rr::rerecord_plan(o.out, &plan, &err));
  REQUIRE(plan.packets.size() == res.kept.size());
  for (size_t drop = 0; drop < plan.packets.size() && plan.packets.size() > 1; drop++) {
    std::vector<size_t> sub;
    for (size_t i = 0; i < plan.packets.size(); i++) {
      if (i != drop) sub.push_back(i);
    }
    const std::string x = dir.file("drop" + std::to_string(drop) + ".trace");
    REQUIRE_MESSAGE(viona_rr::rerecord(plan, sub, plan.spec.quirks, dir.path(), x, &err), err);
    ReplayResult rx = viona_rr::replay_trace(x, q14032());
    CHECK((rx.findings.empty() || rx.findings[0].rule != res.target.rule));
  }

  // Nothing to minimize without the quirk; an unreadable trace is an error.
  viona_rr::MinimizeOptions none;
  none.out = dir.file("none.trace");
  CHECK(viona_rr::minimize_trace(t, none, &res, &err) == 1);
  CHECK(err == t + ": no finding when replayed without quirks; nothing to minimize");
  CHECK(viona_rr::minimize_trace(dir.file("missing.trace"), o, &res, &err) == 2);
}

TEST_CASE("rerecord_plan: the trace's configuration comes back as a RecordSpec") {
  std::string err;
  viona_rr::RerecordPlan p;
  REQUIRE(viona_rr::rerecord_plan("traces/no-space-linux-mrg.trace", &p, &err));
  CHECK(p.spec.batch == 16);
  CHECK(p.spec.direction == "rx");
  CHECK(p.spec.memory == "paged");
  REQUIRE(p.spec.profile.has_value());
  CHECK(p.spec.profile->rx_chains == 8);
  CHECK(p.packets.size() == 179);
  REQUIRE(viona_rr::rerecord_plan("traces/gso-jumbo-linux-mrg-9000-contiguous.trace", &p, &err));
  CHECK(p.spec.mtu == 9000);
  CHECK(p.spec.memory == "contiguous");
  CHECK(p.spec.batch == 1);
  REQUIRE(viona_rr::rerecord_plan("traces/tcpreplay-linux-small-tx.trace", &p, &err));
  CHECK(p.spec.direction == "tx");
  CHECK(p.packets.size() == 179);
  REQUIRE(viona_rr::rerecord_plan("traces/tcpreplay-linux-mrg-both.trace", &p, &err));
  CHECK(p.spec.direction == "both");
  CHECK(p.packets.size() == 179);  // the RX frames, not the guest's echoes
  CHECK_FALSE(viona_rr::rerecord_plan("traces/none.trace", &p, &err));
}

TEST_CASE("subset_frame: a frame-numbered scenario option acts between the same kept frames") {
  // 10 packets (indices 0..9); "after frame N" follows indices 0..N-1.
  const std::vector<size_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (uint64_t n : {0u, 1u, 3u, 10u, 11u, 25u}) CHECK(viona_rr::subset_frame(10, all, n) == n);
  const std::vector<size_t> sub = {1, 4, 5, 8};
  CHECK(viona_rr::subset_frame(10, sub, 0) == 0);
  CHECK(viona_rr::subset_frame(10, sub, 1) == 0);   // before kept index 1
  CHECK(viona_rr::subset_frame(10, sub, 2) == 1);   // after kept index 1
  CHECK(viona_rr::subset_frame(10, sub, 5) == 2);   // between kept 4 and 5
  CHECK(viona_rr::subset_frame(10, sub, 6) == 3);
  CHECK(viona_rr::subset_frame(10, sub, 9) == 4);   // after the last kept
  CHECK(viona_rr::subset_frame(10, sub, 10) == 4);  // after the last frame: it acted, after the last kept
  // Past the recording's frames it never acted, and never acts.
  CHECK(viona_rr::subset_frame(10, sub, 11) == 5);
  CHECK(viona_rr::subset_frame(10, sub, 20) == 14);
}

namespace {
// The first 12 tcpreplay frames to linux-small with the RX head chain
// malformed (bad_idx) after frame 3: the scenario config_scenario keeps.
RecordSpec corrupt_bad_idx3_spec() {
  RecordSpec s;
  s.pcap = "tcpreplay__test.pcap";
  s.count = 12;
  s.guest = "linux-small";
  s.ring_size = 64;
  s.corrupt = "bad_idx@3";
  return s;
}
}  // namespace

TEST_CASE("diff --replay: a --corrupt bad_idx@3 recording is its own replay") {
  // Before config_scenario the re-recording left --corrupt out: it
  // delivered all 12 frames cleanly, so diff --replay reported the scenario
  // region (config) and every packet from 4 on as different.
  ScratchDir dir;
  RecordSpec s = corrupt_bad_idx3_spec();
  RecordSummary sum;
  const std::string t = viona::test::record_scenario(dir, "corrupt.trace", s, &sum);
  REQUIRE(sum.accepted == 3);
  REQUIRE(sum.dropped == 9);
  viona_rr::TraceDiffResult r = viona_rr::diff_with_replay(t, viona::Quirks{});
  INFO(r.error.message << (r.differences.empty() ? "" : r.differences[0].line()));
  CHECK(r.identical());
  CHECK(r.a_packets == 12);
  CHECK(r.b_packets == 12);
  viona_rr::RerecordPlan plan;
  std::string err;
  REQUIRE(viona_rr::rerecord_plan(t, &plan, &err));
  CHECK(plan.spec.corrupt == "bad_idx@3");
  CHECK(plan.spec.count == 0);  // the 12 packets are already counted

  // A trace with a scenario against one recorded differently: the scenario
  // differs key by key; a library trace (no scenario) is not compared on it.
  RecordSpec clean = s;
  clean.corrupt.clear();
  const std::string c = viona::test::record_scenario(dir, "clean.trace", clean);
  viona_rr::TraceDiffResult d = viona_rr::diff_traces(t, c);
  REQUIRE_FALSE(d.differences.empty());
  bool scen = false;
  for (const viona_rr::TraceDifference& x : d.differences) {
    scen |= x.line() == "config: scenario corrupt: bad_idx@3 | ";
  }
  CHECK(scen);
}

TEST_CASE("diff --replay: --repeat, --batch, -c, --filter, --migrate-at and --backend-offload come back") {
  // Without the scenario the replay had batch 5 but no repeat boundary, no
  // migration and no backend offloads (features_negotiated differed).
  ScratchDir dir;
  RecordSpec s;
  s.pcap = "tcpreplay__test.pcap";
  s.count = 12;
  s.repeat = 2;
  s.batch = 5;
  s.migrate_at = 7;
  s.backend_offload = "partial";
  s.filter = "ip";
  const std::string t = viona::test::record_scenario(dir, "rich.trace", s);
  viona_rr::TraceDiffResult r = viona_rr::diff_with_replay(t, viona::Quirks{});
  INFO(r.error.message << (r.differences.empty() ? "" : r.differences[0].line()));
  CHECK(r.identical());
  CHECK(r.a_packets == 24);
  viona_rr::RerecordPlan plan;
  std::string err;
  REQUIRE(viona_rr::rerecord_plan(t, &plan, &err));
  CHECK(plan.spec.repeat == 1);
  CHECK(plan.spec.batch == 5);
  CHECK(plan.spec.migrate_at == 7);
  CHECK(plan.spec.backend_offload == "partial");
  CHECK(plan.spec.filter == "ip");
  CHECK(plan.packets.size() == 24);
  REQUIRE(plan.scenario.has_value());
  CHECK(plan.scenario->repeat == 2);
  CHECK(plan.scenario->count == 12);
}

TEST_CASE("minimize: a corrupt-chain trace keeps its --corrupt, mapped onto the kept packets") {
  // Under pre-OS-6815 the first finding is at packet 10, a short frame
  // after the corruption: recorded, rx_pad_short; replayed, the failed pop
  // (bad_idx). Before config_scenario the re-recordings were clean, so
  // minimize "kept" packet 10 without the corruption and the minimized
  // trace failed differently (a chain where the pad probe was).
  ScratchDir dir;
  RecordSpec s = corrupt_bad_idx3_spec();
  const std::string t = viona::test::record_scenario(dir, "corrupt.trace", s);
  viona_rr::MinimizeOptions o;
  o.replay_quirks.set(viona::QuirkKind::pre_os_6815);
  o.out = dir.file("min.trace");
  viona_rr::MinimizeResult res;
  std::string err;
  REQUIRE_MESSAGE(viona_rr::minimize_trace(t, o, &res, &err) == 0, err);
  CHECK(res.original_packets == 12);
  CHECK(res.target.rule == "event-mismatch");
  CHECK(res.target.actual.find("bad_idx") != std::string::npos);
  REQUIRE(res.kept == std::vector<uint64_t>{10});
  // Packet 10 came after frame 3, so in the one-packet trace the head chain
  // is malformed before the first frame: bad_idx@0.
  viona_rr::RerecordPlan plan;
  REQUIRE(viona_rr::rerecord_plan(o.out, &plan, &err));
  REQUIRE(plan.scenario.has_value());
  CHECK(plan.scenario->corrupt() == "bad_idx@0");
  CHECK(plan.scenario->count == 0);
  CHECK(viona::test::sql_int(o.out, "SELECT count(*) FROM packets") == 1);
  REQUIRE(res.final_finding.rule == "event-mismatch");
  CHECK(res.final_finding.packet_seq == 1);
  CHECK(res.final_finding.expected.find("rx_pad_short") != std::string::npos);
  CHECK(res.final_finding.actual.find("bad_idx") != std::string::npos);
  // The minimized trace passes without the quirk and is its own replay.
  CHECK(viona_rr::replay_trace(o.out, ReplayOptions{}).passed());
  CHECK(viona_rr::diff_with_replay(o.out, viona::Quirks{}).identical());
}
