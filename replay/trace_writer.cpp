// SPDX-License-Identifier: MIT
// trace_writer.cpp: TraceWriter: records to SQLite rows, batched transactions, final close.
#include "replay/trace_writer.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "replay/trace_format.h"

namespace viona_rr {

namespace {

// u64 values are stored with the same 64 bits (trace_format.h, Integer encoding).
int64_t as_i64(uint64_t v) {
  int64_t r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

struct TraceWriter::Stmts {
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* meta = nullptr;
  sqlite3_stmt* config = nullptr;
  sqlite3_stmt* config_ring = nullptr;
  sqlite3_stmt* config_region = nullptr;
  sqlite3_stmt* config_scenario = nullptr;
  sqlite3_stmt* packet = nullptr;
  sqlite3_stmt* op = nullptr;
  sqlite3_stmt* chain = nullptr;
  sqlite3_stmt* chain_desc = nullptr;
  sqlite3_stmt* chain_piece = nullptr;
  sqlite3_stmt* used = nullptr;
  sqlite3_stmt* probe = nullptr;
  sqlite3_stmt* snapshot = nullptr;
  sqlite3_stmt* counter = nullptr;
  sqlite3_stmt* digest = nullptr;
  sqlite3_stmt* interrupt = nullptr;

  sqlite3_stmt** all[18] = {&begin,  &commit,      &meta,  &config, &config_ring, &config_region,
                            &config_scenario, &packet, &op,  &chain, &chain_desc, &chain_piece, &used,
                            &probe,  &snapshot,    &counter, &digest, &interrupt};
};

TraceWriter::TraceWriter(sqlite3* db, std::string path, const TraceWriterOptions& opts)
    : db_(db),
      path_(std::move(path)),
      batch_records_(opts.batch_records ? opts.batch_records : 1),
      fail_nth_write_(opts.fail_nth_write),
      st_(new Stmts) {}

std::unique_ptr<TraceWriter> TraceWriter::open(const std::string& path, const TraceWriterOptions& opts,
                                               TraceError* err) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) == 0) {
    *err = TraceError::make(TraceErrorKind::not_a_file, path + ": already exists; a trace is never appended to");
    return nullptr;
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    *err = TraceError::make(TraceErrorKind::not_a_file,
                            path + ": cannot create: " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<TraceWriter> w(new TraceWriter(db, path, opts));
  TraceError e = w->init(opts);
  if (!e.ok()) {
    *err = e;
    // Nothing of it was committed: remove the empty database rather than
    // leave a file that looks like a broken trace.
    w.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
    return nullptr;
  }
  *err = TraceError{};
  return w;
}

TraceError TraceWriter::init(const TraceWriterOptions& opts) {
  TraceError e;
  // journal_mode cannot change inside a transaction; it is not counted as
  // a write by the fault hook.
  if (!(e = exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", "set up the file")).ok()) {
    return fail(e);
  }
  if (!(e = prepare("BEGIN", &st_->begin)).ok()) return fail(e);
  if (!(e = prepare("COMMIT", &st_->commit)).ok()) return fail(e);
  if (!(e = begin_record()).ok()) return e;
  // The identity goes into the same first transaction as the schema and the
  // meta row: a creation that fails half-way leaves no file claiming to be a
  // trace, and a recorder killed right after open() leaves a valid one.
  char pragmas[128];
  snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d; PRAGMA user_version = %lld;",
           static_cast<int>(kTraceApplicationId), static_cast<long long>(kTraceFormatVersion));
  if (!(e = exec(pragmas, "set the file identity")).ok()) return fail(e);
  if (!(e = exec(kTraceSchemaSql, "create the schema")).ok()) return fail(e);

  struct {
    sqlite3_stmt** st;
    const char* sql;
  } const stmts[] = {
      {&st_->meta, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)"},
      {&st_->config,
       "INSERT OR REPLACE INTO config VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
       " ?16, ?17, ?18)"},
      {&st_->config_ring, "INSERT INTO config_rings(ring, qsize) VALUES (?1, ?2)"},
      {&st_->config_region, "INSERT INTO config_regions(pos, gpa, size) VALUES (?1, ?2, ?3)"},
      {&st_->config_scenario, "INSERT INTO config_scenario(key, value) VALUES (?1, ?2)"},
      {&st_->packet, "INSERT INTO packets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&st_->op, "INSERT INTO ops VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&st_->chain, "INSERT INTO chains VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&st_->chain_desc, "INSERT INTO chain_descs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&st_->chain_piece, "INSERT INTO chain_pieces VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&st_->used, "INSERT INTO used VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&st_->probe, "INSERT INTO probes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&st_->snapshot, "INSERT INTO counter_snapshots VALUES (?1, ?2, ?3)"},
      {&st_->counter, "INSERT INTO counters VALUES (?1, ?2, ?3)"},
      {&st_->digest, "INSERT INTO digests VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&st_->interrupt, "INSERT INTO interrupts VALUES (?1, ?2, ?3, ?4)"},
  };
  for (const auto& s : stmts) {
    if (!(e = prepare(s.sql, s.st)).ok()) return fail(e);
  }

  auto put_text = [&](const char* key, const std::string& v) {
    sqlite3_bind_text(st_->meta, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st_->meta, 2, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return step(st_->meta, "meta");
  };
  auto put_int = [&](const char* key, int64_t v) {
    sqlite3_bind_text(st_->meta, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st_->meta, 2, v);
    return step(st_->meta, "meta");
  };
  if (!(e = put_int("format_version", kTraceFormatVersion)).ok()) return e;
  if (!(e = put_text("tool_version", opts.tool_version.empty() ? "viona-rr" : opts.tool_version)).ok()) return e;
  if (!(e = put_int("created_unix_ns", opts.created_unix_ns ? opts.created_unix_ns : now_unix_ns())).ok()) return e;
  if (!(e = put_text("host", opts.host.empty() ? host_name() : opts.host)).ok()) return e;
  if (!(e = put_int("required_reader_version", opts.required_reader_version)).ok()) return e;
  if (!(e = put_int("complete", 0)).ok()) return e;
  for (unsigned i = 0; i < viona::kQuirkCount; i++) {
    std::string key = std::string("quirk_") + viona::quirk_name(static_cast<viona::QuirkKind>(i));
    if (!(e = put_int(key.c_str(), 0)).ok()) return e;
  }
  // The op_kinds lookup table, for sqlite3(1) users.
  std::string kinds = "INSERT INTO op_kinds VALUES ";
  for (int v = 1; v <= 17; v++) {
    OpKind k;
    if (!from_trace_op(v, &k)) continue;
    kinds += (v > 1 ? ", (" : "(") + std::to_string(v) + ", '" + op_kind_name(k) + "')";
  }
  if (!(e = exec(kinds.c_str(), "fill op_kinds")).ok()) return fail(e);
  return flush();
}

TraceWriter::~TraceWriter() { shutdown(false); }

void TraceWriter::shutdown(bool mark_complete) {
  if (closed_) return;
  if (failed_.ok() && !mark_complete) {
    // Keep what the recorder added; complete stays 0.
    (void)flush();
  }
  closed_ = true;
  if (in_txn_) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    in_txn_ = false;
  }
  finalize_all();
  // Back to a single file: checkpoint the WAL and delete it. Harmless if it
  // fails (the WAL then stays and is replayed by the next open).
  sqlite3_exec(db_, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
  db_ = nullptr;
}

void TraceWriter::finalize_all() {
  if (!st_) return;
  for (sqlite3_stmt** p : st_->all) {
    sqlite3_finalize(*p);
    *p = nullptr;
  }
}

TraceError TraceWriter::sqlite_error(const char* what) {
  int rc = sqlite3_errcode(db_);
  TraceErrorKind kind = (rc == SQLITE_CONSTRAINT) ? TraceErrorKind::misuse : TraceErrorKind::io;
  return TraceError::make(kind, path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

TraceError TraceWriter::fail(TraceError e) {
  if (failed_.ok()) failed_ = e;
  if (in_txn_) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    in_txn_ = false;
    in_batch_ = 0;
  }
  return e;
}

TraceError TraceWriter::exec(const char* sql, const char* what) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = path_ + ": " + what + ": " + (msg ? msg : "unknown error");
    sqlite3_free(msg);
    return TraceError::make(TraceErrorKind::io, m);
  }
  return TraceError{};
}

TraceError TraceWriter::prepare(const char* sql, sqlite3_stmt** out) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) != SQLITE_OK) {
    return sqlite_error("prepare");
  }
  return TraceError{};
}

TraceError TraceWriter::step(sqlite3_stmt* st, const char* table) {
  writes_++;
  if (fail_nth_write_ != 0 && writes_ == fail_nth_write_) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return fail(TraceError::make(TraceErrorKind::io, path_ + ": write to " + table +
                                                         ": injected fault (write " + std::to_string(writes_) +
                                                         ")"));
  }
  int rc = sqlite3_step(st);
  TraceError e;
  if (rc != SQLITE_DONE) e = sqlite_error((std::string("write to ") + table).c_str());
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (!e.ok()) return fail(e);
  return e;
}

TraceError TraceWriter::begin_record() {
  if (closed_) return TraceError::make(TraceErrorKind::misuse, path_ + ": writer already closed");
  if (!failed_.ok()) return failed_;
  if (!in_txn_) {
    TraceError e = step(st_->begin, "BEGIN");
    if (!e.ok()) return e;
    in_txn_ = true;
  }
  return TraceError{};
}

TraceError TraceWriter::end_record() {
  if (++in_batch_ >= batch_records_) return flush();
  return TraceError{};
}

TraceError TraceWriter::flush() {
  if (closed_) return TraceError::make(TraceErrorKind::misuse, path_ + ": writer already closed");
  if (!failed_.ok()) return failed_;
  if (!in_txn_) return TraceError{};
  TraceError e = step(st_->commit, "COMMIT");
  if (!e.ok()) return e;
  in_txn_ = false;
  in_batch_ = 0;
  return e;
}

TraceError TraceWriter::close() {
  if (closed_) return TraceError::make(TraceErrorKind::misuse, path_ + ": writer already closed");
  TraceError e = failed_;
  if (e.ok()) e = begin_record();
  if (e.ok()) e = exec(kTraceIndexSql, "build indexes");
  if (e.ok()) {
    sqlite3_bind_text(st_->meta, 1, "complete", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st_->meta, 2, 1);
    e = step(st_->meta, "meta");
  }
  if (e.ok()) e = flush();
  if (!e.ok()) fail(e);
  shutdown(true);
  if (e.ok()) {
    // journal_mode=DELETE in shutdown() removes the WAL; if it could not,
    // the trace is still complete but is not yet one file.
    struct stat sb;
    std::string wal = path_ + "-wal";
    if (::stat(wal.c_str(), &sb) == 0) {
      return TraceError::make(TraceErrorKind::io, path_ + ": complete, but " + wal + " could not be merged");
    }
  }
  return e;
}

// --- records ------------------------------------------------------------------

TraceError TraceWriter::write_config(const TraceConfig& c) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->config;
  std::string names = c.quirks.to_string();
  sqlite3_bind_int64(s, 1, as_i64(c.features_negotiated));
  sqlite3_bind_int64(s, 2, as_i64(c.features_offered));
  sqlite3_bind_int64(s, 3, c.mtu);
  sqlite3_bind_int64(s, 4, to_trace_memory_mode(c.memory_mode));
  sqlite3_bind_text(s, 5, c.guest_profile.data(), static_cast<int>(c.guest_profile.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 6, c.guest_layout.data(), static_cast<int>(c.guest_layout.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, c.params.tx_copy_data ? 1 : 0);
  sqlite3_bind_int64(s, 8, c.params.tx_header_pad);
  sqlite3_bind_int64(s, 9, c.quirks.bits);
  sqlite3_bind_text(s, 10, names.data(), static_cast<int>(names.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 11, c.offloads.cksum_partial);
  sqlite3_bind_int64(s, 12, c.offloads.cksum_full_v4);
  sqlite3_bind_int64(s, 13, c.offloads.cksum_full_v6);
  sqlite3_bind_int64(s, 14, c.offloads.cksum_ipv4_hdr);
  sqlite3_bind_int64(s, 15, c.offloads.lso_tcpv4);
  sqlite3_bind_int64(s, 16, c.offloads.lso_max);
  sqlite3_bind_int64(s, 17, to_trace_direction(c.direction));
  sqlite3_bind_blob(s, 18, c.mac.data(), static_cast<int>(c.mac.size()), SQLITE_STATIC);
  if (!(e = step(s, "config")).ok()) return e;
  if (!(e = exec("DELETE FROM config_rings; DELETE FROM config_regions; DELETE FROM config_scenario;",
                 "replace config"))
           .ok()) {
    return fail(e);
  }
  for (size_t i = 0; i < c.ring_sizes.size(); i++) {
    sqlite3_bind_int64(st_->config_ring, 1, static_cast<int64_t>(i));
    sqlite3_bind_int64(st_->config_ring, 2, c.ring_sizes[i]);
    if (!(e = step(st_->config_ring, "config_rings")).ok()) return e;
  }
  for (size_t i = 0; i < c.regions.size(); i++) {
    sqlite3_bind_int64(st_->config_region, 1, static_cast<int64_t>(i));
    sqlite3_bind_int64(st_->config_region, 2, as_i64(c.regions[i].gpa));
    sqlite3_bind_int64(st_->config_region, 3, as_i64(c.regions[i].size));
    if (!(e = step(st_->config_region, "config_regions")).ok()) return e;
  }
  if (c.scenario) {
    for (const auto& [key, value] : c.scenario->rows()) {
      sqlite3_bind_text(st_->config_scenario, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(st_->config_scenario, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
      if (!(e = step(st_->config_scenario, "config_scenario")).ok()) return e;
    }
  }
  for (unsigned i = 0; i < viona::kQuirkCount; i++) {
    auto k = static_cast<viona::QuirkKind>(i);
    std::string key = std::string("quirk_") + viona::quirk_name(k);
    sqlite3_bind_text(st_->meta, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st_->meta, 2, c.quirks.has(k) ? 1 : 0);
    if (!(e = step(st_->meta, "meta")).ok()) return e;
  }
  return end_record();
}

TraceError TraceWriter::add_packet(const TracePacket& p) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->packet;
  sqlite3_bind_int64(s, 1, as_i64(p.seq));
  sqlite3_bind_int64(s, 2, as_i64(p.timestamp_ns));
  sqlite3_bind_int64(s, 3, to_trace_direction(p.direction));
  sqlite3_bind_int64(s, 4, static_cast<int64_t>(p.data.size()));
  sqlite3_bind_int64(s, 5, p.orig_len);
  sqlite3_bind_int64(s, 6, to_trace_link_type(p.link_type));
  // zeroblob-safe: a NULL pointer would store NULL, which the schema forbids.
  sqlite3_bind_blob(s, 7, p.data.empty() ? "" : static_cast<const void*>(p.data.data()),
                    static_cast<int>(p.data.size()), SQLITE_STATIC);
  if (!(e = step(s, "packets")).ok()) return e;
  return end_record();
}

TraceError TraceWriter::add_op(const TraceOp& op) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->op;
  sqlite3_bind_int64(s, 1, as_i64(op.seq));
  sqlite3_bind_int64(s, 2, to_trace_op(op.kind));
  if (op.ring == kNoRing) {
    sqlite3_bind_null(s, 3);
  } else {
    sqlite3_bind_int64(s, 3, op.ring);
  }
  for (unsigned i = 0; i < kOpArgCount; i++) sqlite3_bind_int64(s, 4 + static_cast<int>(i), as_i64(op.args[i]));
  sqlite3_bind_blob(s, 10, op.blob.empty() ? "" : static_cast<const void*>(op.blob.data()),
                    static_cast<int>(op.blob.size()), SQLITE_STATIC);
  if (!(e = step(s, "ops")).ok()) return e;
  return end_record();
}

namespace {
void bind_opt(sqlite3_stmt* s, int col, const std::optional<uint64_t>& v) {
  if (v) {
    sqlite3_bind_int64(s, col, as_i64(*v));
  } else {
    sqlite3_bind_null(s, col);
  }
}
}  // namespace

TraceError TraceWriter::add_chain(const TraceChain& c) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->chain;
  sqlite3_bind_int64(s, 1, as_i64(c.seq));
  sqlite3_bind_int64(s, 2, as_i64(c.op_seq));
  sqlite3_bind_int64(s, 3, c.ring);
  sqlite3_bind_int64(s, 4, c.avail_idx);
  sqlite3_bind_int64(s, 5, c.cookie);
  sqlite3_bind_int64(s, 6, c.total_len);
  bind_opt(s, 7, c.packet_seq);
  if (!(e = step(s, "chains")).ok()) return e;
  for (size_t i = 0; i < c.descs.size(); i++) {
    const TraceChainDesc& d = c.descs[i];
    s = st_->chain_desc;
    sqlite3_bind_int64(s, 1, as_i64(c.seq));
    sqlite3_bind_int64(s, 2, static_cast<int64_t>(i));
    sqlite3_bind_int64(s, 3, d.index);
    sqlite3_bind_int64(s, 4, d.indirect_parent);
    sqlite3_bind_int64(s, 5, as_i64(d.addr));
    sqlite3_bind_int64(s, 6, d.len);
    sqlite3_bind_int64(s, 7, d.flags);
    sqlite3_bind_int64(s, 8, d.next);
    sqlite3_bind_int64(s, 9, d.first_piece);
    sqlite3_bind_int64(s, 10, d.npieces);
    if (!(e = step(s, "chain_descs")).ok()) return e;
  }
  for (size_t i = 0; i < c.pieces.size(); i++) {
    s = st_->chain_piece;
    sqlite3_bind_int64(s, 1, as_i64(c.seq));
    sqlite3_bind_int64(s, 2, static_cast<int64_t>(i));
    sqlite3_bind_int64(s, 3, as_i64(c.pieces[i].gpa));
    sqlite3_bind_int64(s, 4, c.pieces[i].len);
    sqlite3_bind_int64(s, 5, c.pieces[i].write ? 1 : 0);
    if (!(e = step(s, "chain_pieces")).ok()) return e;
  }
  return end_record();
}

TraceError TraceWriter::add_used(const TraceUsed& u) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->used;
  sqlite3_bind_int64(s, 1, as_i64(u.seq));
  sqlite3_bind_int64(s, 2, as_i64(u.op_seq));
  sqlite3_bind_int64(s, 3, u.ring);
  sqlite3_bind_int64(s, 4, u.used_idx);
  sqlite3_bind_int64(s, 5, u.slot);
  sqlite3_bind_int64(s, 6, u.id);
  sqlite3_bind_int64(s, 7, u.len);
  bind_opt(s, 8, u.packet_seq);
  if (!(e = step(s, "used")).ok()) return e;
  return end_record();
}

TraceError TraceWriter::add_probe(const TraceProbe& p) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->probe;
  sqlite3_bind_int64(s, 1, as_i64(p.seq));
  sqlite3_bind_int64(s, 2, as_i64(p.op_seq));
  sqlite3_bind_int64(s, 3, p.ring);
  sqlite3_bind_text(s, 4, to_trace_probe(p.kind), -1, SQLITE_STATIC);
  for (int i = 0; i < 3; i++) sqlite3_bind_int64(s, 5 + i, as_i64(p.arg[i]));
  bind_opt(s, 8, p.packet_seq);
  if (!(e = step(s, "probes")).ok()) return e;
  return end_record();
}

TraceError TraceWriter::add_counters(const TraceCounterSnapshot& c) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->snapshot;
  sqlite3_bind_int64(s, 1, as_i64(c.seq));
  sqlite3_bind_int64(s, 2, as_i64(c.op_seq));
  sqlite3_bind_int64(s, 3, c.ring);
  if (!(e = step(s, "counter_snapshots")).ok()) return e;
  // Format 2: only the counters that differ from this ring's previous
  // snapshot (from zero in its first). A steady RX batch moves two.
  TraceCounterSnapshot* prev = nullptr;
  for (auto& [ring, snap] : last_counters_) {
    if (ring == c.ring) prev = &snap;
  }
  if (prev == nullptr) {
    last_counters_.emplace_back(c.ring, TraceCounterSnapshot{});
    prev = &last_counters_.back().second;
  }
  for (size_t i = 0; i < TraceCounterSnapshot::kCount; i++) {
    const uint64_t v = c.value_of(i);
    if (v == prev->value_of(i)) continue;
    s = st_->counter;
    sqlite3_bind_int64(s, 1, as_i64(c.seq));
    sqlite3_bind_text(s, 2, TraceCounterSnapshot::name_of(i), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, as_i64(v));
    if (!(e = step(s, "counters")).ok()) return e;
  }
  prev->rs = c.rs;
  prev->vts = c.vts;
  return end_record();
}

TraceError TraceWriter::add_digest(const TraceDigest& d) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->digest;
  sqlite3_bind_int64(s, 1, as_i64(d.seq));
  sqlite3_bind_int64(s, 2, as_i64(d.op_seq));
  sqlite3_bind_int64(s, 3, d.ring);
  sqlite3_bind_int64(s, 4, d.cookie);
  sqlite3_bind_int64(s, 5, d.used_idx);
  sqlite3_bind_int64(s, 6, as_i64(d.digest));
  sqlite3_bind_int64(s, 7, as_i64(d.nbytes));
  if (!(e = step(s, "digests")).ok()) return e;
  return end_record();
}

TraceError TraceWriter::add_interrupt(const TraceInterrupt& i) {
  TraceError e = begin_record();
  if (!e.ok()) return e;
  sqlite3_stmt* s = st_->interrupt;
  sqlite3_bind_int64(s, 1, as_i64(i.seq));
  sqlite3_bind_int64(s, 2, as_i64(i.op_seq));
  sqlite3_bind_int64(s, 3, i.ring);
  sqlite3_bind_int64(s, 4, to_trace_interrupt(i.kind));
  if (!(e = step(s, "interrupts")).ok()) return e;
  return end_record();
}

}  // namespace viona_rr
