// SPDX-License-Identifier: MIT
// trace_export.cpp: export_trace and the per-packet ring outcome join (see trace_export.h).
#include "replay/trace_export.h"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include "replay/pcapng_writer.h"
#include "viona/probes.h"

namespace viona_rr {

namespace {

void appendf(std::string* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string* s, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) s->append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

// Counter snapshots sharing one op_seq, with what moved since the previous
// snapshot of each ring.
struct SnapshotGroup {
  uint64_t op_seq = 0;
  std::vector<CounterDelta> moved;
};

TraceError read_snapshot_groups(TraceReader& r, std::vector<SnapshotGroup>* out) {
  out->clear();
  std::map<uint16_t, std::vector<std::pair<std::string, uint64_t>>> last;  // ring -> named()
  TraceError err = r.each_counters([&](const TraceCounterSnapshot& s) {
    if (out->empty() || out->back().op_seq != s.op_seq) {
      out->emplace_back();
      out->back().op_seq = s.op_seq;
    }
    std::vector<std::pair<std::string, uint64_t>> now = s.named();
    auto it = last.find(s.ring);
    for (size_t i = 0; i < now.size(); i++) {
      // named() has a fixed order, so index i names the same counter in both.
      uint64_t before = it != last.end() && i < it->second.size() ? it->second[i].second : 0;
      if (now[i].second != before) out->back().moved.push_back(CounterDelta{s.ring, now[i].first, before, now[i].second});
    }
    last[s.ring] = std::move(now);
    return true;
  });
  // Within a group, order by ring (stable: counters.inc order is kept).
  for (SnapshotGroup& g : *out) {
    std::stable_sort(g.moved.begin(), g.moved.end(),
                     [](const CounterDelta& a, const CounterDelta& b) { return a.ring < b.ring; });
  }
  return err;
}

bool wanted(ExportDirectionKind d, DirectionKind pd) {
  switch (d) {
    case ExportDirectionKind::all:
      return true;
    case ExportDirectionKind::rx:
      return pd == DirectionKind::rx;
    case ExportDirectionKind::tx:
      return pd == DirectionKind::tx;
  }
  __builtin_unreachable();
}

// Removes a partial output, but only a regular file: "-", /dev/full or a
// FIFO given as the output must survive a failed export.
void remove_partial(const std::string& path) {
  struct stat st;
  if (path != "-" && lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) unlink(path.c_str());
}

ExportResult fail(ExportStatusKind k, std::string msg) {
  ExportResult r;
  r.kind = k;
  r.message = std::move(msg);
  return r;
}

}  // namespace

TraceError read_packet_outcomes(TraceReader& r, std::map<uint64_t, PacketOutcome>* out) {
  out->clear();
  auto at = [&](uint64_t seq) -> PacketOutcome& {
    PacketOutcome& o = (*out)[seq];
    o.packet_seq = seq;
    return o;
  };
  auto note_op = [](PacketOutcome& o, uint64_t op_seq) {
    if (!o.op_seq || *o.op_seq < op_seq) o.op_seq = op_seq;
  };
  // Op kinds by seq (ascending, so searchable), and the rx_batch ranges.
  std::vector<std::pair<uint64_t, OpKind>> kinds;
  struct Batch {
    uint64_t first, count, op_seq;
  };
  std::vector<Batch> batches;
  TraceError err = r.each_op([&](const TraceOp& op) {
    kinds.emplace_back(op.seq, op.kind);
    if (op.kind == OpKind::rx_batch && op.args[1] > 0) batches.push_back(Batch{op.args[0], op.args[1], op.seq});
    return true;
  });
  if (!err.ok()) return err;
  err = r.each_chain([&](const TraceChain& c) {
    if (c.packet_seq) {
      PacketOutcome& o = at(*c.packet_seq);
      note_op(o, c.op_seq);
      o.chains.push_back(c);
    }
    return true;
  });
  if (!err.ok()) return err;
  err = r.each_used([&](const TraceUsed& u) {
    if (u.packet_seq) {
      PacketOutcome& o = at(*u.packet_seq);
      note_op(o, u.op_seq);
      o.used.push_back(u);
    }
    return true;
  });
  if (!err.ok()) return err;
  err = r.each_probe([&](const TraceProbe& p) {
    if (p.packet_seq) {
      PacketOutcome& o = at(*p.packet_seq);
      note_op(o, p.op_seq);
      o.probes.push_back(p);
    }
    return true;
  });
  if (!err.ok()) return err;
  // A packet with no events of its own (dropped before a pop, say) still
  // belongs to the batch that carried it.
  for (const Batch& b : batches) {
    for (uint64_t k = 0; k < b.count; k++) {
      PacketOutcome& o = at(b.first + k);
      if (!o.op_seq) o.op_seq = b.op_seq;
    }
  }
  std::vector<SnapshotGroup> groups;
  err = read_snapshot_groups(r, &groups);
  if (!err.ok()) return err;
  for (auto& [seq, o] : *out) {
    if (!o.op_seq) continue;
    auto k = std::lower_bound(kinds.begin(), kinds.end(), *o.op_seq,
                              [](const std::pair<uint64_t, OpKind>& a, uint64_t v) { return a.first < v; });
    if (k != kinds.end() && k->first == *o.op_seq) o.op_kind = k->second;
    auto g = std::lower_bound(groups.begin(), groups.end(), *o.op_seq,
                              [](const SnapshotGroup& a, uint64_t v) { return a.op_seq < v; });
    if (g != groups.end()) {
      o.snapshot_op_seq = g->op_seq;
      o.counters = g->moved;
    }
  }
  return TraceError{};
}

std::string packet_outcome_comment(const TracePacket& p, const PacketOutcome* o) {
  std::string s;
  appendf(&s, "packet %" PRIu64 " %s %zu bytes", p.seq, direction_name(p.direction), p.data.size());
  if (p.orig_len != p.data.size()) appendf(&s, " of %u", p.orig_len);
  if (o == nullptr || (!o->op_seq && o->chains.empty() && o->used.empty() && o->probes.empty())) {
    s += "; no ring events recorded for this packet";
    return s;
  }
  if (o->op_seq) {
    appendf(&s, "; op %" PRIu64, *o->op_seq);
    if (o->op_kind) appendf(&s, " %s", op_kind_name(*o->op_kind));
  }
  appendf(&s, "; chains %zu", o->chains.size());
  if (!o->chains.empty()) {
    s += o->chains.size() == 1 ? " (head " : " (heads ";
    for (size_t i = 0; i < o->chains.size(); i++) appendf(&s, "%s%u", i ? "," : "", o->chains[i].cookie);
    s += ")";
  }
  appendf(&s, "; used %zu", o->used.size());
  if (!o->used.empty()) {
    s += " (";
    for (size_t i = 0; i < o->used.size(); i++)
      appendf(&s, "%sid %u len %u", i ? ", " : "", o->used[i].id, o->used[i].len);
    s += ")";
  }
  s += "; probes";
  if (o->probes.empty()) s += " none";
  for (const TraceProbe& pr : o->probes) {
    s += " ";
    s += viona::probe_name(pr.kind);
    std::string names = viona::probe_arg_names(pr.kind);
    if (names.empty()) continue;
    s += "(";
    size_t pos = 0;
    for (size_t i = 0; i < pr.arg.size() && pos <= names.size(); i++) {
      size_t comma = names.find(',', pos);
      std::string name = names.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      appendf(&s, "%s%s=%" PRIu64, i ? "," : "", name.c_str(), pr.arg[i]);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    s += ")";
  }
  if (o->snapshot_op_seq) {
    appendf(&s, "; counters at op %" PRIu64 ":", *o->snapshot_op_seq);
    if (o->counters.empty()) s += " none moved";
    int ring = -1;
    for (const CounterDelta& d : o->counters) {
      if (d.ring != ring) {
        appendf(&s, "%s ring %u", ring < 0 ? "" : ",", d.ring);
        ring = d.ring;
      }
      if (d.after >= d.before)
        appendf(&s, " %s +%" PRIu64, d.name.c_str(), d.after - d.before);
      else
        appendf(&s, " %s -%" PRIu64, d.name.c_str(), d.before - d.after);
    }
  } else {
    s += "; no counter snapshot after it";
  }
  return s;
}

ExportResult export_trace(const ExportOptions& opts) {
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(opts.trace_path, &err);
  if (!r) return fail(ExportStatusKind::bad_trace, err.message);
  ExportResult res;
  if (err.kind == TraceErrorKind::incomplete) res.warning = err.message;

  TraceConfig cfg;
  err = r->read_config(&cfg);
  if (!err.ok()) return fail(ExportStatusKind::bad_trace, err.message);
  std::map<uint64_t, PacketOutcome> outcomes;
  if (opts.format == ExportFormatKind::pcapng) {
    err = read_packet_outcomes(*r, &outcomes);
    if (!err.ok()) return fail(ExportStatusKind::bad_trace, err.message);
  }
  // Read every packet once before creating the output: a corrupt row must
  // not leave a truncated file behind (or clobber an existing one).
  err = r->each_packet([](const TracePacket&) { return true; });
  if (!err.ok()) return fail(ExportStatusKind::bad_trace, err.message);

  const bool to_stdout = opts.output_path == "-";
  std::string werr;
  auto frame_len = [](const TracePacket& p) {
    return static_cast<uint32_t>(std::min<size_t>(p.data.size(), kExportSnaplen));
  };

  if (opts.format == ExportFormatKind::pcap) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kExportSnaplen, PCAP_TSTAMP_PRECISION_NANO);
    if (dead == nullptr) return fail(ExportStatusKind::bad_output, "cannot write " + opts.output_path + ": libpcap");
    // Our own FILE*, so that "-" is a dup of standard output (pcap_dump_close
    // closes what it was given) and the error names the errno.
    FILE* f = to_stdout ? fdopen(dup(STDOUT_FILENO), "wb") : std::fopen(opts.output_path.c_str(), "wb");
    if (f == nullptr) {
      pcap_close(dead);
      return fail(ExportStatusKind::bad_output, "cannot write " + opts.output_path + ": " + std::strerror(errno));
    }
    pcap_dumper_t* d = pcap_dump_fopen(dead, f);
    if (d == nullptr) {
      std::string msg = "cannot write " + opts.output_path + ": " + pcap_geterr(dead);
      std::fclose(f);
      pcap_close(dead);
      remove_partial(opts.output_path);
      return fail(ExportStatusKind::bad_output, msg);
    }
    err = r->each_packet([&](const TracePacket& p) {
      if (!wanted(opts.direction, p.direction)) return true;
      pcap_pkthdr h{};
      // With nanosecond precision the dumper stores tv_usec as nanoseconds.
      h.ts.tv_sec = static_cast<time_t>(p.timestamp_ns / 1000000000u);
      h.ts.tv_usec = static_cast<suseconds_t>(p.timestamp_ns % 1000000000u);
      h.caplen = frame_len(p);
      h.len = p.orig_len;
      pcap_dump(reinterpret_cast<u_char*>(d), &h, p.data.data());
      res.packets++;
      if (h.caplen < p.data.size()) res.truncated++;
      return true;
    });
    errno = 0;
    bool write_ok = pcap_dump_flush(d) == 0 && ferror(pcap_dump_file(d)) == 0;
    int write_errno = errno != 0 ? errno : EIO;
    pcap_dump_close(d);
    pcap_close(dead);
    if (!write_ok) werr = "cannot write " + opts.output_path + ": " + std::strerror(write_errno);
  } else {
    PcapngWriter w;
    if (!w.open(opts.output_path, &werr)) return fail(ExportStatusKind::bad_output, werr);
    w.write_section_header(kExportUserAppl, "viona-rr trace " + cfg.dump());
    PcapngInterface ifc;
    ifc.link_type = static_cast<uint16_t>(to_trace_link_type(LinkTypeKind::ethernet));
    ifc.snaplen = kExportSnaplen;
    ifc.name = kExportIfName;
    ifc.tsresol = 9;
    w.write_interface(ifc);
    err = r->each_packet([&](const TracePacket& p) {
      if (!wanted(opts.direction, p.direction)) return true;
      PcapngPacket pk;
      pk.timestamp = p.timestamp_ns;
      pk.orig_len = p.orig_len;
      pk.data = p.data.data();
      pk.caplen = frame_len(p);
      pk.direction = p.direction == DirectionKind::tx ? PcapngDirectionKind::outbound : PcapngDirectionKind::inbound;
      auto it = outcomes.find(p.seq);
      pk.comment = packet_outcome_comment(p, it == outcomes.end() ? nullptr : &it->second);
      w.write_packet(0, pk);
      res.packets++;
      if (pk.caplen < p.data.size()) res.truncated++;
      return true;
    });
    if (!w.close(&werr) && werr.empty()) werr = "cannot write " + opts.output_path;
  }
  if (!err.ok() || !werr.empty()) {
    remove_partial(opts.output_path);
    if (!err.ok()) return fail(ExportStatusKind::bad_trace, err.message);
    return fail(ExportStatusKind::bad_output, werr);
  }
  return res;
}

}  // namespace viona_rr
