// SPDX-License-Identifier: MIT
// trace_records.h: the value types a trace holds, their stored enums, and the trace digest.
//
// This header is what the Recorder fills and the Replayer consumes. It knows
// nothing about SQL: the on-disk layout lives in trace_format.h, and only
// TraceWriter / TraceReader translate between these records and rows.
//
// Sequence numbers
// ----------------
// Two counters order a trace, both assigned by the recorder, both starting
// at 1 and strictly increasing:
//   * op seq:    one per TraceOp, the device input replay re-applies.
//   * event seq: one counter shared by every device output (TraceChain,
//                TraceUsed, TraceProbe, TraceCounterSnapshot, TraceDigest,
//                TraceInterrupt), so their interleaving is recoverable.
// Every event also carries the op seq it happened under (0 = before the
// first op). Packets have their own seq (1, 2, ...), referenced by
// rx_batch ops and by events (packet_seq, empty when unknown/none).
//
// Stored enums
// ------------
// No in-memory enum is ever written raw. Each stored enum has a
// to_trace_*/from_trace_* pair with explicit integer values; a from_trace_*
// returns false for an unknown value, and the reader turns that into
// TraceErrorKind::corrupt naming the file, table, row and value. Probe kinds
// and counters are stored by name (probes.inc / counters.inc spelling) so a
// reordering of those lists never changes old traces.
#ifndef REPLAY_TRACE_RECORDS_H_
#define REPLAY_TRACE_RECORDS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "viona/guest_memory.h"
#include "viona/link.h"
#include "viona/packet.h"
#include "viona/probes.h"
#include "viona/quirks.h"
#include "viona/stats.h"

namespace viona_rr {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

// What went wrong with a trace file. Return the most specific kind that
// applies: a file SQLite cannot read at all is not_sqlite, one whose
// application_id is not ours is not_a_trace, one whose contents break a
// "must" rule of trace_format.h is corrupt.
enum class [[nodiscard]] TraceErrorKind : uint8_t {
  ok = 0x0,           // no error
  not_a_file = 0x1,   // path missing, a directory, or unopenable (errno text in message)
  not_sqlite = 0x2,   // not an SQLite database (wrong header, truncated header)
  not_a_trace = 0x3,  // SQLite, but application_id is not kTraceApplicationId
  incomplete = 0x4,   // meta.complete = 0: recorder died or never closed; still readable
  too_new = 0x5,      // user_version or required_reader_version newer than this build
  corrupt = 0x6,      // SQLite error while reading, missing table, or a "must" rule broken
  io = 0x7,           // writer: SQLite refused a write (disk full, injected fault, ...)
  misuse = 0x8,       // writer: call after close() or after an earlier failure
};
const char* trace_error_kind_name(TraceErrorKind k);  // "not-a-trace", ...

// A kind plus a one-line, lower-case message naming the file and, where it
// applies, the table, row, expected and found values.
struct TraceError {
  TraceErrorKind kind = TraceErrorKind::ok;
  std::string message;

  bool ok() const { return kind == TraceErrorKind::ok; }
  static TraceError make(TraceErrorKind k, std::string msg) { return TraceError{k, std::move(msg)}; }
};

// ---------------------------------------------------------------------------
// Stored enums
// ---------------------------------------------------------------------------

// Device inputs, in the order replay re-applies them. |ring| is the ring
// index for ring ops and kNoRing otherwise; args[] hold the remaining
// parameters in the order given, unused args are 0.
enum class OpKind : uint8_t {
  mem_write = 1,         // args: gpa; blob: the bytes the guest driver wrote
  set_features = 2,      // args: raw negotiated feature bits
  set_mtu = 3,           // args: mtu (bytes, L2 payload)
  set_params = 4,        // args: tx_copy_data (0/1), tx_header_pad (bytes)
  set_promisc = 5,       // args: to_trace value of viona::PromiscMode (0 none, 1 multi, 2 all)
  ring_init = 6,         // ring; args: qsize, pa (legacy contiguous layout, guest-physical)
  ring_init_modern = 7,  // ring; args: qsize, desc, avail, used (guest-physical)
  ring_set_state = 8,    // ring; args: avail_idx, used_idx, qsize, desc, avail, used
  ring_kick = 9,         // ring
  ring_reset = 10,       // ring
  ring_pause = 11,       // ring
  ring_set_msi = 12,     // ring; args: msi addr, msi msg
  ring_intr_clr = 13,    // ring
  rx_batch = 14,         // ring (NULL: through rx_input, MAC classification and steering); args: first_packet_seq, count, meta bits (1 hw_lso, 2 cksum_ok), lso_mss
  tx_drain = 15,         // ring
  tx_release = 16,       // ring; args: cookie (loan released by the backend)
  snapshot = 17,         // counters snapshot marker (link level)
};
constexpr uint16_t kNoRing = 0xffff;  // TraceOp::ring of a link-level op (stored as NULL)
constexpr unsigned kOpArgCount = 6;
int64_t to_trace_op(OpKind k);
bool from_trace_op(int64_t v, OpKind* out);
const char* op_kind_name(OpKind k);  // "mem_write", ...
unsigned op_arg_count(OpKind k);     // how many args[] the kind uses
bool op_has_ring(OpKind k);          // whether |ring| must be a ring index

// Config direction (what was recorded) and packet direction (rx/tx only).
enum class DirectionKind : uint8_t {
  rx = 0,    // host -> guest
  tx = 1,    // guest -> host
  both = 2,  // config only
};
int64_t to_trace_direction(DirectionKind d);
bool from_trace_direction(int64_t v, DirectionKind* out);
const char* direction_name(DirectionKind d);  // "rx", "tx", "both"

// Packet link type; the values are pcap LINKTYPE_* numbers.
enum class LinkTypeKind : uint16_t {
  ethernet = 1,  // LINKTYPE_ETHERNET
};
int64_t to_trace_link_type(LinkTypeKind k);
bool from_trace_link_type(int64_t v, LinkTypeKind* out);

int64_t to_trace_memory_mode(viona::MemoryMode m);
bool from_trace_memory_mode(int64_t v, viona::MemoryMode* out);
int64_t to_trace_interrupt(viona::InterruptKind k);
bool from_trace_interrupt(int64_t v, viona::InterruptKind* out);
int64_t to_trace_promisc(viona::PromiscMode m);
bool from_trace_promisc(int64_t v, viona::PromiscMode* out);
// Probes are stored by their probes.inc name.
const char* to_trace_probe(viona::ProbeKind k);
bool from_trace_probe(const std::string& name, viona::ProbeKind* out);

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------
// Plain value types. dump() is for people (one line, named fields); dump_raw()
// is for machines (one line, "key=value" separated by single spaces, numbers
// in decimal, blobs in lower-case hex), the basis of `viona-rr inspect`.

// The meta row: who wrote the trace and whether it finished.
struct TraceMeta {
  int64_t format_version = 0;           // user_version at creation (kTraceFormatVersion)
  std::string tool_version;             // recorder build, free text
  int64_t created_unix_ns = 0;          // wall clock at open, ns since 1970 (never compared)
  std::string host;                     // host name at open (never compared)
  int64_t required_reader_version = 0;  // oldest reader format version that can read it
  viona::Quirks quirks;                 // one meta boolean per QuirkKind
  bool complete = false;                // set in close()'s final transaction
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceMeta& o) const;
};

// What a recording did besides replaying its capture: the scenario options
// of `viona-rr record` (RecordSpec, viona-rr-record(1) "Scenarios"), kept so
// that a re-recording (minimize, diff --replay) does them again. Stored as
// config_scenario(key, value) rows (trace_format.h), one per field below;
// the key is the record option's long name with '_' for '-', the value the
// option's argument as text (numbers in decimal, booleans 0 or 1).
//   filter, count and repeat have already shaped the packets table (the
//   frames that passed the filter, the first |count| of them, |repeat|
//   times over); a re-recording of the packets must not apply them again
//   to a subset (replay/minimize.h says how each is used).
struct TraceScenario {
  std::string corrupt_kind;              // key corrupt "KIND@N": a bhyve_glue::RxCorruptKind name, "" = none
  uint64_t corrupt_after = 0;            //   N: frames offered before the RX head chain is malformed
  bool tx_offload = false;               // key tx_offload: the guest asks for checksum/LSO offload on TX
  std::string backend_offload = "none";  // key backend_offload: none, partial, full or lso
  uint16_t rx_lso = 0;                   // key rx_lso: MSS of RX frames over MTU + 14 (0 = never HW_LSO)
  uint64_t migrate_at = 0;               // key migrate_at: rings paused and restored after frame N (0 = never)
  uint32_t batch = 1;                    // key batch: frames per RX batch (>= 1)
  uint32_t repeat = 1;                   // key repeat: deliveries of the whole capture (>= 1)
  uint64_t count = 0;                    // key count: frames taken from the source (0 = all)
  std::string filter;                    // key filter: BPF filter, "" = every frame
  uint64_t feature_mask = 0;             // key feature_mask: bhyve feature_mask (bits withheld from the offer)

  // "KIND@N" or "" (the --corrupt argument).
  std::string corrupt() const;
  // The rows, every key, in ascending key order.
  std::vector<std::pair<std::string, std::string>> rows() const;
  // Sets the field stored under |key| from its row |value|. An unknown key
  // (written by a later recorder) is ignored and returns true; a known key
  // with a bad value returns false with |*expected| saying what it must be.
  bool set_row(const std::string& key, const std::string& value, std::string* expected);
  std::string dump() const;      // "scenario batch 1 ... corrupt bad_idx@3 ... filter 'tcp'"
  std::string dump_raw() const;  // "scenario batch=1 ... filter=<hex>" (filter in hex: it may hold spaces)
  bool operator==(const TraceScenario& o) const;
  bool operator!=(const TraceScenario& o) const { return !(*this == o); }
};

struct TraceConfig {
  uint64_t features_negotiated = 0;  // VIRTIO_NET_F_* bits the guest acked
  uint64_t features_offered = 0;     // VIRTIO_NET_F_* bits the device offered
  uint16_t mtu = 1500;               // bytes, L2 payload
  std::vector<uint16_t> ring_sizes;  // queue size per ring index (0 = unused)
  viona::MemoryMode memory_mode = viona::MemoryMode::paged;
  std::string guest_profile;         // GuestDriver profile name
  std::string guest_layout;          // profile layout parameters, JSON text
  viona::LinkParams params;          // tx_copy_data, tx_header_pad
  viona::Quirks quirks;              // active quirks (names derived from the bits)
  viona::OffloadCaps offloads;       // backend offload capabilities
  std::vector<viona::MemoryRegion> regions;  // guest-physical, in order added
  DirectionKind direction = DirectionKind::both;
  std::array<uint8_t, 6> mac{};
  // The config_scenario rows; empty when the trace has none (recorded
  // before the table existed, or by a writer that left it empty). dump()
  // and dump_raw() leave it out: TraceScenario has its own.
  std::optional<TraceScenario> scenario;
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceConfig& o) const;
};

struct TracePacket {
  uint64_t seq = 0;           // 1, 2, ... in capture order
  uint64_t timestamp_ns = 0;  // capture time, ns (pcap or recorder clock; never compared)
  DirectionKind direction = DirectionKind::rx;  // rx or tx, never both
  uint32_t orig_len = 0;      // bytes on the wire; >= data.size() (captured length)
  LinkTypeKind link_type = LinkTypeKind::ethernet;
  std::vector<uint8_t> data;  // captured bytes, Ethernet header first, no FCS
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TracePacket& o) const;
};

struct TraceOp {
  uint64_t seq = 0;                 // op seq
  OpKind kind = OpKind::snapshot;
  uint16_t ring = kNoRing;          // ring index, kNoRing for link-level ops
  std::array<uint64_t, kOpArgCount> args{};  // see OpKind
  std::vector<uint8_t> blob;        // mem_write bytes; empty otherwise
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceOp& o) const;
};

// One descriptor of a popped chain (viona::ChainDesc).
struct TraceChainDesc {
  uint16_t index = 0;           // index within its table (main or indirect)
  int32_t indirect_parent = -1; // -1: main table; else main index of the INDIRECT descriptor
  uint64_t addr = 0;            // guest-physical
  uint32_t len = 0;             // bytes
  uint16_t flags = 0;           // VRING_DESC_F_*
  uint16_t next = 0;
  uint16_t first_piece = 0;     // index into TraceChain::pieces
  uint16_t npieces = 0;
  bool operator==(const TraceChainDesc& o) const;
};

// One guest buffer piece (page-split in paged mode).
struct TraceChainPiece {
  uint64_t gpa = 0;    // guest-physical start
  uint32_t len = 0;    // bytes
  bool write = false;  // device-writable (VRING_DESC_F_WRITE)
  bool operator==(const TraceChainPiece& o) const;
};

struct TraceChain {
  uint64_t seq = 0;        // event seq
  uint64_t op_seq = 0;     // op it happened under
  uint16_t ring = 0;
  uint16_t avail_idx = 0;  // avail index (unmasked) it was taken from
  uint16_t cookie = 0;     // head descriptor id
  uint32_t total_len = 0;  // sum of descriptor lengths, bytes
  std::optional<uint64_t> packet_seq;
  std::vector<TraceChainDesc> descs;
  std::vector<TraceChainPiece> pieces;
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceChain& o) const;
};
// Builds a TraceChain from what pop_chain returned (no host addresses kept).
TraceChain trace_chain_from(const viona::Chain& c, uint16_t ring, uint64_t seq, uint64_t op_seq,
                            std::optional<uint64_t> packet_seq);

struct TraceUsed {
  uint64_t seq = 0;       // event seq
  uint64_t op_seq = 0;
  uint16_t ring = 0;
  uint16_t used_idx = 0;  // used index, unmasked (wraps at 65536)
  uint16_t slot = 0;      // used.ring[] slot written (used_idx mod qsize unless a quirk says otherwise)
  uint32_t id = 0;        // head descriptor id written
  uint32_t len = 0;       // bytes written, virtio header included
  std::optional<uint64_t> packet_seq;
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceUsed& o) const;
};

struct TraceProbe {
  uint64_t seq = 0;  // event seq
  uint64_t op_seq = 0;
  uint16_t ring = 0;
  viona::ProbeKind kind = viona::ProbeKind::ndesc_too_high;
  std::array<uint64_t, 3> arg{};  // probe_arg_names() order, unused = 0
  std::optional<uint64_t> packet_seq;
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceProbe& o) const;
};

// Every rs_* and vts_* of one ring at one moment.
struct TraceCounterSnapshot {
  uint64_t seq = 0;  // event seq
  uint64_t op_seq = 0;
  uint16_t ring = 0;
  viona::RingStats rs;
  viona::TransferStats vts;
  // ("rs_ndesc_too_high", v), ..., ("vts_packets", v), ... in counters.inc order.
  std::vector<std::pair<std::string, uint64_t>> named() const;
  // The same without allocating: counter |i| (0 <= i < kCount, named()
  // order) is called name_of(i) and has value_of(i).
  static const size_t kCount;
  static const char* name_of(size_t i);
  uint64_t value_of(size_t i) const;
  // Sets the counter called |name| ("rs_*" or "vts_*"); false if unknown.
  bool set_named(const std::string& name, uint64_t value);
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceCounterSnapshot& o) const;
};

// trace_digest of the bytes the device wrote into one chain, per used entry.
struct TraceDigest {
  uint64_t seq = 0;  // event seq
  uint64_t op_seq = 0;
  uint16_t ring = 0;
  uint16_t cookie = 0;    // head descriptor id
  uint16_t used_idx = 0;  // used index (unmasked) of the entry it belongs to
  uint64_t digest = 0;    // trace_digest(bytes in chain order, nbytes, kTraceDigestSeed)
  uint64_t nbytes = 0;    // bytes digested
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceDigest& o) const;
};

struct TraceInterrupt {
  uint64_t seq = 0;  // event seq
  uint64_t op_seq = 0;
  uint16_t ring = 0;
  viona::InterruptKind kind = viona::InterruptKind::suppressed;
  std::string dump() const;
  std::string dump_raw() const;
  bool operator==(const TraceInterrupt& o) const;
};

// ---------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------
// XXH64 (xxHash, 64-bit variant, as specified by its author) with a 64-bit
// seed. Defined on bytes: words are assembled little-endian from the bytes
// whatever the host, so a digest is the same on every machine.
//   P1..P5 = 0x9e3779b185ebca87, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9,
//            0x85ebca77c2b2ae63, 0x27d4eb2f165667c5; all arithmetic mod 2^64.
//   round(a, x) = rotl(a + x*P2, 31) * P1
//   len >= 32: lanes v1..v4 = seed+P1+P2, seed+P2, seed, seed-P1; every whole
//     32-byte block feeds its four 8-byte words to v1..v4 (v_k = round(v_k, w_k));
//     h = rotl(v1,1) + rotl(v2,7) + rotl(v3,12) + rotl(v4,18), then for each
//     v_k: h = (h ^ round(0, v_k)) * P1 + P4.
//   len < 32: h = seed + P5.
//   h += len; the remaining < 32 bytes: each 8-byte word w:
//     h = rotl(h ^ round(0, w), 27) * P1 + P4; a 4-byte word u (if any):
//     h = rotl(h ^ u*P1, 23) * P2 + P3; each byte b: h = rotl(h ^ b*P5, 11) * P1.
//   avalanche: h ^= h>>33; h *= P2; h ^= h>>29; h *= P3; h ^= h>>32.
// Four independent lanes and one multiply-rotate-multiply per 8 bytes make it
// about an order of magnitude faster than a byte-serial hash (bench/README.md).
// Reference values: trace_digest("", 0, 0) = 0xef46db3751d8e999,
// trace_digest("a", 1, 0) = 0xd24ec4f1a98c6e5b (the published XXH64 values).
// (Until the recording-cost work of issue 6 the digest was FNV-1a-64; traces
// recorded by those builds do not replay against this one. The library in
// traces/ was re-recorded with XXH64.)
constexpr uint64_t kTraceDigestSeed = 0;
uint64_t trace_digest(const uint8_t* data, size_t len, uint64_t seed);

// Incremental form: feeding pieces in order gives the same value as one
// trace_digest() call over their concatenation (a partial block is buffered
// until the next piece completes it).
class TraceDigester {
 public:
  explicit TraceDigester(uint64_t seed = kTraceDigestSeed);
  void update(const uint8_t* data, size_t len);
  uint64_t value() const;
  uint64_t nbytes() const { return n_; }

 private:
  uint64_t v_[4];
  uint64_t seed_;
  uint64_t n_ = 0;
  uint8_t buf_[32];
  size_t nbuf_ = 0;
};

}  // namespace viona_rr

#endif  // REPLAY_TRACE_RECORDS_H_
