// SPDX-License-Identifier: MIT
// trace_writer_test.cpp: TraceWriter: round trip of every record, versions, batching, crash safety, faults.
#include "replay/trace_writer.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "replay/trace_format.h"
#include "tests/support/killed_child.h"
#include "tests/support/temp_dir.h"
#include "replay/trace_reader.h"

using namespace viona_rr;

namespace {

// A fresh directory per test, removed with its files.
struct TempDir : viona::test::TempDir {
  TempDir() : viona::test::TempDir("trace_writer_test") {}
};

bool exists(const std::string& p) {
  struct stat sb;
  return ::stat(p.c_str(), &sb) == 0;
}

std::vector<uint8_t> file_bytes(const std::string& p) {
  std::vector<uint8_t> b;
  FILE* f = fopen(p.c_str(), "rb");
  if (!f) return b;
  int c;
  while ((c = fgetc(f)) != EOF) b.push_back(static_cast<uint8_t>(c));
  fclose(f);
  return b;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t off) {
  return (uint32_t{b[off]} << 24) | (uint32_t{b[off + 1]} << 16) | (uint32_t{b[off + 2]} << 8) | b[off + 3];
}

// One of every record kind, with edge values: full 64-bit values (bit 63
// set), NULL and non-NULL packet_seq, empty and non-empty blobs, an
// indirect descriptor, every quirk, every counter distinct.
struct Sample : TraceContents {

  Sample() {
    config.features_negotiated = 0x8000000000010020ull;
    config.features_offered = 0xffffffffffffffffull;
    config.mtu = 9000;
    config.ring_sizes = {256, 1024, 0};
    config.memory_mode = viona::MemoryMode::contiguous;
    config.guest_profile = "illumos-vioif";
    config.guest_layout = R"({"rx_buf":2048,"indirect":true})";
    config.params.tx_copy_data = false;
    config.params.tx_header_pad = 256;
    for (unsigned i = 0; i < viona::kQuirkCount; i++) config.quirks.set(static_cast<viona::QuirkKind>(i));
    config.offloads.cksum_partial = true;
    config.offloads.cksum_full_v6 = true;
    config.offloads.lso_tcpv4 = true;
    config.offloads.lso_max = 0xffffffffu;
    config.regions = {{0x100000, 0x1000000}, {0xfffffffffff00000ull, 0x100000}};
    config.direction = DirectionKind::tx;
    config.mac = {0x02, 0x08, 0x20, 0xff, 0x00, 0x01};
    // Every scenario field off its default, numbers at their limits, a
    // filter with spaces, quotes and a non-ASCII byte.
    TraceScenario sc;
    sc.corrupt_kind = "ndesc_too_high";
    sc.corrupt_after = 0xffffffffffffffffull;
    sc.tx_offload = true;
    sc.backend_offload = "lso";
    sc.rx_lso = 65535;
    sc.migrate_at = 0x8000000000000000ull;
    sc.batch = 0xffffffffu;
    sc.repeat = 7;
    sc.count = 1;
    sc.filter = "tcp and host 10.0.0.1 or 'x' \xc3\xa9";
    sc.feature_mask = 0x8000000000000001ull;
    config.scenario = sc;

    TracePacket p1;
    p1.seq = 1;
    p1.timestamp_ns = 0xfedcba9876543210ull;
    p1.direction = DirectionKind::rx;
    p1.data = {0x00, 0xff, 0x10, 0x00, 0x80};
    p1.orig_len = 1514;
    TracePacket p2;
    p2.seq = 2;
    p2.direction = DirectionKind::tx;
    p2.orig_len = 0;  // an empty capture
    packets = {p1, p2};

    TraceOp w;
    w.seq = 1;
    w.kind = OpKind::mem_write;
    w.args[0] = 0x100000;
    w.blob = {1, 2, 3, 0, 0xff};
    TraceOp st;
    st.seq = 2;
    st.kind = OpKind::ring_set_state;
    st.ring = 1;
    st.args = {65535, 7, 1024, 0xffffffffffff0000ull, 0x8000000000000000ull, 3};
    TraceOp snap;
    snap.seq = 3;
    snap.kind = OpKind::snapshot;
    ops = {w, st, snap};

    TraceChain c;
    c.seq = 1;
    c.op_seq = 2;
    c.ring = 1;
    c.avail_idx = 65535;
    c.cookie = 1023;
    c.total_len = 0xffffffffu;
    c.packet_seq = 2;
    c.descs = {{0, -1, 0x100000, 16, 0x4 /* INDIRECT */, 0, 0, 0},
               {0, 0, 0x8000000000000000ull, 4096, 0x1, 1, 0, 2},
               {1, 0, 0x200ff0, 0xffffffffu, 0x2, 0, 2, 1}};
    c.pieces = {{0x8000000000000000ull, 10, false}, {0x8000000000001000ull, 4086, false}, {0x200ff0, 16, true}};
    TraceChain c2;
    c2.seq = 4;
    c2.op_seq = 0;
    c2.ring = 0;
    chains = {c, c2};

    TraceUsed u;
    u.seq = 2;
    u.op_seq = 2;
    u.ring = 1;
    u.used_idx = 65535;
    u.slot = 1023;
    u.id = 0xffffffffu;
    u.len = 0x80000000u;
    u.packet_seq = 0xffffffffffffffffull;
    TraceUsed u2 = u;
    u2.seq = 5;
    u2.packet_seq.reset();
    used = {u, u2};

    TraceProbe pr;
    pr.seq = 3;
    pr.op_seq = 2;
    pr.ring = 0;
    pr.kind = viona::ProbeKind::too_short;
    pr.arg = {1, 2014, 0xffffffffffffffffull};
    pr.packet_seq = 1;
    TraceProbe pr2;
    pr2.seq = 6;
    pr2.kind = viona::ProbeKind::tx_hook_drop;
    probes = {pr, pr2};

    TraceCounterSnapshot cs;
    cs.seq = 7;
    cs.op_seq = 3;
    cs.ring = 1;
    for (size_t i = 0; i < viona::kRsCounterCount; i++) cs.rs.at(static_cast<viona::RsCounter>(i)) = 100 + i;
    cs.rs.at(viona::RsCounter::too_short) = 0xffffffffffffffffull;
    cs.vts = {1, 2, 3, 0x8000000000000000ull};
    counters = {cs};

    TraceDigest d;
    d.seq = 8;
    d.op_seq = 3;
    d.ring = 0;
    d.cookie = 5;
    d.used_idx = 9;
    d.digest = 0xcbf29ce484222325ull;
    d.nbytes = 1524;
    digests = {d};

    TraceInterrupt in;
    in.seq = 9;
    in.op_seq = 3;
    in.ring = 0;
    in.kind = viona::InterruptKind::already;
    TraceInterrupt in2 = in;
    in2.seq = 10;
    in2.kind = viona::InterruptKind::msi;
    interrupts = {in, in2};
  }

  // Writes everything; returns the first error.
  TraceError write(TraceWriter* w) const {
    TraceError e = w->write_config(config);
    for (const auto& r : packets) e = e.ok() ? w->add_packet(r) : e;
    for (const auto& r : ops) e = e.ok() ? w->add_op(r) : e;
    for (const auto& r : chains) e = e.ok() ? w->add_chain(r) : e;
    for (const auto& r : used) e = e.ok() ? w->add_used(r) : e;
    for (const auto& r : probes) e = e.ok() ? w->add_probe(r) : e;
    for (const auto& r : counters) e = e.ok() ? w->add_counters(r) : e;
    for (const auto& r : digests) e = e.ok() ? w->add_digest(r) : e;
    for (const auto& r : interrupts) e = e.ok() ? w->add_interrupt(r) : e;
    return e;
  }
};

TracePacket numbered_packet(uint64_t seq) {
  TracePacket p;
  p.seq = seq;
  p.data.assign(60, static_cast<uint8_t>(seq));
  p.orig_len = 60;
  return p;
}

}  // namespace

// The format version is pinned: bumping it must be a deliberate edit of
// this test, the schema comment and the man page (STYLE.md rule 23).
TEST_CASE("kTraceFormatVersion is 2") {
  CHECK(kTraceFormatVersion == 2);
  CHECK(kTraceApplicationId == 0x564e5252);
}

TEST_CASE("trace header carries application_id and user_version; close leaves one file") {
  TempDir dir;
  std::string path = dir.file("h.trace");
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE(w);
  CHECK(err.ok());
  CHECK(exists(path + "-wal"));  // WAL while recording
  CHECK(Sample().write(w.get()).ok());
  CHECK(w->close().ok());
  CHECK_FALSE(exists(path + "-wal"));
  CHECK_FALSE(exists(path + "-shm"));
  std::vector<uint8_t> b = file_bytes(path);
  REQUIRE(b.size() >= 100);
  CHECK(memcmp(b.data(), "SQLite format 3", 16) == 0);
  CHECK(be32(b, 60) == 2);            // user_version
  CHECK(be32(b, 68) == 0x564e5252u);  // application_id
  CHECK(b[18] == 1);                  // write version: rollback journal, not WAL
  CHECK(b[19] == 1);
}

TEST_CASE("round trip of every record kind is exact") {
  TempDir dir;
  std::string path = dir.file("rt.trace");
  Sample s;
  TraceWriterOptions opts;
  opts.tool_version = "viona-rr test";
  opts.host = "testhost";
  opts.created_unix_ns = 1234567890123456789;
  opts.batch_records = 2;  // several batches
  TraceError err;
  auto w = TraceWriter::open(path, opts, &err);
  REQUIRE(w);
  REQUIRE(s.write(w.get()).ok());
  REQUIRE(w->close().ok());

  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  CHECK(err.kind == TraceErrorKind::ok);
  CHECK(r->complete());
  CHECK(r->user_version() == 2);
  CHECK(r->meta().format_version == 2);
  CHECK(r->meta().required_reader_version == 2);
  CHECK(r->meta().tool_version == "viona-rr test");
  CHECK(r->meta().host == "testhost");
  CHECK(r->meta().created_unix_ns == 1234567890123456789);
  CHECK(r->meta().quirks.bits == s.config.quirks.bits);

  TraceConfig cfg;
  REQUIRE(r->read_config(&cfg).ok());
  CHECK(cfg == s.config);
  CHECK(cfg.dump_raw() == s.config.dump_raw());
  REQUIRE(cfg.scenario.has_value());
  CHECK(*cfg.scenario == *s.config.scenario);
  CHECK(cfg.scenario->corrupt_kind == "ndesc_too_high");
  CHECK(cfg.scenario->corrupt_after == 0xffffffffffffffffull);
  CHECK(cfg.scenario->tx_offload);
  CHECK(cfg.scenario->backend_offload == "lso");
  CHECK(cfg.scenario->rx_lso == 65535);
  CHECK(cfg.scenario->migrate_at == 0x8000000000000000ull);
  CHECK(cfg.scenario->batch == 0xffffffffu);
  CHECK(cfg.scenario->repeat == 7);
  CHECK(cfg.scenario->count == 1);
  CHECK(cfg.scenario->filter == s.config.scenario->filter);
  CHECK(cfg.scenario->feature_mask == 0x8000000000000001ull);
  CHECK(cfg.scenario->dump_raw() == s.config.scenario->dump_raw());

  std::vector<TracePacket> packets;
  REQUIRE(r->read_packets(&packets).ok());
  CHECK(packets == s.packets);
  std::vector<TraceOp> ops;
  REQUIRE(r->read_ops(&ops).ok());
  CHECK(ops == s.ops);
  std::vector<TraceChain> chains;
  REQUIRE(r->read_chains(&chains).ok());
  CHECK(chains == s.chains);
  REQUIRE(chains.size() == 2);
  CHECK(chains[0].dump_raw() == s.chains[0].dump_raw());
  std::vector<TraceUsed> used;
  REQUIRE(r->read_used(&used).ok());
  CHECK(used == s.used);
  std::vector<TraceProbe> probes;
  REQUIRE(r->read_probes(&probes).ok());
  CHECK(probes == s.probes);
  std::vector<TraceCounterSnapshot> counters;
  REQUIRE(r->read_counters(&counters).ok());
  CHECK(counters == s.counters);
  std::vector<TraceDigest> digests;
  REQUIRE(r->read_digests(&digests).ok());
  CHECK(digests == s.digests);
  std::vector<TraceInterrupt> interrupts;
  REQUIRE(r->read_interrupts(&interrupts).ok());
  CHECK(interrupts == s.interrupts);

  uint64_t n = 0;
  REQUIRE(r->count_rows("counters", &n).ok());
  CHECK(n == viona::kRsCounterCount + 4);  // one row per counter name
  REQUIRE(r->count_rows("chain_pieces", &n).ok());
  CHECK(n == 3);
  CHECK(r->count_rows("sqlite_master", &n).kind == TraceErrorKind::misuse);

  std::vector<TracePacket> range;
  REQUIRE(r->read_packet_range(1, 2, &range).ok());
  CHECK(range == s.packets);
}

TEST_CASE("records are read in seq order whatever the insertion order") {
  TempDir dir;
  std::string path = dir.file("order.trace");
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE(w);
  for (uint64_t seq : {5, 3, 4}) REQUIRE(w->add_packet(numbered_packet(seq)).ok());
  REQUIRE(w->close().ok());
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  std::vector<uint64_t> seqs;
  REQUIRE(r->each_packet([&](const TracePacket& p) {
              seqs.push_back(p.seq);
              return true;
            }).ok());
  CHECK(seqs == std::vector<uint64_t>{3, 4, 5});
  // A visitor may stop early.
  seqs.clear();
  REQUIRE(r->each_packet([&](const TracePacket& p) {
              seqs.push_back(p.seq);
              return false;
            }).ok());
  CHECK(seqs == std::vector<uint64_t>{3});
}

TEST_CASE("batches commit every batch_records records; a concurrent reader sees only committed batches") {
  TempDir dir;
  std::string path = dir.file("batch.trace");
  TraceWriterOptions opts;
  opts.batch_records = 3;
  TraceError err;
  auto w = TraceWriter::open(path, opts, &err);
  REQUIRE(w);
  for (uint64_t seq = 1; seq <= 7; seq++) REQUIRE(w->add_packet(numbered_packet(seq)).ok());
  auto count_now = [&]() -> uint64_t {
    TraceError e;
    auto r = TraceReader::open(path, &e);
    REQUIRE(r);
    CHECK(e.kind == TraceErrorKind::incomplete);
    uint64_t n = 0;
    CHECK(r->count_rows("packets", &n).ok());
    return n;
  };
  CHECK(count_now() == 6);  // two full batches; the 7th is pending
  REQUIRE(w->flush().ok());
  CHECK(count_now() == 7);
  REQUIRE(w->close().ok());
}

TEST_CASE("a writer destroyed without close leaves an incomplete trace holding every record") {
  TempDir dir;
  std::string path = dir.file("dtor.trace");
  TraceError err;
  {
    auto w = TraceWriter::open(path, {}, &err);
    REQUIRE(w);
    for (uint64_t seq = 1; seq <= 5; seq++) REQUIRE(w->add_packet(numbered_packet(seq)).ok());
  }
  CHECK_FALSE(exists(path + "-wal"));
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  CHECK(err.kind == TraceErrorKind::incomplete);
  CHECK(err.message.find("incomplete") != std::string::npos);
  CHECK(err.message.find('\n') == std::string::npos);
  CHECK_FALSE(r->complete());
  std::vector<TracePacket> packets;
  REQUIRE(r->read_packets(&packets).ok());
  CHECK(packets.size() == 5);
  // No config was written: reading it is a specific error, not a crash.
  TraceConfig cfg;
  TraceError ce = r->read_config(&cfg);
  CHECK(ce.kind == TraceErrorKind::corrupt);
  CHECK(ce.message.find("table config") != std::string::npos);
}

// rr's "incomplete trace" case: the recorder dies by SIGKILL. Everything
// committed by flush() must survive; what was added after it must not
// appear half-written.
TEST_CASE("a recorder killed by SIGKILL after flush leaves exactly the flushed packets") {
  TempDir dir;
  std::string path = dir.file("kill.trace");
  constexpr uint64_t kFlushed = 25;
  const int status = viona::test::run_killed_child([&]() {
    TraceError e;
    TraceWriterOptions opts;
    opts.batch_records = 1000;  // nothing commits by itself
    auto w = TraceWriter::open(path, opts, &e);
    if (!w) return 2;
    for (uint64_t seq = 1; seq <= kFlushed; seq++) {
      if (!w->add_packet(numbered_packet(seq)).ok()) return 3;
    }
    if (!w->flush().ok()) return 4;
    for (uint64_t seq = kFlushed + 1; seq <= kFlushed + 10; seq++) {
      if (!w->add_packet(numbered_packet(seq)).ok()) return 5;
    }
    viona::test::sigkill_self();  // with the batch still open
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(exists(path + "-wal"));  // the committed data is in the WAL

  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  CHECK(err.kind == TraceErrorKind::incomplete);
  std::vector<TracePacket> packets;
  REQUIRE(r->read_packets(&packets).ok());
  REQUIRE(packets.size() == kFlushed);
  for (uint64_t i = 0; i < kFlushed; i++) CHECK(packets[i] == numbered_packet(i + 1));
}

TEST_CASE("writer misuse: existing path, call after close, duplicate seq") {
  TempDir dir;
  std::string path = dir.file("m.trace");
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE(w);

  auto again = TraceWriter::open(path, {}, &err);
  CHECK_FALSE(again);
  CHECK(err.kind == TraceErrorKind::not_a_file);
  CHECK(err.message.find("already exists") != std::string::npos);

  REQUIRE(w->add_packet(numbered_packet(1)).ok());
  TraceError dup = w->add_packet(numbered_packet(1));
  CHECK(dup.kind == TraceErrorKind::misuse);
  CHECK(dup.message.find("packets") != std::string::npos);
  // Sticky: the writer stays failed.
  CHECK(w->add_packet(numbered_packet(2)).kind == TraceErrorKind::misuse);
  CHECK(w->flush().kind == TraceErrorKind::misuse);
  CHECK(w->close().kind == TraceErrorKind::misuse);
  CHECK(w->close().message.find("already closed") != std::string::npos);
}

// SQLite-style fault injection (STYLE.md rule 21): fail the Nth statement
// step for N = 1, 2, ... until a run gets through. Every run must end with a
// clean error, and whatever file it leaves must open as a trace (ok or
// incomplete) whose tables all decode, or not exist at all.
TEST_CASE("fault injection: failing the Nth write ends cleanly") {
  TempDir dir;
  Sample s;
  bool succeeded = false;
  uint64_t n = 1;
  for (; n < 2000 && !succeeded; n++) {
    std::string path = dir.file(("f" + std::to_string(n) + ".trace").c_str());
    TraceWriterOptions opts;
    opts.fail_nth_write = n;
    opts.batch_records = 4;
    TraceError err;
    auto w = TraceWriter::open(path, opts, &err);
    if (!w) {
      CHECK(err.kind == TraceErrorKind::io);
      CHECK(err.message.find("injected fault") != std::string::npos);
      CHECK_FALSE(exists(path));
      continue;
    }
    TraceError e = s.write(w.get());
    if (e.ok()) e = w->close();
    if (e.ok()) {
      succeeded = true;
    } else {
      CHECK(e.kind == TraceErrorKind::io);
      CHECK(e.message.find("injected fault (write " + std::to_string(n) + ")") != std::string::npos);
    }
    w.reset();
    TraceError re;
    auto r = TraceReader::open(path, &re);
    REQUIRE_MESSAGE(r, re.message);
    CHECK((succeeded ? re.kind == TraceErrorKind::ok : re.kind == TraceErrorKind::incomplete));
    std::vector<TracePacket> p;
    std::vector<TraceChain> c;
    std::vector<TraceCounterSnapshot> k;
    CHECK(r->read_packets(&p).ok());
    CHECK(r->read_chains(&c).ok());
    CHECK(r->read_counters(&k).ok());
    // A chain is all or nothing: rows of a record share its transaction.
    for (const auto& ch : c) {
      for (const auto& ref : s.chains) {
        if (ref.seq == ch.seq) CHECK(ch == ref);
      }
    }
    if (succeeded) {
      CHECK(p == s.packets);
      CHECK(c == s.chains);
      CHECK(k == s.counters);
    }
  }
  CHECK(succeeded);
  CHECK(n > 20);  // the sample needs many writes; each was failed once
}

// Reference values computed once by an independent Python XXH64 (written
// from the xxHash spec; it reproduces the published "", "a" and "abc" values).
TEST_CASE("trace_digest is XXH64 and chains across pieces") {
  const uint8_t a[] = {'a'};
  const uint8_t foobar[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  CHECK(trace_digest(nullptr, 0, 0) == 0xef46db3751d8e999ull);
  CHECK(trace_digest(a, 1, 0) == 0xd24ec4f1a98c6e5bull);
  CHECK(trace_digest(foobar, 6, 0) == 0xa2aa05ed9085aaf9ull);
  CHECK(trace_digest(foobar, 6, 1) == 0xf83230d70d4ca00eull);
  std::vector<uint8_t> r100(100), r1536(1536);
  for (size_t i = 0; i < r100.size(); i++) r100[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < r1536.size(); i++) r1536[i] = static_cast<uint8_t>(i);
  CHECK(trace_digest(r100.data(), r100.size(), 0) == 0x6ac1e58032166597ull);
  CHECK(trace_digest(r100.data(), r100.size(), ~0ull) == 0x09a991a091c9f6d7ull);
  CHECK(trace_digest(r1536.data(), r1536.size(), 0) == 0x860b8d8edbc65915ull);

  TraceDigester d;
  CHECK(d.value() == 0xef46db3751d8e999ull);
  d.update(foobar, 2);
  d.update(foobar + 2, 0);
  d.update(foobar + 2, 4);
  CHECK(d.value() == 0xa2aa05ed9085aaf9ull);
  CHECK(d.nbytes() == 6);

  // Every split of 100 bytes into three pieces (blocks straddling piece
  // boundaries, pieces inside one block, empty pieces) equals the whole.
  for (size_t i = 0; i <= r100.size(); i += 3) {
    for (size_t j = i; j <= r100.size(); j += 5) {
      TraceDigester p;
      p.update(r100.data(), i);
      p.update(r100.data() + i, j - i);
      p.update(r100.data() + j, r100.size() - j);
      REQUIRE(p.value() == 0x6ac1e58032166597ull);
      REQUIRE(p.nbytes() == 100);
    }
  }
  // The RX path's pieces: a 12-byte header, then a frame split by a page.
  TraceDigester rx;
  rx.update(r1536.data(), 12);
  rx.update(r1536.data() + 12, 500);
  rx.update(r1536.data() + 512, 1024);
  CHECK(rx.value() == 0x860b8d8edbc65915ull);
  TraceDigester seeded(~0ull);
  for (size_t k = 0; k < r100.size(); k++) seeded.update(&r100[k], 1);
  CHECK(seeded.value() == 0x09a991a091c9f6d7ull);
}

TEST_CASE("stored enums translate both ways and reject unknown values") {
  for (int64_t v = 1; v <= 17; v++) {
    OpKind k;
    REQUIRE(from_trace_op(v, &k));
    CHECK(to_trace_op(k) == v);
  }
  OpKind k;
  CHECK_FALSE(from_trace_op(0, &k));
  CHECK_FALSE(from_trace_op(18, &k));
  CHECK_FALSE(from_trace_op(-1, &k));
  CHECK(to_trace_op(OpKind::mem_write) == 1);
  CHECK(to_trace_op(OpKind::snapshot) == 17);

  DirectionKind d;
  CHECK(from_trace_direction(2, &d));
  CHECK(d == DirectionKind::both);
  CHECK_FALSE(from_trace_direction(3, &d));
  viona::InterruptKind ik;
  CHECK(from_trace_interrupt(3, &ik));
  CHECK(ik == viona::InterruptKind::already);
  CHECK_FALSE(from_trace_interrupt(4, &ik));
  viona::MemoryMode mm;
  CHECK(from_trace_memory_mode(1, &mm));
  CHECK(mm == viona::MemoryMode::contiguous);
  CHECK_FALSE(from_trace_memory_mode(2, &mm));
  LinkTypeKind lt;
  CHECK(from_trace_link_type(1, &lt));
  CHECK_FALSE(from_trace_link_type(0, &lt));
  viona::PromiscMode pm;
  CHECK(from_trace_promisc(2, &pm));
  CHECK(pm == viona::PromiscMode::VIONA_PROMISC_ALL);
  CHECK_FALSE(from_trace_promisc(3, &pm));
  viona::ProbeKind pk;
  CHECK(from_trace_probe("too_short", &pk));
  CHECK(pk == viona::ProbeKind::too_short);
  CHECK(std::string(to_trace_probe(viona::ProbeKind::indir_bad_nest)) == "indir_bad_nest");
  CHECK_FALSE(from_trace_probe("no_such_probe", &pk));
}

TEST_CASE("counter snapshot names cover every rs_ and vts_ counter") {
  TraceCounterSnapshot s;
  auto named = s.named();
  CHECK(named.size() == viona::kRsCounterCount + 4);
  CHECK(named.front().first == "rs_ndesc_too_high");
  CHECK(named.back().first == "vts_drops");
  CHECK(s.set_named("rs_too_short", 7));
  CHECK(s.rs.rs_too_short == 7);
  CHECK(s.set_named("vts_bytes", 9));
  CHECK(s.vts.vts_bytes == 9);
  CHECK_FALSE(s.set_named("too_short", 1));  // only the rs_ spelling is stored
  CHECK_FALSE(s.set_named("rs_nonexistent", 1));
}

TEST_CASE("dump and dump_raw are single lines") {
  Sample s;
  std::vector<std::string> lines = {s.config.dump(),       s.config.dump_raw(),     s.packets[0].dump(),
                                    s.packets[0].dump_raw(), s.ops[0].dump(),         s.ops[0].dump_raw(),
                                    s.chains[0].dump(),    s.chains[0].dump_raw(),  s.used[0].dump(),
                                    s.used[0].dump_raw(),  s.probes[0].dump(),      s.probes[0].dump_raw(),
                                    s.counters[0].dump(),  s.counters[0].dump_raw(), s.digests[0].dump(),
                                    s.digests[0].dump_raw(), s.interrupts[0].dump(), s.interrupts[0].dump_raw()};
  for (const auto& l : lines) {
    CHECK_FALSE(l.empty());
    CHECK(l.find('\n') == std::string::npos);
  }
  CHECK(s.ops[0].dump() == "op 1 mem_write 0x100000 5 bytes 01020300ff");
  CHECK(s.used[1].dump_raw() ==
        "used seq=5 op_seq=2 ring=1 used_idx=65535 slot=1023 id=4294967295 len=2147483648 packet_seq=-");
  CHECK(s.interrupts[0].dump() == "interrupt 9 (op 3) ring 0 already");
}

namespace {
// Rows of the counters table for snapshot |seq|, as "name=value;" in name order.
std::string counter_rows(const std::string& path, uint64_t seq) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT name, value FROM counters WHERE snapshot_seq = ?1 ORDER BY name", -1, &st,
                             nullptr) == SQLITE_OK);
  sqlite3_bind_int64(st, 1, static_cast<int64_t>(seq));
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out += "=" + std::to_string(sqlite3_column_int64(st, 1)) + ";";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}
}  // namespace

TEST_CASE("format 2: a snapshot stores only the counters that changed; the reader carries the rest") {
  TempDir dir;
  const std::string path = dir.file("delta.trace");
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE(w);
  std::vector<TraceCounterSnapshot> want;
  auto snap = [&](uint64_t seq, uint16_t ring, uint64_t packets, uint64_t bytes, uint64_t too_short) {
    TraceCounterSnapshot s;
    s.seq = seq;
    s.op_seq = seq;
    s.ring = ring;
    s.vts.vts_packets = packets;
    s.vts.vts_bytes = bytes;
    s.rs.rs_too_short = too_short;
    REQUIRE(w->add_counters(s).ok());
    want.push_back(s);
  };
  snap(1, 0, 0, 0, 0);        // all zero: no rows
  snap(2, 1, 0, 0, 0);        // another ring, all zero: no rows
  snap(3, 0, 1, 60, 0);       // two moved
  snap(4, 1, 5, 500, 0);      // ring 1 against its own previous, not ring 0's
  snap(5, 0, 2, 120, 1);      // three moved
  snap(6, 0, 2, 120, 1);      // nothing moved: the snapshot row alone
  snap(7, 0, 0, 0, 1);        // a ring reset zeroes vts_*: the 0s are rows too
  REQUIRE(w->close().ok());

  CHECK(counter_rows(path, 1) == "");
  CHECK(counter_rows(path, 2) == "");
  CHECK(counter_rows(path, 3) == "vts_bytes=60;vts_packets=1;");
  CHECK(counter_rows(path, 4) == "vts_bytes=500;vts_packets=5;");
  CHECK(counter_rows(path, 5) == "rs_too_short=1;vts_bytes=120;vts_packets=2;");
  CHECK(counter_rows(path, 6) == "");
  CHECK(counter_rows(path, 7) == "vts_bytes=0;vts_packets=0;");

  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  std::vector<TraceCounterSnapshot> got;
  REQUIRE(r->read_counters(&got).ok());
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO("snapshot ", want[i].seq);
    CHECK(got[i] == want[i]);
  }
}

TEST_CASE("format 1 (the library's golden traces): every counter per snapshot, a missing one reads as 0") {
  TempDir dir;
  const std::string path = dir.file("v1.trace");
  {
    std::ifstream in("traces/corrupt-bad_idx-linux-small.trace", std::ios::binary);
    REQUIRE(in);
    std::ofstream out(path, std::ios::binary);
    out << in.rdbuf();
  }
  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE(r);
  CHECK(r->user_version() == 1);
  std::vector<TraceCounterSnapshot> snaps;
  REQUIRE(r->read_counters(&snaps).ok());
  REQUIRE(!snaps.empty());
  const TraceCounterSnapshot* last0 = nullptr;
  for (const auto& s : snaps) {
    if (s.ring == 0) last0 = &s;
  }
  REQUIRE(last0 != nullptr);
  CHECK(last0->rs.rs_bad_idx == 6);  // traces/corrupt-bad_idx-linux-small.inspect.txt
  CHECK(counter_rows(path, last0->seq).find("rs_bad_idx=6;") != std::string::npos);
  const uint64_t seq = last0->seq;
  r.reset();

  // Format 1 semantics: a counter row removed reads as 0, not as the
  // value of the ring's previous snapshot.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const std::string sql = "DELETE FROM counters WHERE name = 'rs_bad_idx' AND snapshot_seq = " + std::to_string(seq);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  r = TraceReader::open(path, &err);
  REQUIRE(r);
  snaps.clear();
  REQUIRE(r->read_counters(&snaps).ok());
  bool seen = false;
  for (const auto& s : snaps) {
    if (s.seq != seq) continue;
    seen = true;
    CHECK(s.rs.rs_bad_idx == 0);
  }
  CHECK(seen);
}

namespace {
// The config_scenario rows as "key=value;" in key order ("" without the table).
std::string scenario_rows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, "SELECT key, value, typeof(value) FROM config_scenario ORDER BY key", -1, &st,
                         nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      out += "=" + std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
      out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 2))) == "text" ? ";" : "(not text);";
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}
}  // namespace

TEST_CASE("config_scenario: one text row per documented key; a config without a scenario writes none") {
  TempDir dir;
  const std::string path = dir.file("scen.trace");
  Sample s;
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE(w);
  REQUIRE(s.write(w.get()).ok());
  REQUIRE(w->close().ok());
  CHECK(scenario_rows(path) ==
        "backend_offload=lso;batch=4294967295;corrupt=ndesc_too_high@18446744073709551615;count=1;"
        "feature_mask=9223372036854775809;filter=tcp and host 10.0.0.1 or 'x' \xc3\xa9;"
        "migrate_at=9223372036854775808;repeat=7;rx_lso=65535;tx_offload=1;");
  CHECK(s.config.scenario->dump() ==
        "scenario backend_offload lso batch 4294967295 corrupt ndesc_too_high@18446744073709551615 count 1 "
        "feature_mask 9223372036854775809 filter 'tcp and host 10.0.0.1 or 'x' \xc3\xa9' migrate_at "
        "9223372036854775808 repeat 7 rx_lso 65535 tx_offload 1");
  CHECK(TraceScenario{}.dump_raw() ==
        "scenario backend_offload=none batch=1 corrupt= count=0 feature_mask=0 filter= migrate_at=0 repeat=1 "
        "rx_lso=0 tx_offload=0");
  TraceScenario f;
  f.filter = "a b";
  CHECK(f.dump_raw().find(" filter=612062 ") != std::string::npos);  // hex: one token

  // Replacing the config replaces the rows; without a scenario there are none.
  const std::string bare = dir.file("bare.trace");
  w = TraceWriter::open(bare, {}, &err);
  REQUIRE(w);
  TraceConfig cfg = s.config;
  REQUIRE(w->write_config(cfg).ok());
  cfg.scenario.reset();
  REQUIRE(w->write_config(cfg).ok());
  REQUIRE(w->close().ok());
  CHECK(scenario_rows(bare) == "");
  auto r = TraceReader::open(bare, &err);
  REQUIRE(r);
  TraceConfig back;
  REQUIRE(r->read_config(&back).ok());
  CHECK_FALSE(back.scenario.has_value());
  CHECK(back == cfg);
  cfg.scenario = TraceScenario{};
  CHECK_FALSE(back == cfg);  // an all-default scenario is still a scenario
}

TEST_CASE("format 1 library trace: no config_scenario table, read as no scenario") {
  // Opened read-only in place (traces/ is never modified).
  TraceError err;
  auto r = TraceReader::open("traces/corrupt-bad_idx-linux-small.trace", &err);
  REQUIRE_MESSAGE(r, err.message);
  CHECK(r->user_version() == 1);
  TraceConfig cfg;
  REQUIRE(r->read_config(&cfg).ok());
  CHECK_FALSE(cfg.scenario.has_value());
  CHECK(cfg.guest_profile == "linux-small");
  CHECK(scenario_rows("traces/corrupt-bad_idx-linux-small.trace") == "");
}
