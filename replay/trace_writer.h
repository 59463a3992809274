// SPDX-License-Identifier: MIT
// trace_writer.h: TraceWriter, the only code that writes a trace file.
//
// Usage:
//   TraceError err;
//   std::unique_ptr<TraceWriter> w = TraceWriter::open("run.trace", {}, &err);
//   if (!w) { report(err.message); return; }
//   w->write_config(cfg);
//   w->add_packet(pkt);  ...           // batched: one transaction per |batch_records|
//   w->flush();                        // commit now (a crash keeps everything so far)
//   err = w->close();                  // indexes, complete=1, back to one file
//
// Crash safety: the file is in WAL mode with synchronous=NORMAL while
// recording. A committed batch survives the death of the process (SIGKILL,
// abort): the WAL is in the OS page cache, and any later open replays it.
// A power loss or kernel crash may lose the last batches but never corrupts
// the file (synchronous=NORMAL fsyncs the WAL at every checkpoint).
// Records added since the last commit are lost on a crash; the reader then
// reports the trace as incomplete.
//
// Errors: every call returns a TraceError. After the first failure the writer
// is failed: the open transaction is rolled back, later calls return the same
// error, and the file stays readable up to the last committed batch.
#ifndef REPLAY_TRACE_WRITER_H_
#define REPLAY_TRACE_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "replay/trace_records.h"

struct sqlite3;
struct sqlite3_stmt;

namespace viona_rr {

struct TraceWriterOptions {
  std::string tool_version;          // "" = "viona-rr"
  std::string host;                  // "" = gethostname()
  int64_t created_unix_ns = 0;       // 0 = now
  uint32_t batch_records = 4096;     // commit after this many records (>= 1)
  int64_t required_reader_version = 2;  // meta.required_reader_version (format 1 readers misread 2)
  // Test hook (SQLite-style fault injection): the |fail_nth_write|th
  // statement step of this writer from open fails as SQLITE_IOERR would.
  // 0 = never. Counts every BEGIN, insert, update and COMMIT.
  uint64_t fail_nth_write = 0;
};

class TraceWriter {
 public:
  // Creates |path| (which must not exist: a trace is never appended to).
  // Returns nullptr and fills |err| on failure.
  static std::unique_ptr<TraceWriter> open(const std::string& path, const TraceWriterOptions& opts,
                                           TraceError* err);
  // Without close(): commits the pending batch and checkpoints the WAL, but
  // leaves complete = 0, as an abnormal exit of the recorder would.
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Replaces the config (and the meta quirk_* booleans from |cfg.quirks|),
  // with config_scenario rows when |cfg.scenario| holds one (none otherwise).
  TraceError write_config(const TraceConfig& cfg);
  TraceError add_packet(const TracePacket& p);
  TraceError add_op(const TraceOp& op);
  TraceError add_chain(const TraceChain& c);
  TraceError add_used(const TraceUsed& u);
  TraceError add_probe(const TraceProbe& p);
  TraceError add_counters(const TraceCounterSnapshot& s);
  TraceError add_digest(const TraceDigest& d);
  TraceError add_interrupt(const TraceInterrupt& i);

  // Commits the current batch.
  TraceError flush();
  // Final transaction (indexes, complete = 1), then journal_mode=DELETE so
  // no -wal/-shm remains. The writer is closed afterwards whatever happens.
  TraceError close();

  const std::string& path() const { return path_; }
  uint64_t writes() const { return writes_; }  // statement steps so far (for the fault hook)

 private:
  struct Stmts;
  TraceWriter(sqlite3* db, std::string path, const TraceWriterOptions& opts);

  TraceError init(const TraceWriterOptions& opts);
  TraceError exec(const char* sql, const char* what);
  TraceError step(sqlite3_stmt* st, const char* table);  // step + reset, counts writes
  TraceError prepare(const char* sql, sqlite3_stmt** out);
  TraceError begin_record();  // opens the batch transaction if needed
  TraceError end_record();    // commits when the batch is full
  TraceError fail(TraceError e);
  TraceError sqlite_error(const char* what);
  void finalize_all();
  void shutdown(bool mark_complete);

  sqlite3* db_;
  std::string path_;
  uint32_t batch_records_;
  uint64_t fail_nth_write_;
  uint64_t writes_ = 0;
  uint32_t in_batch_ = 0;
  bool in_txn_ = false;
  bool closed_ = false;
  TraceError failed_;  // sticky first failure
  std::unique_ptr<Stmts> st_;
  // Per ring, the counters of its last snapshot: add_counters writes only
  // what changed (format 2). A handful of rings: a vector beats a map.
  std::vector<std::pair<uint16_t, TraceCounterSnapshot>> last_counters_;
};

}  // namespace viona_rr

#endif  // REPLAY_TRACE_WRITER_H_
