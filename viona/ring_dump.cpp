// SPDX-License-Identifier: MIT
// ring_dump.cpp: a ring printed the way mdb's "::print viona_vring_t" shows it.
#include "viona/ring_dump.h"

#include <cinttypes>
#include <cstdio>

namespace viona {

namespace {

// mdb prints integers as hex with a 0x prefix, except zero.
std::string mdb_hex(uint64_t v) {
  if (v == 0) return "0";
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  return buf;
}

// Indented "name = value" lines; open()/close() bracket a nested struct.
class MdbPrinter {
 public:
  void field(const char* name, uint64_t v) { line(std::string(name) + " = " + mdb_hex(v)); }
  void open(const char* name) {
    line(std::string(name) + " = {");
    depth_++;
  }
  void close() {
    depth_--;
    line("}");
  }
  void line(const std::string& s) {
    out_.append(4 * depth_, ' ');
    out_ += s;
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }
  explicit MdbPrinter(unsigned depth = 1) : depth_(depth) {}

 private:
  std::string out_;
  unsigned depth_;  // 1: the struct's own braces are written at column 0
};

void append_stats(MdbPrinter& p, const RingStats& rs, const TransferStats& vts) {
  p.open("vr_stats");
  for (size_t i = 0; i < kRsCounterCount; i++) {
    const auto c = static_cast<RsCounter>(i);
    p.field((std::string("rs_") + rs_counter_name(c)).c_str(), rs.at(c));
  }
  p.close();
  p.open("vr_transfer_stats");
  p.field("vts_packets", vts.vts_packets);
  p.field("vts_bytes", vts.vts_bytes);
  p.field("vts_errors", vts.vts_errors);
  p.field("vts_drops", vts.vts_drops);
  p.close();
}

}  // namespace

std::string dump_ring_stats(const RingStats& rs, const TransferStats& vts, unsigned depth) {
  MdbPrinter p(depth);
  append_stats(p, rs, vts);
  return p.take();
}

std::string dump_vring(const Ring& r, const Link* link) {
  MdbPrinter p;
  p.field("vr_index", r.index());
  p.field("vr_state", static_cast<uint16_t>(r.state));
  p.field("vr_state_flags", r.state_flags);
  p.field("vr_xfer_outstanding", r.xfer_outstanding);
  if (link != nullptr && Link::is_tx_ring(r.index())) {
    p.open("vr_tx");
    p.field("vrt_iov_cnt", r.size());  // TX pops with niov = queue size
    p.field("vrt_header_pad", link->params.tx_header_pad);
    p.field("vrt_copy_data", link->params.tx_copy_data ? 1 : 0);
    p.close();
  }
  p.field("vr_intr_enabled", r.intr_pending() ? 1 : 0);
  p.field("vr_msi_addr", r.msi_addr());
  p.field("vr_msi_msg", r.msi_msg());
  p.field("vr_pa", r.desc_pa());
  p.field("vr_size", r.size());
  p.field("vr_mask", r.mapped() ? static_cast<uint16_t>(r.size() - 1) : 0);
  p.field("vr_cur_aidx", r.cur_aidx());
  p.field("vr_cur_uidx", r.cur_uidx());
  p.field("vr_desc_pa", r.desc_pa());
  p.field("vr_avail_pa", r.avail_pa());
  p.field("vr_used_pa", r.used_pa());
  append_stats(p, r.rs, r.vts);
  return "{\n" + p.take() + "}\n";
}

}  // namespace viona
