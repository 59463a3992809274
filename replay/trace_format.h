// SPDX-License-Identifier: MIT
// trace_format.h: the on-disk format of a viona-rr trace (schema document, SQL, version constants).
//
// A viona-rr trace: one SQLite 3 database file, by convention `*.trace`.
//
// This comment is the normative description of the format; man/viona-trace.5
// repeats it for users. Only trace_writer.cpp and trace_reader.cpp include
// this header. A "must" below is a rule TraceReader enforces: a file that
// breaks one is refused as TraceErrorKind::corrupt with a message naming the
// file, table, row and the expected versus found value.
//
// ---------------------------------------------------------------------------
// File identity and versions
// ---------------------------------------------------------------------------
//   OFFSET  SIZE  FIELD (SQLite database header; big-endian, as SQLite stores it)
//     0      16   "SQLite format 3\0"      (else: not-sqlite)
//    60       4   PRAGMA user_version      = kTraceFormatVersion of the writer
//    68       4   PRAGMA application_id    = kTraceApplicationId (else: not-a-trace)
//
//   * user_version must be >= 1. A value above this reader's
//     kTraceFormatVersion is refused as too-new; the message names both.
//   * meta.required_reader_version (rr's requiredForwardCompatibilityVersion)
//     is the oldest reader format that can read the file. It must be >= 1 and
//     is refused as too-new when above kTraceFormatVersion. A writer raises
//     user_version only when old readers would misread the file; it raises
//     required_reader_version alone to, e.g., 1 when an addition is safe to
//     ignore (new tables, new meta keys are ignored by older readers).
//   * While recording, journal_mode is WAL (file header bytes 18-19 = 2) and
//     a -wal/-shm pair sits next to the file. close() switches back to
//     journal_mode=DELETE so a finished trace is one self-contained file.
//
// Integer encoding: SQLite INTEGER is a signed 64-bit value. A column typed
// u64 below holds the unsigned value with the same 64 bits (values >= 2^63
// appear negative in sqlite3(1); use printf('%x', col) or `col & 0xff...`).
// u32/u16/u8 columns must hold a value in range; "bool" columns must be 0
// or 1. No column stores a host pointer, and every value is independent of
// the recording host's byte order: multi-byte guest data lives only in BLOBs,
// byte for byte as it was in guest memory (virtio is little-endian).
//
// Sequence numbers: see trace_records.h. seq columns are INTEGER PRIMARY
// KEYs; readers iterate in ascending seq, which is recording order. "op_seq"
// refers to ops.seq (0 = before the first op); "packet_seq" to packets.seq,
// NULL when the event belongs to no packet.
//
// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------
// meta(key TEXT PRIMARY KEY, value)               one row per key
//   format_version           int   user_version at creation
//   tool_version             text  recorder build
//   created_unix_ns          int   wall time at creation, ns since 1970 (informative)
//   host                     text  recording host name (informative)
//   required_reader_version  int   must be 1 <= v <= reader's kTraceFormatVersion
//   complete                 int   bool; 0 until close()'s final transaction sets 1
//   quirk_<name>             int   bool, one per viona::QuirkKind (quirk_name());
//                                  a missing key reads as 0, unknown keys are ignored
//   All keys except quirk_* must be present.
//
// config(id INTEGER PRIMARY KEY)                   at most one row, id must be 1
//   features_negotiated u64, features_offered u64  VIRTIO_NET_F_* bit masks
//   mtu u16                 bytes, L2 payload
//   memory_mode u8          0 paged, 1 contiguous (viona::MemoryMode)
//   guest_profile text      GuestDriver profile name
//   guest_layout text       profile layout parameters, JSON
//   tx_copy_data bool, tx_header_pad u16 (bytes, must be <= 256)
//   quirks u32              viona::Quirks bits; must be < 2^kQuirkCount
//   quirk_names text        must equal Quirks::to_string() of the bits
//   cksum_partial, cksum_full_v4, cksum_full_v6, cksum_ipv4_hdr, lso_tcpv4 bool,
//   lso_max u32 (bytes)     backend viona::OffloadCaps
//   direction u8            0 rx, 1 tx, 2 both: what was recorded
//   mac blob                must be exactly 6 bytes
// config_rings(ring INTEGER PRIMARY KEY, qsize u16)     queue size per ring index
// config_regions(pos INTEGER PRIMARY KEY, gpa u64, size u64)  guest-physical regions, bytes
// config_scenario(key TEXT PRIMARY KEY, value TEXT)  the recording's scenario options
//   (TraceScenario in trace_records.h; `viona-rr record` options, key = long
//   option name with '_' for '-'). Written with the config; every value is
//   text and must be text. Since format 2 (added without a version bump: an
//   extra table is invisible to older readers). Optional: a trace without
//   the table (every format 1 trace, format 2 traces of earlier builds) or
//   with no rows has no scenario; it is not in kTraceTables. Unknown keys
//   are ignored; a missing key reads as the option's default.
//     backend_offload  none, partial, full or lso                  (default none)
//     batch            decimal 1..2^32-1, frames per RX batch      (1)
//     corrupt          "" or KIND@N: KIND an RxCorruptKind name,
//                      N decimal, frames offered before it acts     ("")
//     count            decimal u64, frames taken from the source   (0 = all)
//     feature_mask     decimal u64, bhyve feature_mask              (0)
//     filter           any text, the BPF filter                     ("" = none)
//     migrate_at       decimal u64, frames before the migration     (0 = never)
//     repeat           decimal 1..2^32-1, deliveries of the capture (1)
//     rx_lso           decimal 0..65535, MSS of HW_LSO RX frames    (0 = never)
//     tx_offload       0 or 1                                       (0)
//   Decimal means the digits alone: no sign, no spaces, no leading zero.
//   filter, count and repeat have already shaped the packets table.
//
// packets(seq INTEGER PRIMARY KEY)                 frames fed to / taken from the device
//   timestamp_ns u64        capture time (informative, never compared)
//   direction u8            0 rx (host -> guest) or 1 tx; must not be 2
//   caplen u32              must equal length(data)
//   orig_len u32            bytes on the wire; must be >= caplen
//   link_type u16           pcap LINKTYPE_*; must be 1 (Ethernet)
//   data blob               frame bytes, Ethernet header first, no FCS
//
// ops(seq INTEGER PRIMARY KEY)                     device inputs, in the order replay applies them
//   kind u8                 OpKind value (trace_records.h); must be known
//   ring u16 or NULL        must be NULL exactly when the kind is link-level
//   arg0..arg5 u64          parameters (see OpKind); those past op_arg_count(kind) must be 0
//   blob blob               mem_write: bytes the guest wrote at arg0; must be empty otherwise
//
// chains(seq INTEGER PRIMARY KEY)                  every successful pop (event seq)
//   op_seq u64, ring u16, avail_idx u16 (unmasked), cookie u16 (head id),
//   total_len u32 (bytes), packet_seq u64 or NULL
// chain_descs(chain_seq, pos, PRIMARY KEY(chain_seq, pos))   descriptors in walk order
//   chain_seq must name a chains row; pos 0, 1, ... must be dense
//   idx u16, indirect_parent int (-1 main table, else 0..65535), addr u64 (gpa),
//   len u32, flags u16 (VRING_DESC_F_*), next u16,
//   first_piece u16, npieces u16: must satisfy first_piece + npieces <= pieces of the chain
// chain_pieces(chain_seq, pos, PRIMARY KEY(chain_seq, pos))  buffer pieces in order
//   chain_seq must name a chains row; pos dense from 0
//   gpa u64, len u32 (bytes), write bool (device-writable)
//
// used(seq INTEGER PRIMARY KEY)                    every used-ring entry written
//   op_seq u64, ring u16, used_idx u16 (unmasked), slot u16 (used.ring[] index written),
//   id u32, len u32 (bytes written, virtio header included), packet_seq u64 or NULL
//
// probes(seq INTEGER PRIMARY KEY)                  every probe fired
//   op_seq u64, ring u16, name text (must be a probes.inc name),
//   arg0..arg2 u64 (probe_arg_names() order), packet_seq u64 or NULL
//
// counter_snapshots(seq INTEGER PRIMARY KEY)       op_seq u64, ring u16
// counters(snapshot_seq, name, PRIMARY KEY(snapshot_seq, name))
//   snapshot_seq must name a counter_snapshots row; name must be "rs_<counters.inc
//   name>" or vts_packets/vts_bytes/vts_errors/vts_drops; value u64.
//   Format 2: a snapshot holds a row only for each counter whose value differs
//   from the same ring's previous snapshot (from 0 in the ring's first one);
//   a counter without a row keeps its previous value. A steady RX batch
//   writes two rows (vts_packets, vts_bytes) instead of 34.
//   Format 1: every snapshot lists every counter; a missing one reads as 0
//   (a trace older than the counter). Readers of format 2 read both.
//
// digests(seq INTEGER PRIMARY KEY)                 bytes the device wrote into a chain
//   op_seq u64, ring u16, cookie u16, used_idx u16 (unmasked, of its used entry),
//   digest u64 (trace_digest, XXH64, seed 0, over the bytes in write order),
//   nbytes u64
//
// interrupts(seq INTEGER PRIMARY KEY)              every interrupt decision
//   op_seq u64, ring u16, kind u8 (0 suppressed, 1 msi, 2 poll, 3 already)
//
// op_kinds(kind INTEGER PRIMARY KEY, name TEXT)    names of OpKind for queries
//   (informative: written by the writer, never read back).
//
// ---------------------------------------------------------------------------
// Views (for sqlite3(1); the reader does not use them)
// ---------------------------------------------------------------------------
// packet_outcome       per packet: seq, direction, orig_len, caplen, chains
//                      (chains popped for it), used_entries, used_bytes (sum of
//                      used.len), probes (comma-separated names in seq order)
// counters_over_time   snapshot seq, op_seq, op kind name, ring, counter name, value
//                      (format 2: one row per change, not per counter)
// counters_final       ring, counter name, value: each counter's last value
//                      (counters that never left 0 are absent)
// chain_pieces_view    chain seq, op_seq, ring, avail_idx, cookie, total_len,
//                      packet_seq, piece pos, gpa, len, write
// ops_named            ops with the kind's name
//
// Indexes on packet_seq and op_seq columns are built by close(); an
// incomplete trace has none, so queries on it are slower but still correct.
#ifndef REPLAY_TRACE_FORMAT_H_
#define REPLAY_TRACE_FORMAT_H_

#include <cstdint>

namespace viona_rr {

// The trace format version, stored as PRAGMA user_version. It does not track
// releases of viona-rr: it changes only when compatibility breaks, that is
// when a reader of the previous version would misread a new file. Bump it
// together with this schema comment, the man page and the pinned test
// (tests/replay/trace_writer_test.cpp), and keep a golden trace of the old
// version in traces/.
//
// History:
//   1  first format.
//   2  counters rows hold changes only (see the counters table above); a
//      format 1 reader would read an unchanged counter as 0. Writers set
//      required_reader_version = 2. The trace library's format 1 traces are
//      the golden files of version 1.
//      Later, without a bump: the optional config_scenario table (older
//      readers ignore it; this reader does not require it).
constexpr int64_t kTraceFormatVersion = 2;

// PRAGMA application_id: "VNRR" (viona record/replay), big-endian in the header.
constexpr int32_t kTraceApplicationId = 0x564e5252;

// Every table a trace must have; the reader refuses a file missing one.
// (config_scenario is optional and therefore not listed.)
constexpr const char* kTraceTables[] = {
    "meta",   "config",        "config_rings", "config_regions",    "packets",  "ops",     "chains",
    "chain_descs", "chain_pieces", "used", "probes", "counter_snapshots", "counters", "digests",
    "interrupts", "op_kinds",
};

// The schema, run in the writer's first transaction.
constexpr const char kTraceSchemaSql[] = R"SQL(
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
CREATE TABLE config(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  features_negotiated INTEGER NOT NULL,
  features_offered INTEGER NOT NULL,
  mtu INTEGER NOT NULL,
  memory_mode INTEGER NOT NULL,
  guest_profile TEXT NOT NULL,
  guest_layout TEXT NOT NULL,
  tx_copy_data INTEGER NOT NULL,
  tx_header_pad INTEGER NOT NULL,
  quirks INTEGER NOT NULL,
  quirk_names TEXT NOT NULL,
  cksum_partial INTEGER NOT NULL,
  cksum_full_v4 INTEGER NOT NULL,
  cksum_full_v6 INTEGER NOT NULL,
  cksum_ipv4_hdr INTEGER NOT NULL,
  lso_tcpv4 INTEGER NOT NULL,
  lso_max INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  mac BLOB NOT NULL);
CREATE TABLE config_rings(ring INTEGER PRIMARY KEY, qsize INTEGER NOT NULL);
CREATE TABLE config_regions(pos INTEGER PRIMARY KEY, gpa INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE TABLE config_scenario(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE packets(
  seq INTEGER PRIMARY KEY,
  timestamp_ns INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  caplen INTEGER NOT NULL,
  orig_len INTEGER NOT NULL,
  link_type INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE TABLE ops(
  seq INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  ring INTEGER,
  arg0 INTEGER NOT NULL, arg1 INTEGER NOT NULL, arg2 INTEGER NOT NULL,
  arg3 INTEGER NOT NULL, arg4 INTEGER NOT NULL, arg5 INTEGER NOT NULL,
  blob BLOB NOT NULL);
CREATE TABLE chains(
  seq INTEGER PRIMARY KEY,
  op_seq INTEGER NOT NULL,
  ring INTEGER NOT NULL,
  avail_idx INTEGER NOT NULL,
  cookie INTEGER NOT NULL,
  total_len INTEGER NOT NULL,
  packet_seq INTEGER);
CREATE TABLE chain_descs(
  chain_seq INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  indirect_parent INTEGER NOT NULL,
  addr INTEGER NOT NULL,
  len INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  next INTEGER NOT NULL,
  first_piece INTEGER NOT NULL,
  npieces INTEGER NOT NULL,
  PRIMARY KEY (chain_seq, pos)) WITHOUT ROWID;
CREATE TABLE chain_pieces(
  chain_seq INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  gpa INTEGER NOT NULL,
  len INTEGER NOT NULL,
  write INTEGER NOT NULL,
  PRIMARY KEY (chain_seq, pos)) WITHOUT ROWID;
CREATE TABLE used(
  seq INTEGER PRIMARY KEY,
  op_seq INTEGER NOT NULL,
  ring INTEGER NOT NULL,
  used_idx INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  id INTEGER NOT NULL,
  len INTEGER NOT NULL,
  packet_seq INTEGER);
CREATE TABLE probes(
  seq INTEGER PRIMARY KEY,
  op_seq INTEGER NOT NULL,
  ring INTEGER NOT NULL,
  name TEXT NOT NULL,
  arg0 INTEGER NOT NULL, arg1 INTEGER NOT NULL, arg2 INTEGER NOT NULL,
  packet_seq INTEGER);
CREATE TABLE counter_snapshots(seq INTEGER PRIMARY KEY, op_seq INTEGER NOT NULL, ring INTEGER NOT NULL);
CREATE TABLE counters(
  snapshot_seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (snapshot_seq, name)) WITHOUT ROWID;
CREATE TABLE digests(
  seq INTEGER PRIMARY KEY,
  op_seq INTEGER NOT NULL,
  ring INTEGER NOT NULL,
  cookie INTEGER NOT NULL,
  used_idx INTEGER NOT NULL,
  digest INTEGER NOT NULL,
  nbytes INTEGER NOT NULL);
CREATE TABLE interrupts(seq INTEGER PRIMARY KEY, op_seq INTEGER NOT NULL, ring INTEGER NOT NULL,
  kind INTEGER NOT NULL);
CREATE TABLE op_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);

CREATE VIEW packet_outcome AS
  SELECT p.seq AS seq,
         CASE p.direction WHEN 0 THEN 'rx' WHEN 1 THEN 'tx' ELSE '?' END AS direction,
         p.orig_len AS orig_len,
         p.caplen AS caplen,
         (SELECT count(*) FROM chains c WHERE c.packet_seq = p.seq) AS chains,
         (SELECT count(*) FROM used u WHERE u.packet_seq = p.seq) AS used_entries,
         (SELECT coalesce(sum(u.len), 0) FROM used u WHERE u.packet_seq = p.seq) AS used_bytes,
         (SELECT coalesce(group_concat(name, ','), '')
            FROM (SELECT pr.name AS name FROM probes pr WHERE pr.packet_seq = p.seq ORDER BY pr.seq))
           AS probes
  FROM packets p;
CREATE VIEW counters_over_time AS
  SELECT s.seq AS seq, s.op_seq AS op_seq, k.name AS op_kind, s.ring AS ring, c.name AS name,
         c.value AS value
  FROM counter_snapshots s
  JOIN counters c ON c.snapshot_seq = s.seq
  LEFT JOIN ops o ON o.seq = s.op_seq
  LEFT JOIN op_kinds k ON k.kind = o.kind;
CREATE VIEW counters_final AS
  SELECT ring, name, value FROM (
    SELECT s.ring AS ring, c.name AS name, c.value AS value,
           row_number() OVER (PARTITION BY s.ring, c.name ORDER BY s.seq DESC) AS latest
    FROM counter_snapshots s JOIN counters c ON c.snapshot_seq = s.seq)
  WHERE latest = 1;
CREATE VIEW chain_pieces_view AS
  SELECT c.seq AS seq, c.op_seq AS op_seq, c.ring AS ring, c.avail_idx AS avail_idx,
         c.cookie AS cookie, c.total_len AS total_len, c.packet_seq AS packet_seq,
         p.pos AS pos, p.gpa AS gpa, p.len AS len, p.write AS write
  FROM chains c JOIN chain_pieces p ON p.chain_seq = c.seq;
CREATE VIEW ops_named AS
  SELECT o.seq AS seq, k.name AS kind, o.ring AS ring, o.arg0 AS arg0, o.arg1 AS arg1,
         o.arg2 AS arg2, o.arg3 AS arg3, o.arg4 AS arg4, o.arg5 AS arg5, length(o.blob) AS blob_len
  FROM ops o LEFT JOIN op_kinds k ON k.kind = o.kind;
)SQL";

// Built by close() in the final transaction (after the bulk inserts, which
// is cheaper than maintaining them row by row).
constexpr const char kTraceIndexSql[] = R"SQL(
CREATE INDEX IF NOT EXISTS chains_packet ON chains(packet_seq);
CREATE INDEX IF NOT EXISTS chains_op ON chains(op_seq);
CREATE INDEX IF NOT EXISTS used_packet ON used(packet_seq);
CREATE INDEX IF NOT EXISTS used_op ON used(op_seq);
CREATE INDEX IF NOT EXISTS probes_packet ON probes(packet_seq);
CREATE INDEX IF NOT EXISTS probes_op ON probes(op_seq);
CREATE INDEX IF NOT EXISTS digests_op ON digests(op_seq);
CREATE INDEX IF NOT EXISTS interrupts_op ON interrupts(op_seq);
)SQL";

}  // namespace viona_rr

#endif  // REPLAY_TRACE_FORMAT_H_
