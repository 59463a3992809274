// SPDX-License-Identifier: MIT
// trace_reader.h: TraceReader, the only code that reads a trace file.
//
// Usage:
//   TraceError err;
//   std::unique_ptr<TraceReader> r = TraceReader::open("run.trace", &err);
//   if (!r) { report(err.message); return; }        // not a trace, too new, corrupt, ...
//   if (err.kind == TraceErrorKind::incomplete) warn(err.message);  // caller decides
//   TraceConfig cfg;
//   err = r->read_config(&cfg);
//   err = r->each_op([&](const TraceOp& op) { ...; return true; });  // false stops
//
// The file is opened with SQLITE_OPEN_READONLY and is never modified, so a
// trace in a read-only checkout opens. The file is treated as hostile: every
// value is type- and range-checked against the "must" rules of
// trace_format.h before it reaches a record, and a violation is
// TraceErrorKind::corrupt naming the file, table, row, expected and found.
// Every iteration is in ascending seq (ORDER BY with the primary key), so two
// reads of a trace always give the same sequence.
#ifndef REPLAY_TRACE_READER_H_
#define REPLAY_TRACE_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "replay/trace_records.h"

struct sqlite3;

namespace viona_rr {

// A whole trace in memory, each table in seq order.
struct TraceContents {
  TraceConfig config;
  std::vector<TracePacket> packets;
  std::vector<TraceOp> ops;
  std::vector<TraceChain> chains;
  std::vector<TraceUsed> used;
  std::vector<TraceProbe> probes;
  std::vector<TraceCounterSnapshot> counters;
  std::vector<TraceDigest> digests;
  std::vector<TraceInterrupt> interrupts;
};

class TraceReader {
 public:
  // Opens and validates |path|: file, SQLite header, application_id,
  // user_version, tables, integrity (PRAGMA quick_check), meta. Returns a
  // reader when |err| is ok or incomplete (the records committed before the
  // recorder stopped are all readable), nullptr with the specific kind
  // otherwise.
  static std::unique_ptr<TraceReader> open(const std::string& path, TraceError* err);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const std::string& path() const { return path_; }
  const TraceMeta& meta() const { return meta_; }
  bool complete() const { return meta_.complete; }
  int64_t user_version() const { return user_version_; }

  // corrupt when the trace has no config row (a recorder killed before
  // write_config) or the row breaks a rule.
  TraceError read_config(TraceConfig* out);

  // Visitors: |fn| returns false to stop early (not an error).
  TraceError each_packet(const std::function<bool(const TracePacket&)>& fn);
  TraceError each_op(const std::function<bool(const TraceOp&)>& fn);
  TraceError each_chain(const std::function<bool(const TraceChain&)>& fn);
  TraceError each_used(const std::function<bool(const TraceUsed&)>& fn);
  TraceError each_probe(const std::function<bool(const TraceProbe&)>& fn);
  TraceError each_counters(const std::function<bool(const TraceCounterSnapshot&)>& fn);
  TraceError each_digest(const std::function<bool(const TraceDigest&)>& fn);
  TraceError each_interrupt(const std::function<bool(const TraceInterrupt&)>& fn);

  // Whole-table forms of the visitors (|out| is replaced).
  TraceError read_packets(std::vector<TracePacket>* out);
  TraceError read_ops(std::vector<TraceOp>* out);
  TraceError read_chains(std::vector<TraceChain>* out);
  TraceError read_used(std::vector<TraceUsed>* out);
  TraceError read_probes(std::vector<TraceProbe>* out);
  TraceError read_counters(std::vector<TraceCounterSnapshot>* out);
  TraceError read_digests(std::vector<TraceDigest>* out);
  TraceError read_interrupts(std::vector<TraceInterrupt>* out);

  // Every table at once (replay and benchmarks want the whole trace).
  TraceError read_all(TraceContents* out);

  // Packets first_seq .. first_seq + count - 1 (an rx_batch op); corrupt
  // unless all of them exist.
  TraceError read_packet_range(uint64_t first_seq, uint64_t count, std::vector<TracePacket>* out);
  // Rows in |table|, which must be one of kTraceTables (else misuse).
  TraceError count_rows(const std::string& table, uint64_t* out);

 private:
  TraceReader(sqlite3* db, std::string path);
  TraceError validate();
  TraceError read_meta();
  TraceError sqlite_error(const char* what) const;
  TraceError has_table(const char* name, bool* have) const;  // in sqlite_master

  sqlite3* db_;
  std::string path_;
  int64_t user_version_ = 0;
  TraceMeta meta_;
};

}  // namespace viona_rr

#endif  // REPLAY_TRACE_READER_H_
