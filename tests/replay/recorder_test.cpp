// SPDX-License-Identifier: MIT
// recorder_test.cpp: the Recorder's writer thread writes the same trace as
// the inline recorder, commits on flush() and reports writer errors.
#include "replay/recorder.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "replay/trace_reader.h"
#include "replay/trace_writer.h"
#include "tests/support/killed_child.h"
#include "tests/support/guest_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trace_scenario.h"

using namespace viona_rr;
using viona::test::TempDir;

namespace {

TraceContents read_trace(const std::string& path) {
  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  REQUIRE(err.ok());
  TraceContents c;
  REQUIRE(r->read_all(&c).ok());
  return c;
}

// The mem_write blob of op k (1-based): 5 bytes naming k.
std::vector<uint8_t> blob_of(uint64_t k) {
  return {uint8_t(k), uint8_t(k >> 8), uint8_t(k >> 16), 0xa5, uint8_t(k * 7)};
}

// |n| guest writes into |mem|, each one mem_write op of the recorder.
void guest_writes(viona::GuestMemory& mem, uint64_t first, uint64_t n) {
  for (uint64_t k = first; k < first + n; k++) {
    const std::vector<uint8_t> b = blob_of(k);
    REQUIRE(mem.write(viona::test::GuestFixture::kBase + 8 * (k % 4096), b.data(), b.size()));
  }
}

}  // namespace

TEST_CASE("the writer thread records the same trace as the inline recorder, row for row") {
  viona::test::ScratchDir dir;
  struct Case {
    const char* name;
    RecordSpec spec;
  };
  std::vector<Case> cases;
  {
    RecordSpec s;  // RX, merged buffers, 8-frame batches, repeated: many hand-offs
    s.pcap = "tcpreplay__test.pcap";
    s.guest = "linux-mrg";
    s.batch = 8;
    s.repeat = 3;
    cases.push_back({"rx-mrg", s});
  }
  {
    RecordSpec s;  // TX: packets tagged after their chain, per-packet snapshots
    s.pcap = "tcpreplay__test.pcap";
    s.guest = "linux-small";
    s.direction = "tx";
    cases.push_back({"tx-small", s});
  }
  {
    RecordSpec s;  // both directions, jumbo GSO frames over many pieces
    s.pcap = "tcpdump__gso-ipv4.pcap";
    s.guest = "linux-mrg";
    s.mtu = 9000;
    s.direction = "both";
    cases.push_back({"both-gso", s});
  }
  {
    RecordSpec s;  // malformed chains: probes and error counters
    s.pcap = "tcpreplay__test.pcap";
    s.guest = "linux-small";
    s.corrupt = "bad_idx@3";
    cases.push_back({"corrupt", s});
  }
  size_t most_ops = 0;
  for (Case& c : cases) {
    CAPTURE(c.name);
    RecordSummary si, st;
    RecordSpec inl = c.spec, thr = c.spec;
    inl.writer_thread = false;
    thr.writer_thread = true;
    const std::string a = viona::test::record_scenario(dir, std::string(c.name) + "-inline.trace", inl, &si);
    const std::string b = viona::test::record_scenario(dir, std::string(c.name) + "-thread.trace", thr, &st);
    const TraceContents x = read_trace(a), y = read_trace(b);
    CHECK(si.packets == st.packets);
    CHECK(si.ops == st.ops);
    CHECK(x.ops.size() == si.ops);
    CHECK(x.packets.size() == si.packets);
    CHECK(!x.used.empty());
    CHECK(!x.counters.empty());
    CHECK(x.config == y.config);
    CHECK(x.packets == y.packets);
    CHECK(x.ops == y.ops);
    CHECK(x.chains == y.chains);
    CHECK(x.used == y.used);
    CHECK(x.probes == y.probes);
    CHECK(x.counters == y.counters);
    CHECK(x.digests == y.digests);
    CHECK(x.interrupts == y.interrupts);
    most_ops = std::max(most_ops, x.ops.size() + x.packets.size() + x.used.size() + x.chains.size());
  }
  // At least one case spans several blocks of the writer thread.
  CHECK(most_ops > 3 * kRecorderBlock);
}

TEST_CASE("writer thread: after flush() returns everything before it survives SIGKILL") {
  TempDir dir;
  const std::string path = dir.file("kill.trace");
  constexpr uint64_t kFlushed = 2500;  // two full blocks and a partial one
  const int status = viona::test::run_killed_child([&]() {
    TraceError e;
    TraceWriterOptions opts;
    opts.batch_records = 100000;  // nothing commits by itself
    auto w = TraceWriter::open(path, opts, &e);
    if (!w) return 2;
    viona::test::GuestFixture g;
    Recorder rec(w.get(), RecorderMode::writer_thread);
    rec.watch_memory(g.mem);
    for (uint64_t k = 1; k <= kFlushed; k++) {
      const std::vector<uint8_t> b = blob_of(k);
      if (!g.mem.write(viona::test::GuestFixture::kBase + 8 * (k % 4096), b.data(), b.size())) return 3;
    }
    rec.flush();
    if (!rec.error().ok()) return 4;
    for (uint64_t k = kFlushed + 1; k <= kFlushed + 10; k++) {
      const std::vector<uint8_t> b = blob_of(k);
      if (!g.mem.write(viona::test::GuestFixture::kBase, b.data(), b.size())) return 5;
    }
    viona::test::sigkill_self();  // with the batch (and writer thread) still live
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  CHECK(err.kind == TraceErrorKind::incomplete);
  std::vector<TraceOp> ops;
  REQUIRE(r->read_ops(&ops).ok());
  REQUIRE(ops.size() == kFlushed);
  for (uint64_t k = 1; k <= kFlushed; k++) {
    const TraceOp& op = ops[k - 1];
    REQUIRE(op.seq == k);
    REQUIRE(op.kind == OpKind::mem_write);
    REQUIRE(op.args[0] == viona::test::GuestFixture::kBase + 8 * (k % 4096));
    REQUIRE(op.blob == blob_of(k));
  }
}

TEST_CASE("writer thread: a writer error surfaces through error() by flush(), the same as inline") {
  TempDir dir;
  std::string msg[2];
  for (int mode = 0; mode < 2; mode++) {
    CAPTURE(mode);
    const std::string path = dir.file("fail" + std::to_string(mode) + ".trace");
    TraceError e;
    TraceWriterOptions opts;
    opts.batch_records = 100;
    opts.fail_nth_write = 40;  // an insert inside the first transaction after open's own writes
    auto w = TraceWriter::open(path, opts, &e);
    REQUIRE(w);
    viona::test::GuestFixture g;
    Recorder rec(w.get(), mode == 0 ? RecorderMode::inline_writer : RecorderMode::writer_thread);
    CHECK(rec.mode() == (mode == 0 ? RecorderMode::inline_writer : RecorderMode::writer_thread));
    rec.watch_memory(g.mem);
    guest_writes(g.mem, 1, 3000);
    rec.flush();
    CHECK(rec.error().kind == TraceErrorKind::io);
    CHECK(rec.ops() == 3000);
    msg[mode] = rec.error().message;
    REQUIRE(msg[mode].compare(0, path.size(), path) == 0);
    msg[mode].erase(0, path.size());  // the same failure, but in a different file
  }
  CHECK(msg[0] == ": write to ops: injected fault (write 40)");
  CHECK(msg[0] == msg[1]);
}

TEST_CASE("writer thread: drain() hands everything to the writer; the destructor drains too") {
  TempDir dir;
  const std::string path = dir.file("drain.trace");
  TraceError e;
  auto w = TraceWriter::open(path, {}, &e);
  REQUIRE(w);
  viona::test::GuestFixture g;
  {
    Recorder rec(w.get(), RecorderMode::writer_thread);
    rec.watch_memory(g.mem);
    guest_writes(g.mem, 1, 1500);
    rec.drain();
    // The writer is the caller's again: write the config directly.
    TraceConfig cfg;
    cfg.ring_sizes = {256, 256};
    REQUIRE(w->write_config(cfg).ok());
    guest_writes(g.mem, 1501, 7);  // below one block: only the destructor hands it over
  }
  REQUIRE(w->close().ok());
  const TraceContents c = read_trace(path);
  REQUIRE(c.ops.size() == 1507);
  for (uint64_t k = 1; k <= 1507; k++) {
    REQUIRE(c.ops[k - 1].seq == k);
    REQUIRE(c.ops[k - 1].blob == blob_of(k));
  }
}
