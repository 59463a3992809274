// SPDX-License-Identifier: MIT
// trace_export.h: a trace's packets to pcap or pcapng, each pcapng frame commented with its ring outcome.
//
// Usage:
//   ExportOptions o;
//   o.trace_path = "traces/seed-14032-split.trace";
//   o.output_path = "seed.pcapng";
//   o.format = ExportFormatKind::pcapng;
//   ExportResult r = export_trace(o);
//   if (r.kind != ExportStatusKind::ok) report(r.message);
//
// What is written
// ---------------
// The trace's packets in packet seq order (capture order), filtered by
// direction, as Ethernet frames: caplen = the packet's captured bytes,
// len = orig_len, timestamp = timestamp_ns (nanosecond resolution in both
// formats). A frame longer than kExportSnaplen is cut to it (orig_len keeps
// the wire length) and counted in ExportResult::truncated.
//
//   pcap    through libpcap's dumper: nanosecond magic, DLT_EN10MB, snaplen kExportSnaplen.
//   pcapng  through PcapngWriter: one SHB (shb_userappl "viona-rr", opt_comment
//           "viona-rr trace <TraceConfig::dump()>"), one IDB (linktype 1,
//           snaplen kExportSnaplen, if_name "viona", if_tsresol 9), and one
//           EPB per frame with epb_flags inbound for rx (host -> guest: the
//           guest's NIC receives) and outbound for tx, and an opt_comment
//           from packet_outcome_comment().
//
// The output depends only on the trace: no wall clock, host or path, so one
// trace always exports to the same bytes.
//
// Ring outcome
// ------------
// A packet's outcome joins the trace's chains, used entries and probes on
// packet_seq (the packet_outcome view of trace_format.h, done through
// TraceReader rather than SQL). Its op is the op of its events, or else the
// rx_batch op whose packet range holds it. Its counter snapshot is the first
// snapshot group (the counter snapshots sharing one op_seq) at or after that
// op; the counters that moved are those whose value differs from the same
// ring's previous snapshot (or from 0 for a ring's first). Events the
// recorder did not tie to a packet (packet_seq NULL, as for TX in format 1)
// cannot be joined; such a packet's comment says so.
//
// Errors
// ------
// The trace is opened and fully read (config, events, every packet) before
// the output is created, so a bad trace never truncates an existing file. A
// failed write removes the partial output (unless it is standard output).
#ifndef REPLAY_TRACE_EXPORT_H_
#define REPLAY_TRACE_EXPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replay/trace_reader.h"
#include "replay/trace_records.h"

namespace viona_rr {

constexpr uint32_t kExportSnaplen = 262144;  // bytes; libpcap's maximum for DLT_EN10MB
constexpr const char kExportUserAppl[] = "viona-rr";
constexpr const char kExportIfName[] = "viona";

enum class ExportFormatKind : uint8_t {
  pcap = 0x0,    // libpcap savefile, nanosecond timestamps
  pcapng = 0x1,  // pcapng with per-packet outcome comments
};

enum class ExportDirectionKind : uint8_t {
  all = 0x0,  // every packet
  rx = 0x1,   // host -> guest only
  tx = 0x2,   // guest -> host only
};

struct ExportOptions {
  std::string trace_path;
  std::string output_path;  // "-" = standard output
  ExportFormatKind format = ExportFormatKind::pcapng;
  ExportDirectionKind direction = ExportDirectionKind::all;
};

enum class [[nodiscard]] ExportStatusKind : uint8_t {
  ok = 0x0,
  bad_trace = 0x1,   // the trace cannot be opened or breaks a rule (TraceReader's message)
  bad_output = 0x2,  // the output cannot be created or written
};

struct ExportResult {
  ExportStatusKind kind = ExportStatusKind::ok;
  std::string message;   // one line, lower case, names the file; empty when ok
  std::string warning;   // one line, e.g. an incomplete trace; may be set when ok
  uint64_t packets = 0;  // frames written
  uint64_t truncated = 0;  // frames cut to kExportSnaplen
};

// One counter of one ring that moved between two snapshots.
struct CounterDelta {
  uint16_t ring = 0;
  std::string name;  // "rs_*" or "vts_*"
  uint64_t before = 0;
  uint64_t after = 0;
};

// What the device did with one packet, as the trace records it.
struct PacketOutcome {
  uint64_t packet_seq = 0;
  std::optional<uint64_t> op_seq;         // op it was handled under
  std::optional<OpKind> op_kind;          // that op's kind
  std::vector<TraceChain> chains;         // popped for it, event order (descs/pieces kept)
  std::vector<TraceUsed> used;            // used entries written for it, event order
  std::vector<TraceProbe> probes;         // probes fired for it, event order
  std::optional<uint64_t> snapshot_op_seq;  // op_seq of its counter snapshot group
  std::vector<CounterDelta> counters;     // moved in that group, ring then counters.inc order
};

// Builds the outcome of every packet that has events or lies in an rx_batch
// range, keyed by packet seq. Errors are the reader's.
TraceError read_packet_outcomes(TraceReader& r, std::map<uint64_t, PacketOutcome>* out);

// The one-line pcapng comment of |p| (its sizes are the trace's, before any cut to the
// snaplen); |o| is its outcome or nullptr. E.g.
//   "packet 1 rx 1514 bytes; op 2067 rx_batch; chains 1 (head 0); used 1 (id 0 len 1526);
//    probes pkt_rx(size=1514) rx(accepted=1,dropped=0); counters at op 2070: ring 0 vts_packets +1 vts_bytes +1514"
std::string packet_outcome_comment(const TracePacket& p, const PacketOutcome* o);

ExportResult export_trace(const ExportOptions& opts);

}  // namespace viona_rr

#endif  // REPLAY_TRACE_EXPORT_H_
