// SPDX-License-Identifier: MIT
// export_test.cpp: viona-rr export: pcapng block bytes, frames read back by libpcap and tshark, outcome comments, errors.
//
// Library traces are read from traces/ relative to the current directory
// (the repository root, where `make test` runs the suite).
#include "replay/trace_export.h"

#include <doctest/doctest.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "replay/pcapng_writer.h"
#include "replay/trace_reader.h"
#include "replay/trace_writer.h"

using namespace viona_rr;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/export_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(mkdtemp(buf.data()) != nullptr);
    path = buf.data();
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path.c_str());
  }
  std::string file(const char* name) const { return path + "/" + name; }
};

std::string library_trace(const char* name) {
  std::string p = std::string("traces/") + name + ".trace";
  struct stat st;
  REQUIRE_MESSAGE(stat(p.c_str(), &st) == 0, "run the tests from the repository root: ", p, " is missing");
  return p;
}

std::vector<uint8_t> slurp(const std::string& path) {
  std::vector<uint8_t> out;
  FILE* f = fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "cannot read ", path);
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  fclose(f);
  return out;
}

std::vector<TracePacket> trace_packets(const std::string& path) {
  TraceError err;
  auto r = TraceReader::open(path, &err);
  REQUIRE_MESSAGE(r != nullptr, err.message);
  std::vector<TracePacket> out;
  REQUIRE(r->read_packets(&out).ok());
  return out;
}

ExportResult run_export(const std::string& trace, const std::string& out, ExportFormatKind f,
                        ExportDirectionKind d = ExportDirectionKind::all) {
  ExportOptions o;
  o.trace_path = trace;
  o.output_path = out;
  o.format = f;
  o.direction = d;
  return export_trace(o);
}

struct ReadFrame {
  uint64_t ts_ns;
  uint32_t len;
  std::vector<uint8_t> data;
};

// libpcap reads both formats (pcapng since 1.1).
std::vector<ReadFrame> read_with_libpcap(const std::string& path, int* linktype) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  REQUIRE_MESSAGE(p != nullptr, errbuf);
  *linktype = pcap_datalink(p);
  std::vector<ReadFrame> out;
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    out.push_back(ReadFrame{static_cast<uint64_t>(h->ts.tv_sec) * 1000000000u + static_cast<uint64_t>(h->ts.tv_usec),
                            h->len, std::vector<uint8_t>(data, data + h->caplen)});
  }
  CHECK(rc == PCAP_ERROR_BREAK);  // end of file, not a read error
  pcap_close(p);
  return out;
}

void check_frames_match(const std::vector<ReadFrame>& got, const std::vector<TracePacket>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO("frame ", i + 1, " packet seq ", want[i].seq);
    CHECK(got[i].ts_ns == want[i].timestamp_ns);
    CHECK(got[i].len == want[i].orig_len);
    CHECK(got[i].data == want[i].data);
  }
}

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 | uint32_t{b[at + 3]} << 24;
}
uint16_t le16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b[at] | b[at + 1] << 8); }

// An independent walk over a pcapng file: checks every block's framing and
// returns the EPBs' comments and epb_flags (0 when absent).
struct Epb {
  std::string comment;
  uint32_t flags = 0;
  uint32_t caplen = 0;
};
std::vector<Epb> walk_pcapng(const std::vector<uint8_t>& b) {
  std::vector<Epb> out;
  size_t at = 0;
  REQUIRE(b.size() >= 28);
  REQUIRE(le32(b, 0) == kPcapngBlockShb);
  REQUIRE(le32(b, 8) == kPcapngByteOrderMagic);
  while (at < b.size()) {
    REQUIRE(at + 12 <= b.size());
    const uint32_t type = le32(b, at), total = le32(b, at + 4);
    REQUIRE(total % 4 == 0);
    REQUIRE(at + total <= b.size());
    REQUIRE(le32(b, at + total - 4) == total);  // trailing copy of the length
    size_t opts = 0;
    Epb e;
    if (type == kPcapngBlockShb) {
      opts = at + 24;
    } else if (type == kPcapngBlockIdb) {
      opts = at + 16;
    } else {
      REQUIRE(type == kPcapngBlockEpb);
      e.caplen = le32(b, at + 20);
      opts = at + 28 + (e.caplen + 3) / 4 * 4;
    }
    // Options up to opt_endofopt, each padded to 4; must end exactly before the trailer.
    while (opts < at + total - 4) {
      const uint16_t code = le16(b, opts), len = le16(b, opts + 2);
      if (code == kPcapngOptEndOfOpt) {
        CHECK(len == 0);
        opts += 4;
        break;
      }
      if (type == kPcapngBlockEpb && code == kPcapngOptComment)
        e.comment.assign(reinterpret_cast<const char*>(&b[opts + 4]), len);
      if (type == kPcapngBlockEpb && code == kPcapngOptEpbFlags) {
        REQUIRE(len == 4);
        e.flags = le32(b, opts + 4);
      }
      for (size_t k = opts + 4 + len; k < opts + 4 + (len + 3u) / 4 * 4; k++) CHECK(b[k] == 0);  // zero padding
      opts += 4 + (len + 3u) / 4 * 4;
    }
    CHECK(opts == at + total - 4);
    if (type == kPcapngBlockEpb) out.push_back(e);
    at += total;
  }
  CHECK(at == b.size());
  return out;
}

bool have_tshark() { return system("command -v tshark >/dev/null 2>&1") == 0; }

std::vector<std::string> run_lines(const std::string& cmd) {
  std::vector<std::string> lines;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string cur;
  int c;
  while ((c = fgetc(p)) != EOF) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(c));
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  CHECK(pclose(p) == 0);
  return lines;
}

// tshark renamed pkt_comment to frame.comment in 3.6.
std::string tshark_comment_field() {
  return system("tshark -G fields 2>/dev/null | grep -q '\tframe.comment\t'") == 0 ? "frame.comment" : "pkt_comment";
}

std::string epoch_text(uint64_t ns) {
  char buf[64];
  snprintf(buf, sizeof buf, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
  return buf;
}

}  // namespace

TEST_CASE("pcapng: SHB, IDB and EPB bytes, little-endian, padded to 32 bits, lengths at both ends") {
  std::vector<uint8_t> b;
  append_pcapng_section_header("viona-rr", "", &b);
  const std::vector<uint8_t> shb = {
      0x0a, 0x0d, 0x0d, 0x0a, 44,   0,    0,    0,     // type, total 44
      0x4d, 0x3c, 0x2b, 0x1a, 1,    0,    0,    0,     // magic, 1.0
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // section length -1
      4,    0,    8,    0,    'v',  'i',  'o',  'n',   // shb_userappl, 8 bytes: no padding
      'a',  '-',  'r',  'r',  0,    0,    0,    0,     // opt_endofopt
      44,   0,    0,    0};
  CHECK(b == shb);

  b.clear();
  PcapngInterface ifc;
  ifc.name = "viona";
  append_pcapng_interface(ifc, &b);
  const std::vector<uint8_t> idb = {
      1,   0,   0,   0,   44, 0, 0, 0,  // type, total 44
      1,   0,   0,   0,                 // LINKTYPE_ETHERNET, reserved
      0,   0,   4,   0,                 // snaplen 262144 = 0x40000
      2,   0,   5,   0,                 // if_name, 5 bytes
      'v', 'i', 'o', 'n', 'a', 0, 0, 0,  // padded to 8
      9,   0,   1,   0,   9,   0, 0, 0,  // if_tsresol 9, padded
      0,   0,   0,   0,                  // opt_endofopt
      44,  0,   0,   0};
  CHECK(b == idb);

  b.clear();
  const uint8_t data[5] = {0xde, 0xad, 0xbe, 0xef, 0x01};
  PcapngPacket pk;
  pk.timestamp = 0x0000000123456789ull;
  pk.orig_len = 9;
  pk.data = data;
  pk.caplen = 5;
  pk.direction = PcapngDirectionKind::outbound;
  pk.comment = "abc";
  append_pcapng_packet(0, pk, &b);
  const std::vector<uint8_t> epb = {
      6,    0,    0,    0,    60,   0,    0,    0,     // type, total 60
      0,    0,    0,    0,                             // interface 0
      1,    0,    0,    0,    0x89, 0x67, 0x45, 0x23,  // ts high, ts low
      5,    0,    0,    0,    9,    0,    0,    0,     // caplen, len
      0xde, 0xad, 0xbe, 0xef, 0x01, 0,    0,    0,     // data padded to 8
      1,    0,    3,    0,    'a',  'b',  'c',  0,     // opt_comment
      2,    0,    4,    0,    2,    0,    0,    0,     // epb_flags outbound
      0,    0,    0,    0,                             // opt_endofopt
      60,   0,    0,    0};
  CHECK(b == epb);

  // No comment, no direction: no options at all (not even opt_endofopt).
  b.clear();
  pk.comment.clear();
  pk.direction = PcapngDirectionKind::unknown;
  pk.caplen = 4;
  append_pcapng_packet(3, pk, &b);
  REQUIRE(b.size() == 36);  // 28 fixed + 4 data + 4 trailer
  CHECK(le32(b, 4) == 36);
  CHECK(le32(b, 8) == 3);
  CHECK(le32(b, 20) == 4);
  CHECK(le32(b, 32) == 36);
}

TEST_CASE("export pcap: libpcap reads back the trace's packets in order, byte for byte, with ns timestamps") {
  TempDir tmp;
  for (const char* name : {"seed-14032-split", "tcpreplay-linux-mrg-both", "bigtcp-over-mtu-linux-big"}) {
    INFO(name);
    const std::string trace = library_trace(name), out = tmp.file("out.pcap");
    ExportResult r = run_export(trace, out, ExportFormatKind::pcap);
    REQUIRE_MESSAGE(r.kind == ExportStatusKind::ok, r.message);
    std::vector<TracePacket> want = trace_packets(trace);
    CHECK(r.packets == want.size());
    CHECK(r.truncated == 0);
    int lt = -1;
    check_frames_match(read_with_libpcap(out, &lt), want);
    CHECK(lt == DLT_EN10MB);
    // Nanosecond savefile magic a1 b2 3c 4d, written in host order by libpcap.
    std::vector<uint8_t> b = slurp(out);
    REQUIRE(b.size() >= 24);
    uint32_t magic;
    memcpy(&magic, b.data(), 4);
    CHECK(magic == 0xa1b23c4du);
    uint32_t snaplen;
    memcpy(&snaplen, b.data() + 16, 4);
    CHECK(snaplen == kExportSnaplen);
  }
}

TEST_CASE("export pcapng: libpcap reads back the packets; every EPB is framed right and carries its comment") {
  TempDir tmp;
  for (const char* name : {"seed-14032-split", "tcpreplay-linux-mrg-both", "no-space-linux-mrg"}) {
    INFO(name);
    const std::string trace = library_trace(name), out = tmp.file("out.pcapng");
    ExportResult r = run_export(trace, out, ExportFormatKind::pcapng);
    REQUIRE_MESSAGE(r.kind == ExportStatusKind::ok, r.message);
    std::vector<TracePacket> want = trace_packets(trace);
    int lt = -1;
    check_frames_match(read_with_libpcap(out, &lt), want);
    CHECK(lt == DLT_EN10MB);

    TraceError err;
    auto rd = TraceReader::open(trace, &err);
    REQUIRE(rd != nullptr);
    std::map<uint64_t, PacketOutcome> outcomes;
    REQUIRE(read_packet_outcomes(*rd, &outcomes).ok());
    std::vector<Epb> epbs = walk_pcapng(slurp(out));
    REQUIRE(epbs.size() == want.size());
    for (size_t i = 0; i < want.size(); i++) {
      INFO("packet ", want[i].seq);
      auto it = outcomes.find(want[i].seq);
      CHECK(epbs[i].comment == packet_outcome_comment(want[i], it == outcomes.end() ? nullptr : &it->second));
      CHECK(epbs[i].flags == (want[i].direction == DirectionKind::rx ? 1u : 2u));
      CHECK(epbs[i].caplen == want[i].data.size());
    }
  }
}

TEST_CASE("outcome comments: the seed's 14032 split packet and the no-space batch, joined by packet_seq") {
  TempDir tmp;
  const std::string out = tmp.file("out.pcapng");
  // Checked against the packet_outcome and counters_over_time views with sqlite3(1).
  REQUIRE(run_export(library_trace("seed-14032-split"), out, ExportFormatKind::pcapng).kind == ExportStatusKind::ok);
  std::vector<Epb> seed = walk_pcapng(slurp(out));
  REQUIRE(seed.size() == 32);
  CHECK(seed[0].comment ==
        "packet 1 rx 1514 bytes; op 2067 rx_batch; chains 1 (head 0); used 1 (id 0 len 1526); "
        "probes pkt_rx(size=1514) rx(accepted=1,dropped=0); counters at op 2070: ring 0 vts_packets +1 vts_bytes +1514");

  REQUIRE(run_export(library_trace("no-space-linux-mrg"), out, ExportFormatKind::pcapng).kind == ExportStatusKind::ok);
  std::vector<Epb> ns = walk_pcapng(slurp(out));
  REQUIRE(ns.size() == 179);
  const std::string batch = "; counters at op 45: ring 0 rs_no_space +1 vts_packets +8 vts_bytes +555 vts_drops +8";
  CHECK(ns[0].comment ==
        "packet 1 rx 93 bytes; op 35 rx_batch; chains 1 (head 0); used 1 (id 0 len 105); probes pkt_rx(size=93)" +
            batch);
  // The ninth frame finds the ring full; the rest of the batch is dropped
  // without events of their own but still belongs to the batch op.
  CHECK(ns[8].comment == "packet 9 rx 78 bytes; op 35 rx_batch; chains 0; used 0; probes no_space" + batch);
  CHECK(ns[9].comment == "packet 10 rx 42 bytes; op 35 rx_batch; chains 0; used 0; probes none" + batch);
  CHECK(ns[15].comment ==
        "packet 16 rx 60 bytes; op 35 rx_batch; chains 0; used 0; probes rx(accepted=8,dropped=8)" + batch);
}

TEST_CASE("--direction: rx and tx select those packets, in order; tx frames are outbound") {
  TempDir tmp;
  const std::string trace = library_trace("tcpreplay-linux-mrg-both");
  std::vector<TracePacket> all = trace_packets(trace), rx, tx;
  for (const auto& p : all) (p.direction == DirectionKind::rx ? rx : tx).push_back(p);
  REQUIRE(rx.size() == 179);
  REQUIRE(tx.size() == 179);
  for (ExportFormatKind f : {ExportFormatKind::pcap, ExportFormatKind::pcapng}) {
    const std::string out = tmp.file(f == ExportFormatKind::pcap ? "d.pcap" : "d.pcapng");
    int lt;
    ExportResult r = run_export(trace, out, f, ExportDirectionKind::tx);
    REQUIRE(r.kind == ExportStatusKind::ok);
    CHECK(r.packets == 179);
    check_frames_match(read_with_libpcap(out, &lt), tx);
    if (f == ExportFormatKind::pcapng) {
      std::vector<Epb> e = walk_pcapng(slurp(out));
      REQUIRE(e.size() == 179);
      for (const Epb& x : e) CHECK(x.flags == 2u);
      // A transmitted packet's chain, used entry (whole chain: 12 + 93) and
      // pkt_tx probe are its own; the snapshot after it shows both rings.
      CHECK(e[0].comment ==
            "packet 2 tx 93 bytes; op 2078 tx_drain; chains 1 (head 0); used 1 (id 0 len 105); probes "
            "pkt_tx(pkt_len=93); counters at op 2079: ring 0 vts_packets +1 vts_bytes +93, ring 1 vts_packets +1 "
            "vts_bytes +93");
    }
    REQUIRE(run_export(trace, out, f, ExportDirectionKind::rx).kind == ExportStatusKind::ok);
    check_frames_match(read_with_libpcap(out, &lt), rx);
  }
}

TEST_CASE("synthetic trace: a TX packet's chain, used entry and too_short probe; a frame over the snaplen is cut") {
  TempDir tmp;
  const std::string trace = tmp.file("syn.trace");
  {
    TraceError err;
    auto w = TraceWriter::open(trace, {}, &err);
    REQUIRE_MESSAGE(w != nullptr, err.message);
    TraceConfig cfg;
    cfg.ring_sizes = {256, 256};
    REQUIRE(w->write_config(cfg).ok());
    TracePacket big;
    big.seq = 1;
    big.timestamp_ns = 5000000001ull;  // 5 s + 1 ns
    big.direction = DirectionKind::rx;
    big.data.resize(kExportSnaplen + 100);
    for (size_t i = 0; i < big.data.size(); i++) big.data[i] = static_cast<uint8_t>(i * 7);
    big.orig_len = static_cast<uint32_t>(big.data.size() + 4);
    REQUIRE(w->add_packet(big).ok());
    TracePacket small;
    small.seq = 2;
    small.timestamp_ns = 6000000000ull;
    small.direction = DirectionKind::tx;
    small.data.assign(64, 0xab);
    small.orig_len = 64;
    REQUIRE(w->add_packet(small).ok());
    TraceOp op;
    op.seq = 1;
    op.kind = OpKind::rx_batch;
    op.ring = 0;
    op.args = {1, 1, 0, 0, 0, 0};
    REQUIRE(w->add_op(op).ok());
    op = TraceOp{};
    op.seq = 2;
    op.kind = OpKind::tx_drain;
    op.ring = 1;
    REQUIRE(w->add_op(op).ok());
    op = TraceOp{};
    op.seq = 3;
    op.kind = OpKind::snapshot;
    REQUIRE(w->add_op(op).ok());
    TraceChain c;
    c.seq = 1;
    c.op_seq = 2;
    c.ring = 1;
    c.cookie = 5;
    c.total_len = 64;
    c.packet_seq = 2;
    TraceChainDesc d;
    d.index = 5;
    d.addr = 0x1000;
    d.len = 64;
    d.npieces = 1;
    c.descs = {d};
    c.pieces = {TraceChainPiece{0x1000, 64, false}};
    REQUIRE(w->add_chain(c).ok());
    TraceUsed u;
    u.seq = 2;
    u.op_seq = 2;
    u.ring = 1;
    u.id = 5;
    u.len = 64;
    u.packet_seq = 2;
    REQUIRE(w->add_used(u).ok());
    TraceProbe pr;
    pr.seq = 3;
    pr.op_seq = 2;
    pr.ring = 1;
    pr.kind = viona::ProbeKind::too_short;
    pr.arg = {5, 10, 64};
    pr.packet_seq = 2;
    REQUIRE(w->add_probe(pr).ok());
    TraceCounterSnapshot s;
    s.seq = 4;
    s.op_seq = 3;
    s.ring = 1;
    REQUIRE(s.set_named("rs_too_short", 1));
    REQUIRE(s.set_named("vts_packets", 3));
    REQUIRE(w->add_counters(s).ok());
    REQUIRE(w->close().ok());
  }
  const std::string out = tmp.file("syn.pcapng");
  ExportResult r = run_export(trace, out, ExportFormatKind::pcapng);
  REQUIRE_MESSAGE(r.kind == ExportStatusKind::ok, r.message);
  CHECK(r.packets == 2);
  CHECK(r.truncated == 1);
  std::vector<Epb> e = walk_pcapng(slurp(out));
  REQUIRE(e.size() == 2);
  CHECK(e[0].caplen == kExportSnaplen);
  CHECK(e[0].comment ==
        "packet 1 rx 262244 bytes of 262248; op 1 rx_batch; chains 0; used 0; probes none; "
        "counters at op 3: ring 1 rs_too_short +1 vts_packets +3");
  CHECK(e[1].comment ==
        "packet 2 tx 64 bytes; op 2 tx_drain; chains 1 (head 5); used 1 (id 5 len 64); "
        "probes too_short(cookie=5,copied=10,size=64); counters at op 3: ring 1 rs_too_short +1 vts_packets +3");
  std::vector<uint8_t> head(kExportSnaplen);
  for (size_t i = 0; i < head.size(); i++) head[i] = static_cast<uint8_t>(i * 7);
  int lt;
  for (const std::string& f : {out, tmp.file("syn.pcap")}) {
    if (f != out) REQUIRE(run_export(trace, f, ExportFormatKind::pcap).kind == ExportStatusKind::ok);
    std::vector<ReadFrame> got = read_with_libpcap(f, &lt);
    REQUIRE(got.size() == 2);
    CHECK(got[0].ts_ns == 5000000001ull);
    CHECK(got[0].len == kExportSnaplen + 104);
    CHECK(got[0].data == head);
    CHECK(got[1].ts_ns == 6000000000ull);
    CHECK(got[1].data == std::vector<uint8_t>(64, 0xab));
  }
}

TEST_CASE("determinism: one trace exports to the same bytes every time, in both formats") {
  TempDir tmp;
  const std::string trace = library_trace("tcpreplay-linux-mrg-both");
  for (ExportFormatKind f : {ExportFormatKind::pcap, ExportFormatKind::pcapng}) {
    REQUIRE(run_export(trace, tmp.file("a"), f).kind == ExportStatusKind::ok);
    REQUIRE(run_export(trace, tmp.file("b"), f).kind == ExportStatusKind::ok);
    std::vector<uint8_t> a = slurp(tmp.file("a")), b = slurp(tmp.file("b"));
    CHECK(a.size() > 100000);
    CHECK(a == b);
  }
}

TEST_CASE("tshark reads both formats: same frames, lengths, times; each pcapng frame has its comment") {
  if (!have_tshark()) {
    MESSAGE("tshark not on PATH: skipped (scripts/deps.sh installs it)");
    return;
  }
  TempDir tmp;
  const std::string trace = library_trace("tcpreplay-linux-mrg-both");
  std::vector<TracePacket> want = trace_packets(trace);
  const std::string field = tshark_comment_field();
  for (ExportFormatKind f : {ExportFormatKind::pcap, ExportFormatKind::pcapng}) {
    const std::string out = tmp.file(f == ExportFormatKind::pcap ? "t.pcap" : "t.pcapng");
    REQUIRE(run_export(trace, out, f).kind == ExportStatusKind::ok);
    std::vector<std::string> lines =
        run_lines("tshark -r '" + out + "' -T fields -e frame.len -e frame.time_epoch 2>/dev/null");
    REQUIRE(lines.size() == want.size());
    for (size_t i = 0; i < want.size(); i++) {
      CHECK(lines[i] == std::to_string(want[i].orig_len) + "\t" + epoch_text(want[i].timestamp_ns));
    }
    if (f == ExportFormatKind::pcapng) {
      std::vector<std::string> comments = run_lines("tshark -r '" + out + "' -T fields -e " + field + " 2>/dev/null");
      REQUIRE(comments.size() == want.size());
      for (size_t i = 0; i < want.size(); i++) {
        const std::string prefix = "packet " + std::to_string(want[i].seq) + " " +
                                   (want[i].direction == DirectionKind::rx ? "rx " : "tx ");
        CHECK(comments[i].compare(0, prefix.size(), prefix) == 0);
      }
      // The first snapshot after the RX batch follows the guest's reflection
      // of the frame, so both rings moved in it.
      CHECK(comments[0] ==
            "packet 1 rx 93 bytes; op 2067 rx_batch; chains 1 (head 0); used 1 (id 0 len 105); probes pkt_rx(size=93) "
            "rx(accepted=1,dropped=0); counters at op 2079: ring 0 vts_packets +1 vts_bytes +93, "
            "ring 1 vts_packets +1 vts_bytes +93");
    }
  }
}

TEST_CASE("errors: a truncated trace is bad_trace and leaves an existing output alone") {
  TempDir tmp;
  std::vector<uint8_t> b = slurp(library_trace("seed-14032-split"));
  const std::string bad = tmp.file("cut.trace"), out = tmp.file("keep.pcap");
  FILE* f = fopen(bad.c_str(), "wb");
  REQUIRE(f);
  fwrite(b.data(), 1, b.size() / 3, f);
  fclose(f);
  f = fopen(out.c_str(), "wb");
  REQUIRE(f);
  fputs("keep", f);
  fclose(f);
  for (ExportFormatKind fmt : {ExportFormatKind::pcap, ExportFormatKind::pcapng}) {
    ExportResult r = run_export(bad, out, fmt);
    CHECK(r.kind == ExportStatusKind::bad_trace);
    CHECK(r.message.find(bad) != std::string::npos);
    CHECK(r.message.find('\n') == std::string::npos);
    CHECK(slurp(out) == std::vector<uint8_t>{'k', 'e', 'e', 'p'});
  }
  ExportResult r = run_export(tmp.file("missing.trace"), out, ExportFormatKind::pcap);
  CHECK(r.kind == ExportStatusKind::bad_trace);
}

TEST_CASE("errors: an unwritable output is bad_output naming the path; a failed write removes no device") {
  TempDir tmp;
  const std::string trace = library_trace("qinq-short-linux-mrg");
  const std::string nodir = tmp.file("no/such/dir/out.pcap");
  for (ExportFormatKind fmt : {ExportFormatKind::pcap, ExportFormatKind::pcapng}) {
    ExportResult r = run_export(trace, nodir, fmt);
    CHECK(r.kind == ExportStatusKind::bad_output);
    CHECK(r.message == "cannot write " + nodir + ": No such file or directory");
    r = run_export(trace, tmp.path, fmt);  // a directory
    CHECK(r.kind == ExportStatusKind::bad_output);
    struct stat st;
    if (stat("/dev/full", &st) == 0) {
      r = run_export(trace, "/dev/full", fmt);
      CHECK(r.kind == ExportStatusKind::bad_output);
      CHECK(r.message == "cannot write /dev/full: No space left on device");
      CHECK(stat("/dev/full", &st) == 0);  // still there
    }
  }
}

TEST_CASE("an incomplete trace (recorder never closed) exports what it holds, with a warning") {
  TempDir tmp;
  const std::string trace = tmp.file("open.trace"), out = tmp.file("open.pcap");
  {
    TraceError err;
    auto w = TraceWriter::open(trace, {}, &err);
    REQUIRE(w != nullptr);
    TraceConfig cfg;
    cfg.ring_sizes = {256, 256};
    REQUIRE(w->write_config(cfg).ok());
    TracePacket p;
    p.seq = 1;
    p.timestamp_ns = 42;
    p.data.assign(60, 0x11);
    p.orig_len = 60;
    REQUIRE(w->add_packet(p).ok());
    REQUIRE(w->flush().ok());
  }  // destroyed without close(): meta.complete stays 0
  ExportResult r = run_export(trace, out, ExportFormatKind::pcap);
  REQUIRE_MESSAGE(r.kind == ExportStatusKind::ok, r.message);
  CHECK(r.warning.find(trace) != std::string::npos);
  CHECK(r.packets == 1);
  int lt;
  std::vector<ReadFrame> got = read_with_libpcap(out, &lt);
  REQUIRE(got.size() == 1);
  CHECK(got[0].ts_ns == 42);
  CHECK(got[0].data == std::vector<uint8_t>(60, 0x11));
}
