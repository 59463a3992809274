// SPDX-License-Identifier: MIT
// sqlite_floor_bench.cpp: what one trace row costs in SQLite itself, so the
// recording numbers can be read against the floor the trace format sets.
//
// A recorded RX frame is about 8.6 rows (packet, guest mem_write op, chain,
// descriptor, pieces, used entry, probe, digest; counters and interrupts per
// batch). However fast the recorder, a trace can be written no faster than
// SQLite inserts rows. This group measures:
//   sqlite_raw_used_rows       baseline: sqlite3 prepared single-row INSERTs of
//                              the used table's shape (8 integers, INTEGER
//                              PRIMARY KEY), WAL + synchronous=NORMAL, a
//                              commit every 4096 rows, as TraceWriter does
//   trace_writer_used_rows     TraceWriter::add_used for the same rows: the
//                              ratio says how close the writer is to the floor
//   sqlite_raw_used_rows_x32   the same rows as 32-row INSERT ... VALUES
//                              statements: the headroom of multi-row inserts
// Each sample is a fresh file in the temp directory; creating it is not
// timed, the final commit is.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bench/bench_suite.h"
#include "replay/trace_writer.h"

namespace viona_bench {

namespace {

std::string floor_path(const std::string& what, unsigned n) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  return (dir / ("viona-bench-sqlite-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(n))).string();
}

void remove_db(const std::string& p) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((p + suffix).c_str());
}

constexpr uint64_t kCommitEvery = 4096;  // TraceWriterOptions::batch_records' default

// Raw SQLite: |per| rows per INSERT statement (|rows| must be a multiple).
class RawRun {
 public:
  RawRun(unsigned per, Report& rep) : per_(per), rep_(rep) {}
  double run(uint64_t rows) {
    const std::string path = floor_path("raw" + std::to_string(per_), n_++);
    remove_db(path);
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      rep_.fail("sqlite_floor: cannot create " + path);
      sqlite3_close(db);
      return 0;
    }
    sqlite3_exec(db,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                 "CREATE TABLE used(seq INTEGER PRIMARY KEY, op_seq INTEGER NOT NULL, ring INTEGER NOT NULL,"
                 " used_idx INTEGER NOT NULL, slot INTEGER NOT NULL, id INTEGER NOT NULL, len INTEGER NOT NULL,"
                 " packet_seq INTEGER)",
                 nullptr, nullptr, nullptr);
    std::string sql = "INSERT INTO used VALUES ";
    for (unsigned i = 0; i < per_; i++) sql += i ? ",(?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?)";
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    const double t0 = now_seconds();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    uint64_t in_txn = 0;
    bool ok = true;
    for (uint64_t r = 0; r < rows; r += per_) {
      for (unsigned i = 0; i < per_; i++) {
        const uint64_t seq = r + i + 1;
        const int b = static_cast<int>(i) * 8;
        sqlite3_bind_int64(st, b + 1, static_cast<int64_t>(seq));
        sqlite3_bind_int64(st, b + 2, static_cast<int64_t>(seq / 3));
        sqlite3_bind_int64(st, b + 3, 0);
        sqlite3_bind_int64(st, b + 4, static_cast<int64_t>(seq & 0xffff));
        sqlite3_bind_int64(st, b + 5, static_cast<int64_t>(seq & 0xff));
        sqlite3_bind_int64(st, b + 6, static_cast<int64_t>(seq & 0xff));
        sqlite3_bind_int64(st, b + 7, 1526);
        sqlite3_bind_int64(st, b + 8, static_cast<int64_t>(seq));
      }
      ok = ok && sqlite3_step(st) == SQLITE_DONE;
      sqlite3_reset(st);
      in_txn += per_;
      if (in_txn >= kCommitEvery) {
        sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr);
        in_txn = 0;
      }
    }
    ok = ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    const double t = now_seconds() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    remove_db(path);
    if (!ok) rep_.fail("sqlite_floor: an INSERT failed");
    return t;
  }

 private:
  unsigned per_;
  Report& rep_;
  unsigned n_ = 0;
};

// The trace writer, one add_used per row, then flush (the commit).
class WriterRun {
 public:
  explicit WriterRun(Report& rep) : rep_(rep) {}
  double run(uint64_t rows) {
    const std::string path = floor_path("writer", n_++);
    remove_db(path);
    viona_rr::TraceError err;
    std::unique_ptr<viona_rr::TraceWriter> w = viona_rr::TraceWriter::open(path, {}, &err);
    if (!w) {
      rep_.fail("sqlite_floor: " + err.message);
      return 0;
    }
    viona_rr::TraceUsed u;
    const double t0 = now_seconds();
    bool ok = true;
    for (uint64_t r = 0; r < rows; r++) {
      const uint64_t seq = r + 1;
      u.seq = seq;
      u.op_seq = seq / 3;
      u.ring = 0;
      u.used_idx = static_cast<uint16_t>(seq);
      u.slot = static_cast<uint16_t>(seq & 0xff);
      u.id = static_cast<uint32_t>(seq & 0xff);
      u.len = 1526;
      u.packet_seq = seq;
      ok = ok && w->add_used(u).ok();
    }
    ok = ok && w->flush().ok();
    const double t = now_seconds() - t0;
    w.reset();  // no close(): its index build is once per trace, not per row
    remove_db(path);
    if (!ok) rep_.fail("sqlite_floor: the writer failed");
    return t;
  }

 private:
  Report& rep_;
  unsigned n_ = 0;
};

}  // namespace

void sqlite_floor_benches(const BenchOptions& o, Report& rep) {
  if (!o.selected("sqlite_floor")) return;
  RawRun raw1(1, rep), raw32(32, rep);
  WriterRun writer(rep);
  // Iterations are rows; the x32 contender needs multiples of 32.
  const std::vector<Contender> cs = {
      {"sqlite_raw_used_rows", 1, [&](uint64_t n) { return raw1.run(n); }},
      {"trace_writer_used_rows", 1, [&](uint64_t n) { return writer.run(n); }},
      {"sqlite_raw_used_rows_x32", 1, [&](uint64_t n) { return raw32.run((n + 31) / 32 * 32); }},
  };
  const GroupSamples g = run_group(cs, o.reps, o.target_s);
  if (rep.failed()) return;
  const BenchLine& w = rep.add(cs, g, 1, 0, "trace_writer_used_rows", "rows/s", 1,
                               "TraceWriter::add_used against raw single-row sqlite3 INSERTs of the same shape");
  rep.add(cs, g, 2, 0, "sqlite_raw_used_rows_x32", "rows/s", 1,
          "32-row INSERT statements against single-row ones: the headroom of multi-row inserts");
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "SQLite inserts %.0f rows/s here (%.2f us per row); at ~8.6 rows per recorded RX frame that is at "
                "most %.0f frames/s for any recorder writing this schema; the trace writer runs at %.2f of it",
                w.baseline_value, 1e6 / w.baseline_value, w.baseline_value / 8.6, w.ratio);
  rep.conclude("sqlite_floor", buf, true);
}

}  // namespace viona_bench
