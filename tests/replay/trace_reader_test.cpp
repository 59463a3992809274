// SPDX-License-Identifier: MIT
// trace_reader_test.cpp: TraceReader: one specific error per kind of bad file, "must" rules, read-only use.
//
// These tests damage traces with raw SQL on purpose: they are tests of the
// format (trace_format.h), the one place besides the writer and reader where
// knowing the layout is the point.
#include "replay/trace_reader.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "replay/trace_format.h"
#include "tests/support/temp_dir.h"
#include "replay/trace_writer.h"

using namespace viona_rr;

namespace {

// A fresh directory per test, removed with its files.
struct TempDir : viona::test::TempDir {
  TempDir() : viona::test::TempDir("trace_reader_test") {}
};

void write_file(const std::string& path, const std::string& contents) {
  FILE* f = fopen(path.c_str(), "wb");
  REQUIRE(f);
  fwrite(contents.data(), 1, contents.size(), f);
  fclose(f);
}

std::string read_file(const std::string& path) {
  std::string s;
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

// A small complete trace: config, |npackets| packets, one op of each shape,
// a chain, a used entry, a probe, a snapshot, a digest, an interrupt.
void make_trace(const std::string& path, uint64_t npackets = 3, TraceWriterOptions opts = {}) {
  TraceError err;
  auto w = TraceWriter::open(path, opts, &err);
  REQUIRE_MESSAGE(w, err.message);
  TraceConfig cfg;
  cfg.ring_sizes = {256, 256};
  cfg.regions = {{0x100000, 0x100000}};
  REQUIRE(w->write_config(cfg).ok());
  for (uint64_t s = 1; s <= npackets; s++) {
    TracePacket p;
    p.seq = s;
    p.data.assign(1514, static_cast<uint8_t>(s));
    p.orig_len = 1514;
    REQUIRE(w->add_packet(p).ok());
  }
  TraceOp mw;
  mw.seq = 1;
  mw.kind = OpKind::mem_write;
  mw.args[0] = 0x100000;
  mw.blob = {1, 2, 3};
  REQUIRE(w->add_op(mw).ok());
  TraceOp kick;
  kick.seq = 2;
  kick.kind = OpKind::ring_kick;
  kick.ring = 1;
  REQUIRE(w->add_op(kick).ok());
  TraceChain c;
  c.seq = 1;
  c.op_seq = 2;
  c.ring = 1;
  c.descs = {{0, -1, 0x100000, 100, 0, 0, 0, 1}};
  c.pieces = {{0x100000, 100, false}};
  REQUIRE(w->add_chain(c).ok());
  TraceUsed u;
  u.seq = 2;
  u.op_seq = 2;
  u.ring = 1;
  REQUIRE(w->add_used(u).ok());
  TraceProbe pr;
  pr.seq = 3;
  pr.op_seq = 2;
  pr.kind = viona::ProbeKind::pkt_tx;
  pr.packet_seq = 1;
  REQUIRE(w->add_probe(pr).ok());
  TraceCounterSnapshot cs;
  cs.seq = 4;
  cs.op_seq = 2;
  cs.rs.rs_too_short = 1;
  cs.vts.vts_packets = 7;
  REQUIRE(w->add_counters(cs).ok());
  TraceDigest d;
  d.seq = 5;
  REQUIRE(w->add_digest(d).ok());
  TraceInterrupt in;
  in.seq = 6;
  REQUIRE(w->add_interrupt(in).ok());
  REQUIRE(w->close().ok());
}

// Runs |sql| on |path| read-write, outside the reader.
void damage(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  INFO(sql, " -> ", (msg ? msg : "ok"));
  CHECK(rc == SQLITE_OK);
  sqlite3_free(msg);
  sqlite3_close(db);
}

TraceError open_error(const std::string& path) {
  TraceError err;
  auto r = TraceReader::open(path, &err);
  CHECK(static_cast<bool>(r) == (err.ok() || err.kind == TraceErrorKind::incomplete));
  return err;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

// Opens a damaged (but openable) trace and returns the error of |read|.
template <typename Read>
TraceError read_error(const std::string& path, Read read) {
  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE_MESSAGE(r, err.message);
  return read(*r);
}

}  // namespace

TEST_CASE("not-a-file: missing path and directory") {
  TempDir dir;
  TraceError e = open_error(dir.file("none.trace"));
  CHECK(e.kind == TraceErrorKind::not_a_file);
  CHECK(contains(e.message, "none.trace: No such file or directory"));
  e = open_error(dir.path());
  CHECK(e.kind == TraceErrorKind::not_a_file);
  CHECK(contains(e.message, "is a directory"));
  CHECK(one_line(e.message));
}

TEST_CASE("not-sqlite: text file, short file, empty file") {
  TempDir dir;
  std::string p = dir.file("text.trace");
  write_file(p, std::string(200, 'x'));
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::not_sqlite);
  CHECK(contains(e.message, "no \"SQLite format 3\" header"));
  CHECK(one_line(e.message));
  write_file(p, "SQLite format 3");
  e = open_error(p);
  CHECK(e.kind == TraceErrorKind::not_sqlite);
  CHECK(contains(e.message, "15 bytes, shorter than the 100-byte header"));
  write_file(p, "");
  CHECK(open_error(p).kind == TraceErrorKind::not_sqlite);
}

TEST_CASE("not-a-trace: an SQLite database with another application_id") {
  TempDir dir;
  std::string p = dir.file("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::not_a_trace);
  CHECK(contains(e.message, "application_id is 0x00000000, expected 0x564e5252"));
  CHECK(one_line(e.message));
}

TEST_CASE("too-new: user_version 99 names both versions") {
  TempDir dir;
  std::string p = dir.file("v99.trace");
  make_trace(p);
  damage(p, "PRAGMA user_version = 99");
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::too_new);
  CHECK(contains(e.message, "trace format 99 is newer than this viona-rr, which reads format 2 and older"));
  CHECK(one_line(e.message));
}

TEST_CASE("corrupt: user_version 0 with our application_id") {
  TempDir dir;
  std::string p = dir.file("v0.trace");
  make_trace(p);
  damage(p, "PRAGMA user_version = 0");
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "user_version: expected 1..2, found 0"));
}

TEST_CASE("too-new: required_reader_version 99 names both versions") {
  TempDir dir;
  std::string p = dir.file("req99.trace");
  TraceWriterOptions opts;
  opts.required_reader_version = 99;
  make_trace(p, 1, opts);
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::too_new);
  CHECK(contains(e.message, "requires reader format 99, this viona-rr reads format 2"));
  CHECK(one_line(e.message));
}

TEST_CASE("corrupt: a missing table is named") {
  TempDir dir;
  std::string p = dir.file("notab.trace");
  make_trace(p);
  damage(p, "DROP VIEW packet_outcome; DROP TABLE digests");
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "table digests is missing"));
  CHECK(one_line(e.message));
}

TEST_CASE("corrupt: a required meta key is missing") {
  TempDir dir;
  std::string p = dir.file("nometa.trace");
  make_trace(p);
  damage(p, "DELETE FROM meta WHERE key = 'host'");
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "table meta, row key='host': expected a row, found none"));
}

TEST_CASE("corrupt: a truncated file") {
  TempDir dir;
  std::string p = dir.file("trunc.trace");
  make_trace(p, 200);  // many pages
  std::string bytes = read_file(p);
  REQUIRE(bytes.size() > 100000);
  write_file(p, bytes.substr(0, bytes.size() / 2));
  TraceError e = open_error(p);
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "trunc.trace: "));
  CHECK(one_line(e.message));
}

TEST_CASE("incomplete: complete = 0 is readable and flagged") {
  TempDir dir;
  std::string p = dir.file("inc.trace");
  make_trace(p, 4);
  damage(p, "UPDATE meta SET value = 0 WHERE key = 'complete'");
  TraceError err;
  auto r = TraceReader::open(p, &err);
  REQUIRE(r);
  CHECK(err.kind == TraceErrorKind::incomplete);
  CHECK(contains(err.message, "incomplete trace (meta.complete = 0)"));
  CHECK_FALSE(r->complete());
  uint64_t n = 0;
  CHECK(r->count_rows("packets", &n).ok());
  CHECK(n == 4);
}

TEST_CASE("corrupt: unknown enum values in rows name table, row, expected and found") {
  TempDir dir;
  std::string p = dir.file("enum.trace");
  make_trace(p);
  std::string base = read_file(p);
  auto reset = [&] { write_file(p, base); };

  damage(p, "UPDATE ops SET kind = 99 WHERE seq = 1");
  TraceError e = read_error(p, [](TraceReader& r) {
    std::vector<TraceOp> v;
    return r.read_ops(&v);
  });
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "enum.trace: table ops, row seq=1: kind: expected a known op kind (1..17), found 99"));
  CHECK(one_line(e.message));

  reset();
  damage(p, "UPDATE interrupts SET kind = 4");
  e = read_error(p, [](TraceReader& r) {
    std::vector<TraceInterrupt> v;
    return r.read_interrupts(&v);
  });
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "table interrupts, row seq=6: kind: expected 0 (suppressed), 1 (msi), 2 (poll) or 3 "
                            "(already), found 4"));

  reset();
  damage(p, "UPDATE packets SET direction = 2 WHERE seq = 2");
  e = read_error(p, [](TraceReader& r) {
    std::vector<TracePacket> v;
    return r.read_packets(&v);
  });
  CHECK(contains(e.message, "table packets, row seq=2: direction: expected 0 (rx) or 1 (tx), found 2 (both)"));

  reset();
  damage(p, "UPDATE probes SET name = 'no_such_probe'");
  e = read_error(p, [](TraceReader& r) {
    std::vector<TraceProbe> v;
    return r.read_probes(&v);
  });
  CHECK(contains(e.message, "table probes, row seq=3: name: expected a probe of viona/probes.inc, found "
                            "'no_such_probe'"));

  reset();
  damage(p, "UPDATE counters SET name = 'rs_bogus' WHERE name = 'rs_too_short'");
  e = read_error(p, [](TraceReader& r) {
    std::vector<TraceCounterSnapshot> v;
    return r.read_counters(&v);
  });
  CHECK(contains(e.message, "table counters, row snapshot_seq=4 name='rs_bogus': name: expected an rs_* counter"));

  reset();
  damage(p, "UPDATE config SET memory_mode = 7");
  e = read_error(p, [](TraceReader& r) {
    TraceConfig c;
    return r.read_config(&c);
  });
  CHECK(contains(e.message, "table config, row id=1: memory_mode: expected 0 (paged) or 1 (contiguous), found 7"));
}

TEST_CASE("corrupt: must rules across columns and tables") {
  TempDir dir;
  std::string p = dir.file("must.trace");
  make_trace(p);
  std::string base = read_file(p);
  auto reset = [&] { write_file(p, base); };
  auto ops = [](TraceReader& r) {
    std::vector<TraceOp> v;
    return r.read_ops(&v);
  };
  auto packets = [](TraceReader& r) {
    std::vector<TracePacket> v;
    return r.read_packets(&v);
  };
  auto chains = [](TraceReader& r) {
    std::vector<TraceChain> v;
    return r.read_chains(&v);
  };

  damage(p, "UPDATE packets SET caplen = 1000 WHERE seq = 3");
  CHECK(contains(read_error(p, packets).message,
                 "table packets, row seq=3: caplen: expected length(data) = 1514, found 1000"));
  reset();
  damage(p, "UPDATE packets SET orig_len = 60 WHERE seq = 1");
  CHECK(contains(read_error(p, packets).message, "row seq=1: orig_len: expected >= caplen 1514, found 60"));
  reset();
  damage(p, "UPDATE packets SET data = 'text' WHERE seq = 1");
  CHECK(contains(read_error(p, packets).message, "row seq=1: data: expected a blob, found text"));
  reset();
  damage(p, "UPDATE ops SET ring = NULL WHERE seq = 2");
  CHECK(contains(read_error(p, ops).message, "row seq=2: ring: expected a ring index for ring_kick, found NULL"));
  reset();
  damage(p, "UPDATE ops SET ring = 0 WHERE seq = 1");
  CHECK(contains(read_error(p, ops).message, "row seq=1: ring: expected NULL for mem_write, found 0"));
  reset();
  damage(p, "UPDATE ops SET arg3 = 5 WHERE seq = 1");
  CHECK(contains(read_error(p, ops).message, "row seq=1: arg3: expected 0 (unused by mem_write), found 5"));
  reset();
  damage(p, "UPDATE ops SET blob = x'00' WHERE seq = 2");
  CHECK(contains(read_error(p, ops).message, "row seq=2: blob: expected empty for ring_kick, found 1 bytes"));
  reset();
  damage(p, "UPDATE chains SET ring = 70000");
  CHECK(contains(read_error(p, chains).message, "table chains, row seq=1: ring: expected 0..65535, found 70000"));
  reset();
  damage(p, "UPDATE chain_descs SET npieces = 2");
  CHECK(contains(read_error(p, chains).message,
                 "table chain_descs, row chain_seq=1 pos=0: first_piece + npieces: expected <= 1 (pieces of the "
                 "chain), found 2"));
  reset();
  damage(p, "INSERT INTO chain_pieces VALUES (9, 0, 0, 0, 0)");
  CHECK(contains(read_error(p, chains).message,
                 "table chain_pieces, row chain_seq=9 pos=0: chain_seq: expected a chains row, found none with seq=9"));
  reset();
  damage(p, "UPDATE chain_pieces SET write = 2");
  CHECK(contains(read_error(p, chains).message, "table chain_pieces, row chain_seq=1 pos=0: write: expected 0..1"));
  reset();
  damage(p, "UPDATE config SET mac = x'0102'");
  CHECK(contains(read_error(p, [](TraceReader& r) {
                   TraceConfig c;
                   return r.read_config(&c);
                 }).message,
                 "table config, row id=1: mac: expected 6 bytes, found 2 bytes"));
  reset();
  damage(p, "UPDATE config SET quirks = 1");
  CHECK(contains(read_error(p, [](TraceReader& r) {
                   TraceConfig c;
                   return r.read_config(&c);
                 }).message,
                 "quirk_names: expected 'illumos-14032', found ''"));
}

TEST_CASE("read_packet_range requires every packet of the batch") {
  TempDir dir;
  std::string p = dir.file("range.trace");
  make_trace(p, 5);
  TraceError err;
  auto r = TraceReader::open(p, &err);
  REQUIRE(r);
  std::vector<TracePacket> v;
  REQUIRE(r->read_packet_range(2, 3, &v).ok());
  REQUIRE(v.size() == 3);
  CHECK(v[0].seq == 2);
  CHECK(v[2].seq == 4);
  TraceError e = r->read_packet_range(4, 3, &v);
  CHECK(e.kind == TraceErrorKind::corrupt);
  CHECK(contains(e.message, "table packets, rows seq=4..6: expected 3 rows, found 2"));
}

// A trace in a read-only checkout: the reader must not need to write
// anything (no journal, no -wal/-shm) and must leave the file untouched.
TEST_CASE("a complete trace opens read-only and the directory is left unchanged") {
  TempDir dir;
  std::string p = dir.file("ro.trace");
  make_trace(p, 3);
  std::string before = read_file(p);
  REQUIRE(chmod(p.c_str(), 0444) == 0);
  REQUIRE(chmod(dir.path().c_str(), 0555) == 0);
  std::set<std::string> entries = dir.entries();
  {
    TraceError err;
    auto r = TraceReader::open(p, &err);
    REQUIRE_MESSAGE(r, err.message);
    CHECK(err.ok());
    std::vector<TracePacket> v;
    CHECK(r->read_packets(&v).ok());
    CHECK(v.size() == 3);
    TraceConfig c;
    CHECK(r->read_config(&c).ok());
    CHECK(dir.entries() == entries);
  }
  CHECK(dir.entries() == entries);
  CHECK(read_file(p) == before);
}

TEST_CASE("the views answer the common questions") {
  TempDir dir;
  std::string p = dir.file("views.trace");
  make_trace(p, 2);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); i++) {
        const unsigned char* t = sqlite3_column_text(st, i);
        out += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out += ";";
    }
    sqlite3_finalize(st);
    return out;
  };
  CHECK(one("SELECT * FROM packet_outcome ORDER BY seq") == "1|rx|1514|1514|0|0|0|pkt_tx;2|rx|1514|1514|0|0|0|;");
  // Format 2: only the counters that moved have rows.
  CHECK(one("SELECT seq, op_kind, ring, name, value FROM counters_over_time ORDER BY name") ==
        "4|ring_kick|0|rs_too_short|1;4|ring_kick|0|vts_packets|7;");
  CHECK(one("SELECT ring, name, value FROM counters_final ORDER BY name") == "0|rs_too_short|1;0|vts_packets|7;");
  CHECK(one("SELECT seq, cookie, pos, gpa, len, write FROM chain_pieces_view") == "1|0|0|1048576|100|0;");
  CHECK(one("SELECT seq, kind, ring, blob_len FROM ops_named ORDER BY seq") == "1|mem_write|NULL|3;2|ring_kick|1|0;");
  sqlite3_close(db);
}

namespace {
// make_trace() with a scenario in its config.
void make_scenario_trace(const std::string& path) {
  TraceError err;
  auto w = TraceWriter::open(path, {}, &err);
  REQUIRE_MESSAGE(w, err.message);
  TraceConfig cfg;
  cfg.ring_sizes = {256, 256};
  TraceScenario sc;
  sc.corrupt_kind = "bad_idx";
  sc.corrupt_after = 3;
  sc.batch = 4;
  cfg.scenario = sc;
  REQUIRE(w->write_config(cfg).ok());
  REQUIRE(w->close().ok());
}

TraceError config_error(const std::string& path, TraceConfig* cfg) {
  return read_error(path, [cfg](TraceReader& r) { return r.read_config(cfg); });
}
}  // namespace

TEST_CASE("config_scenario is optional: without the table or its rows a trace has no scenario") {
  TempDir dir;
  const std::string p = dir.file("scen.trace");
  make_scenario_trace(p);
  TraceConfig cfg;
  REQUIRE(config_error(p, &cfg).ok());
  REQUIRE(cfg.scenario.has_value());
  CHECK(cfg.scenario->corrupt() == "bad_idx@3");
  CHECK(cfg.scenario->batch == 4);

  // A format 2 trace of a build before the table: it opens (the table is
  // not in kTraceTables) and reads as no scenario.
  for (const char* t : kTraceTables) CHECK(std::string(t) != "config_scenario");
  damage(p, "DROP TABLE config_scenario");
  TraceError err = open_error(p);
  CHECK(err.ok());
  REQUIRE(config_error(p, &cfg).ok());
  CHECK_FALSE(cfg.scenario.has_value());

  // An empty table: no scenario either. A missing key reads as its
  // default; an unknown key (a later recorder's) is ignored.
  make_scenario_trace(dir.file("s2.trace"));
  damage(dir.file("s2.trace"), "DELETE FROM config_scenario");
  REQUIRE(config_error(dir.file("s2.trace"), &cfg).ok());
  CHECK_FALSE(cfg.scenario.has_value());
  damage(dir.file("s2.trace"), "INSERT INTO config_scenario VALUES ('rx_lso', '1448'), ('from_the_future', 'x')");
  REQUIRE(config_error(dir.file("s2.trace"), &cfg).ok());
  REQUIRE(cfg.scenario.has_value());
  TraceScenario want;
  want.rx_lso = 1448;
  CHECK(*cfg.scenario == want);
}

TEST_CASE("corrupt: a bad config_scenario value names table, row, expected and found") {
  TempDir dir;
  const std::string p = dir.file("bad.trace");
  make_scenario_trace(p);
  const std::string base = read_file(p);
  const struct {
    const char* sql;
    const char* message;
  } cases[] = {
      {"UPDATE config_scenario SET value = 'bad_idx@x' WHERE key = 'corrupt'",
       "table config_scenario, row key='corrupt': value: expected empty or KIND@N (KIND a --corrupt kind, N a "
       "decimal frame count), found 'bad_idx@x'"},
      {"UPDATE config_scenario SET value = 'no_such_kind@3' WHERE key = 'corrupt'",
       "table config_scenario, row key='corrupt': value: expected empty or KIND@N (KIND a --corrupt kind, N a "
       "decimal frame count), found 'no_such_kind@3'"},
      {"UPDATE config_scenario SET value = '0' WHERE key = 'batch'",
       "table config_scenario, row key='batch': value: expected a decimal number 1..4294967295, found '0'"},
      {"UPDATE config_scenario SET value = '4294967296' WHERE key = 'repeat'",
       "table config_scenario, row key='repeat': value: expected a decimal number 1..4294967295, found "
       "'4294967296'"},
      {"UPDATE config_scenario SET value = '65536' WHERE key = 'rx_lso'",
       "table config_scenario, row key='rx_lso': value: expected a decimal number 0..65535, found '65536'"},
      {"UPDATE config_scenario SET value = '-1' WHERE key = 'migrate_at'",
       "table config_scenario, row key='migrate_at': value: expected a decimal number 0..18446744073709551615, "
       "found '-1'"},
      {"UPDATE config_scenario SET value = '18446744073709551616' WHERE key = 'count'",
       "table config_scenario, row key='count': value: expected a decimal number 0..18446744073709551615, found "
       "'18446744073709551616'"},
      {"UPDATE config_scenario SET value = '0x10' WHERE key = 'feature_mask'",
       "table config_scenario, row key='feature_mask': value: expected a decimal number 0..18446744073709551615, "
       "found '0x10'"},
      {"UPDATE config_scenario SET value = 'yes' WHERE key = 'tx_offload'",
       "table config_scenario, row key='tx_offload': value: expected 0 or 1, found 'yes'"},
      {"UPDATE config_scenario SET value = 'tso' WHERE key = 'backend_offload'",
       "table config_scenario, row key='backend_offload': value: expected none, partial, full or lso, found 'tso'"},
      {"UPDATE config_scenario SET value = x'31' WHERE key = 'batch'",
       "table config_scenario, row key='batch': value: expected text, found blob"},
  };
  for (const auto& c : cases) {
    write_file(p, base);
    damage(p, c.sql);
    TraceConfig cfg;
    TraceError e = config_error(p, &cfg);
    INFO(c.sql, " -> ", e.message);
    CHECK(e.kind == TraceErrorKind::corrupt);
    CHECK(e.message == p + ": " + c.message);
    CHECK(one_line(e.message));
  }
}
