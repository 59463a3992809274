// SPDX-License-Identifier: MIT
// replay_test.cpp: the replay engine on the trace library, on altered and corrupt traces, at any -j.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "replay/replay_batch.h"
#include "replay/replayer.h"
#include "tests/support/trace_scenario.h"

using viona::test::ScratchDir;
using viona_rr::FindingKind;
using viona_rr::FindingSourceKind;
using viona_rr::ReplayOptions;
using viona_rr::ReplayResult;
using viona_rr::TraceErrorKind;

namespace {

ReplayOptions with_quirk(viona::QuirkKind k) {
  ReplayOptions o;
  o.quirks.set(k);
  return o;
}

}  // namespace

TEST_CASE("replay: every library trace replays clean, every packet and op accounted for") {
  const std::vector<std::string> paths = viona::test::library_trace_paths();
  REQUIRE(paths.size() == 35);
  for (const std::string& p : paths) {
    ReplayResult r = viona_rr::replay_trace(p, ReplayOptions{});
    INFO(p << ": " << (r.findings.empty() ? r.error.message : r.findings[0].headline()));
    CHECK(r.error.ok());
    CHECK(r.passed());
    CHECK(r.findings.empty());
    CHECK_FALSE(r.incomplete);
    CHECK(static_cast<int64_t>(r.packets) == viona::test::sql_int(p, "SELECT count(*) FROM packets"));
    CHECK(static_cast<int64_t>(r.ops) == viona::test::sql_int(p, "SELECT count(*) FROM ops"));
    const int64_t events = viona::test::sql_int(
        p,
        "SELECT (SELECT count(*) FROM chains) + (SELECT count(*) FROM used) + (SELECT count(*) FROM probes) + "
        "(SELECT count(*) FROM digests) + (SELECT count(*) FROM interrupts) + (SELECT count(*) FROM "
        "counter_snapshots)");
    CHECK(static_cast<int64_t>(r.events) == events);
  }
}

TEST_CASE("replay: one altered used length is a divergence at exactly that op and packet, reported first") {
  ScratchDir dir;
  const std::string t = dir.file("altered.trace");
  viona::test::copy_file("traces/tcpreplay-linux-mrg.trace", t);
  // Packet 50 (81 bytes, one merged buffer): its one used entry.
  const int64_t seq = viona::test::sql_int(t, "SELECT seq FROM used WHERE packet_seq = 50");
  const int64_t op = viona::test::sql_int(t, "SELECT op_seq FROM used WHERE packet_seq = 50");
  REQUIRE(viona::test::sql_int(t, "SELECT count(*) FROM used WHERE packet_seq = 50") == 1);
  REQUIRE(viona::test::sql_int(t, "SELECT len FROM used WHERE packet_seq = 50") == 93);
  REQUIRE(viona::test::sql_exec(t, "UPDATE used SET len = len + 1 WHERE seq = " + std::to_string(seq)) == 1);

  ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
  REQUIRE(r.error.ok());
  REQUIRE(r.findings.size() == 2);
  const viona_rr::Finding& f = r.findings[0];
  CHECK(f.kind == FindingKind::divergence);
  CHECK(f.rule == "event-mismatch");
  CHECK(f.op_seq == static_cast<uint64_t>(op));
  REQUIRE(f.packet_seq.has_value());
  CHECK(*f.packet_seq == 50);
  CHECK(f.ring == 0);
  CHECK(f.message == "rx_batch event 2: used differs");
  CHECK(f.expected.find("len 94 pkt 50") != std::string::npos);
  CHECK(f.actual.find("len 93 pkt 50") != std::string::npos);
  // The recording's own sum no longer adds up either (header 12 + 81).
  const viona_rr::Finding& g = r.findings[1];
  CHECK(g.kind == FindingKind::oracle);
  CHECK(g.source == FindingSourceKind::recording);
  CHECK(g.rule == "used-len-sum");
  CHECK(g.op_seq == static_cast<uint64_t>(op));
  CHECK(g.expected == "93");
  CHECK(g.actual == "94");
  // A divergence stops the replay at that op.
  CHECK(r.ops == static_cast<uint64_t>(op));
  CHECK(viona_rr::replay_exit_status({r}) == 1);
}

TEST_CASE("replay: results and their order are the same at -j1 and -j2") {
  std::vector<std::string> paths = viona::test::library_trace_paths();
  paths.push_back("traces/does-not-exist.trace");  // an error keeps its place too
  for (const ReplayOptions& o : {ReplayOptions{}, with_quirk(viona::QuirkKind::illumos_14032),
                                 with_quirk(viona::QuirkKind::pre_os_6815)}) {
    std::vector<ReplayResult> a = viona_rr::replay_all(paths, o, 1);
    std::vector<ReplayResult> b = viona_rr::replay_all(paths, o, 2);
    REQUIRE(a.size() == paths.size());
    REQUIRE(b.size() == paths.size());
    size_t failing = 0;
    for (size_t i = 0; i < paths.size(); i++) {
      INFO(paths[i]);
      CHECK(a[i].path == paths[i]);
      CHECK(b[i].path == paths[i]);
      CHECK(a[i].error.message == b[i].error.message);
      CHECK(a[i].ops == b[i].ops);
      CHECK(a[i].events == b[i].events);
      CHECK(viona::test::headlines(a[i]) == viona::test::headlines(b[i]));
      failing += a[i].error.ok() && !a[i].passed();
    }
    CHECK(a.back().error.kind == TraceErrorKind::not_a_file);
    CHECK(viona_rr::replay_exit_status(a) == 2);
    // traces/README.md's quirk matrix: 0, 7 and 16 traces detect these.
    const size_t want = o.quirks.has(viona::QuirkKind::illumos_14032) ? 7 : o.quirks.has(viona::QuirkKind::pre_os_6815) ? 17 : 0;
    CHECK(failing == want);
  }
}

TEST_CASE("replay: corrupt traces are errors with exit status 2, never a crash") {
  ScratchDir dir;
  const std::string good = "traces/tcpreplay-linux-mrg.trace";
  ReplayResult ok = viona_rr::replay_trace(good, ReplayOptions{});
  REQUIRE(ok.passed());

  SUBCASE("truncated file") {
    const std::string t = dir.file("truncated.trace");
    viona::test::copy_file(good, t);
    REQUIRE(truncate(t.c_str(), 8192) == 0);
    ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
    CHECK_FALSE(r.error.ok());
    CHECK(r.error.kind == TraceErrorKind::corrupt);
    CHECK(r.findings.empty());
    CHECK(viona_rr::replay_exit_status({ok, r}) == 2);
  }
  SUBCASE("random bytes") {
    const std::string t = dir.file("random.trace");
    std::vector<uint8_t> bytes(8192);
    uint32_t x = 0x12345678;
    for (uint8_t& b : bytes) {
      x = x * 1103515245u + 12345u;
      b = static_cast<uint8_t>(x >> 24);
    }
    viona::test::write_bytes(t, bytes);
    ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
    CHECK(r.error.kind == TraceErrorKind::not_sqlite);
    CHECK(viona_rr::replay_exit_status({r, ok}) == 2);
  }
  SUBCASE("a mem_write outside guest memory") {
    const std::string t = dir.file("memwrite.trace");
    viona::test::copy_file(good, t);
    const int64_t op = viona::test::sql_int(t, "SELECT min(seq) FROM ops WHERE kind = 1");
    REQUIRE(op > 0);
    REQUIRE(viona::test::sql_exec(t, "UPDATE ops SET arg0 = 1099511627776 WHERE seq = " + std::to_string(op)) == 1);
    ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
    CHECK(r.error.kind == TraceErrorKind::corrupt);
    CHECK(r.error.message == t + ": ops: row " + std::to_string(op) +
                                 ": mem_write outside guest memory at 1099511627776");
    CHECK(r.ops == static_cast<uint64_t>(op));
    CHECK(viona_rr::replay_exit_status({r}) == 2);
  }
  SUBCASE("an rx_batch naming packets the trace does not hold") {
    const std::string t = dir.file("rxbatch.trace");
    viona::test::copy_file(good, t);
    const int64_t op = viona::test::sql_int(t, "SELECT min(seq) FROM ops WHERE kind = 14");
    REQUIRE(op > 0);
    REQUIRE(viona::test::sql_exec(t, "UPDATE ops SET arg0 = 179, arg1 = 2 WHERE seq = " + std::to_string(op)) == 1);
    ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
    CHECK(r.error.kind == TraceErrorKind::corrupt);
    CHECK(r.error.message ==
          t + ": ops: row " + std::to_string(op) + ": rx_batch names packets 179..181 that the trace does not hold");
    CHECK(viona_rr::replay_exit_status({r}) == 2);
  }
  SUBCASE("an rx_batch naming a deleted packet") {
    const std::string t = dir.file("deleted.trace");
    viona::test::copy_file(good, t);
    REQUIRE(viona::test::sql_exec(t, "DELETE FROM packets WHERE seq = 5") == 1);
    ReplayResult r = viona_rr::replay_trace(t, ReplayOptions{});
    CHECK(r.error.kind == TraceErrorKind::corrupt);
    CHECK(r.error.message == t + ": packets: packet 5 is missing");
    CHECK(viona_rr::replay_exit_status({r}) == 2);
  }
}

TEST_CASE("replay: exit status is 0 when all pass, 1 on a finding") {
  ReplayResult a = viona_rr::replay_trace("traces/seed-14032-split.trace", ReplayOptions{});
  ReplayResult b = viona_rr::replay_trace("traces/seed-14032-split.trace", with_quirk(viona::QuirkKind::illumos_14032));
  CHECK(viona_rr::replay_exit_status({a}) == 0);
  CHECK(viona_rr::replay_exit_status({a, b}) == 1);
  CHECK(viona_rr::replay_exit_status({}) == 0);
}
