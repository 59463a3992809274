// SPDX-License-Identifier: MIT
// trace_records.cpp: stored-enum translations, record dumps and the trace digest.
#include "replay/trace_records.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "bhyve_glue/guest/guest_driver.h"
#include "viona/ring.h"

namespace viona_rr {

const char* trace_error_kind_name(TraceErrorKind k) {
  switch (k) {
    case TraceErrorKind::ok:
      return "ok";
    case TraceErrorKind::not_a_file:
      return "not-a-file";
    case TraceErrorKind::not_sqlite:
      return "not-sqlite";
    case TraceErrorKind::not_a_trace:
      return "not-a-trace";
    case TraceErrorKind::incomplete:
      return "incomplete";
    case TraceErrorKind::too_new:
      return "too-new";
    case TraceErrorKind::corrupt:
      return "corrupt";
    case TraceErrorKind::io:
      return "io";
    case TraceErrorKind::misuse:
      return "misuse";
  }
  __builtin_unreachable();
}

// --- OpKind -----------------------------------------------------------------

int64_t to_trace_op(OpKind k) { return static_cast<int64_t>(k); }

bool from_trace_op(int64_t v, OpKind* out) {
  // Explicit list rather than a range check, so that a gap in the values
  // (a retired kind) stays an error.
  switch (v) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
    case 10: case 11: case 12: case 13: case 14: case 15: case 16: case 17:
      *out = static_cast<OpKind>(v);
      return true;
    default:
      return false;
  }
}

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::mem_write:
      return "mem_write";
    case OpKind::set_features:
      return "set_features";
    case OpKind::set_mtu:
      return "set_mtu";
    case OpKind::set_params:
      return "set_params";
    case OpKind::set_promisc:
      return "set_promisc";
    case OpKind::ring_init:
      return "ring_init";
    case OpKind::ring_init_modern:
      return "ring_init_modern";
    case OpKind::ring_set_state:
      return "ring_set_state";
    case OpKind::ring_kick:
      return "ring_kick";
    case OpKind::ring_reset:
      return "ring_reset";
    case OpKind::ring_pause:
      return "ring_pause";
    case OpKind::ring_set_msi:
      return "ring_set_msi";
    case OpKind::ring_intr_clr:
      return "ring_intr_clr";
    case OpKind::rx_batch:
      return "rx_batch";
    case OpKind::tx_drain:
      return "tx_drain";
    case OpKind::tx_release:
      return "tx_release";
    case OpKind::snapshot:
      return "snapshot";
  }
  __builtin_unreachable();
}

unsigned op_arg_count(OpKind k) {
  switch (k) {
    case OpKind::mem_write:
    case OpKind::set_features:
    case OpKind::set_mtu:
    case OpKind::set_promisc:
    case OpKind::tx_release:
      return 1;
    case OpKind::set_params:
    case OpKind::ring_init:
    case OpKind::ring_set_msi:
      return 2;
    case OpKind::rx_batch:  // first_packet_seq, count, meta bits, lso_mss (trace_records.h)
    case OpKind::ring_init_modern:
      return 4;
    case OpKind::ring_set_state:
      return 6;
    case OpKind::ring_kick:
    case OpKind::ring_reset:
    case OpKind::ring_pause:
    case OpKind::ring_intr_clr:
    case OpKind::tx_drain:
    case OpKind::snapshot:
      return 0;
  }
  __builtin_unreachable();
}

bool op_has_ring(OpKind k) {
  switch (k) {
    case OpKind::mem_write:
    case OpKind::set_features:
    case OpKind::set_mtu:
    case OpKind::set_params:
    case OpKind::set_promisc:
    case OpKind::snapshot:
      return false;
    case OpKind::ring_init:
    case OpKind::ring_init_modern:
    case OpKind::ring_set_state:
    case OpKind::ring_kick:
    case OpKind::ring_reset:
    case OpKind::ring_pause:
    case OpKind::ring_set_msi:
    case OpKind::ring_intr_clr:
    case OpKind::rx_batch:
    case OpKind::tx_drain:
    case OpKind::tx_release:
      return true;
  }
  __builtin_unreachable();
}

// --- other enums ------------------------------------------------------------

int64_t to_trace_direction(DirectionKind d) {
  switch (d) {
    case DirectionKind::rx:
      return 0;
    case DirectionKind::tx:
      return 1;
    case DirectionKind::both:
      return 2;
  }
  __builtin_unreachable();
}

bool from_trace_direction(int64_t v, DirectionKind* out) {
  switch (v) {
    case 0:
      *out = DirectionKind::rx;
      return true;
    case 1:
      *out = DirectionKind::tx;
      return true;
    case 2:
      *out = DirectionKind::both;
      return true;
    default:
      return false;
  }
}

const char* direction_name(DirectionKind d) {
  switch (d) {
    case DirectionKind::rx:
      return "rx";
    case DirectionKind::tx:
      return "tx";
    case DirectionKind::both:
      return "both";
  }
  __builtin_unreachable();
}

int64_t to_trace_link_type(LinkTypeKind k) {
  switch (k) {
    case LinkTypeKind::ethernet:
      return 1;
  }
  __builtin_unreachable();
}

bool from_trace_link_type(int64_t v, LinkTypeKind* out) {
  if (v == 1) {
    *out = LinkTypeKind::ethernet;
    return true;
  }
  return false;
}

int64_t to_trace_memory_mode(viona::MemoryMode m) {
  switch (m) {
    case viona::MemoryMode::paged:
      return 0;
    case viona::MemoryMode::contiguous:
      return 1;
  }
  __builtin_unreachable();
}

bool from_trace_memory_mode(int64_t v, viona::MemoryMode* out) {
  switch (v) {
    case 0:
      *out = viona::MemoryMode::paged;
      return true;
    case 1:
      *out = viona::MemoryMode::contiguous;
      return true;
    default:
      return false;
  }
}

int64_t to_trace_interrupt(viona::InterruptKind k) {
  switch (k) {
    case viona::InterruptKind::suppressed:
      return 0;
    case viona::InterruptKind::msi:
      return 1;
    case viona::InterruptKind::poll:
      return 2;
    case viona::InterruptKind::already:
      return 3;
  }
  __builtin_unreachable();
}

bool from_trace_interrupt(int64_t v, viona::InterruptKind* out) {
  switch (v) {
    case 0:
      *out = viona::InterruptKind::suppressed;
      return true;
    case 1:
      *out = viona::InterruptKind::msi;
      return true;
    case 2:
      *out = viona::InterruptKind::poll;
      return true;
    case 3:
      *out = viona::InterruptKind::already;
      return true;
    default:
      return false;
  }
}

int64_t to_trace_promisc(viona::PromiscMode m) {
  switch (m) {
    case viona::PromiscMode::VIONA_PROMISC_NONE:
      return 0;
    case viona::PromiscMode::VIONA_PROMISC_MULTI:
      return 1;
    case viona::PromiscMode::VIONA_PROMISC_ALL:
      return 2;
  }
  __builtin_unreachable();
}

bool from_trace_promisc(int64_t v, viona::PromiscMode* out) {
  switch (v) {
    case 0:
      *out = viona::PromiscMode::VIONA_PROMISC_NONE;
      return true;
    case 1:
      *out = viona::PromiscMode::VIONA_PROMISC_MULTI;
      return true;
    case 2:
      *out = viona::PromiscMode::VIONA_PROMISC_ALL;
      return true;
    default:
      return false;
  }
}

const char* to_trace_probe(viona::ProbeKind k) { return viona::probe_name(k); }

bool from_trace_probe(const std::string& name, viona::ProbeKind* out) {
  return viona::probe_from_name(name.c_str(), out);
}

// --- formatting ---------------------------------------------------------------

namespace {

// Appends printf-formatted text; records are small, so one bounded buffer
// per field is enough.
void appendf(std::string* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string* s, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) s->append(buf, static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1);
}

std::string hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    s.push_back(kDigits[p[i] >> 4]);
    s.push_back(kDigits[p[i] & 0xf]);
  }
  return s;
}

std::string opt_seq(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

// dump() shows at most this many payload bytes; dump_raw() shows all.
constexpr size_t kDumpBytes = 16;

std::string preview(const std::vector<uint8_t>& b) {
  std::string s = hex(b.data(), b.size() < kDumpBytes ? b.size() : kDumpBytes);
  if (b.size() > kDumpBytes) s += "...";
  return s;
}

std::string mac_text(const std::array<uint8_t, 6>& m) {
  char buf[32];
  snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

}  // namespace

// --- TraceMeta ----------------------------------------------------------------

std::string TraceMeta::dump() const {
  std::string s;
  appendf(&s, "trace format %" PRId64 " (reader >= %" PRId64 "), tool %s, host %s, %s", format_version,
          required_reader_version, tool_version.c_str(), host.c_str(), complete ? "complete" : "INCOMPLETE");
  std::string q = quirks.to_string();
  if (!q.empty()) s += ", quirks " + q;
  return s;
}

std::string TraceMeta::dump_raw() const {
  std::string s;
  appendf(&s, "meta format_version=%" PRId64 " required_reader_version=%" PRId64 " created_unix_ns=%" PRId64
          " complete=%d quirks=%u",
          format_version, required_reader_version, created_unix_ns, complete ? 1 : 0, quirks.bits);
  s += " tool_version=" + hex(reinterpret_cast<const uint8_t*>(tool_version.data()), tool_version.size());
  s += " host=" + hex(reinterpret_cast<const uint8_t*>(host.data()), host.size());
  return s;
}

bool TraceMeta::operator==(const TraceMeta& o) const {
  return format_version == o.format_version && tool_version == o.tool_version &&
         created_unix_ns == o.created_unix_ns && host == o.host &&
         required_reader_version == o.required_reader_version && quirks.bits == o.quirks.bits &&
         complete == o.complete;
}

// --- TraceConfig --------------------------------------------------------------

std::string TraceConfig::dump() const {
  std::string s;
  appendf(&s, "config features 0x%" PRIx64 "/0x%" PRIx64 " mtu %u rings", features_negotiated, features_offered,
          mtu);
  for (uint16_t q : ring_sizes) appendf(&s, " %u", q);
  appendf(&s, " mem %s profile %s %s pad %u dir %s mac %s", viona::memory_mode_name(memory_mode),
          guest_profile.c_str(), params.tx_copy_data ? "copy" : "loan", params.tx_header_pad,
          direction_name(direction), mac_text(mac).c_str());
  std::string q = quirks.to_string();
  if (!q.empty()) s += " quirks " + q;
  for (const auto& r : regions) appendf(&s, " region 0x%" PRIx64 "+0x%" PRIx64, r.gpa, r.size);
  return s;
}

std::string TraceConfig::dump_raw() const {
  std::string s;
  appendf(&s, "config features_negotiated=%" PRIu64 " features_offered=%" PRIu64 " mtu=%u", features_negotiated,
          features_offered, mtu);
  s += " ring_sizes=";
  for (size_t i = 0; i < ring_sizes.size(); i++) appendf(&s, "%s%u", i ? "," : "", ring_sizes[i]);
  appendf(&s, " memory_mode=%" PRId64 " tx_copy_data=%d tx_header_pad=%u quirks=%u direction=%" PRId64,
          to_trace_memory_mode(memory_mode), params.tx_copy_data ? 1 : 0, params.tx_header_pad, quirks.bits,
          to_trace_direction(direction));
  appendf(&s, " cksum_partial=%d cksum_full_v4=%d cksum_full_v6=%d cksum_ipv4_hdr=%d lso_tcpv4=%d lso_max=%u",
          offloads.cksum_partial, offloads.cksum_full_v4, offloads.cksum_full_v6, offloads.cksum_ipv4_hdr,
          offloads.lso_tcpv4, offloads.lso_max);
  s += " mac=" + hex(mac.data(), mac.size());
  s += " regions=";
  for (size_t i = 0; i < regions.size(); i++)
    appendf(&s, "%s%" PRIu64 ":%" PRIu64, i ? "," : "", regions[i].gpa, regions[i].size);
  s += " guest_profile=" + hex(reinterpret_cast<const uint8_t*>(guest_profile.data()), guest_profile.size());
  s += " guest_layout=" + hex(reinterpret_cast<const uint8_t*>(guest_layout.data()), guest_layout.size());
  return s;
}

bool TraceConfig::operator==(const TraceConfig& o) const {
  if (regions.size() != o.regions.size()) return false;
  for (size_t i = 0; i < regions.size(); i++) {
    if (regions[i].gpa != o.regions[i].gpa || regions[i].size != o.regions[i].size) return false;
  }
  const viona::OffloadCaps& a = offloads;
  const viona::OffloadCaps& b = o.offloads;
  return features_negotiated == o.features_negotiated && features_offered == o.features_offered &&
         mtu == o.mtu && ring_sizes == o.ring_sizes && memory_mode == o.memory_mode &&
         guest_profile == o.guest_profile && guest_layout == o.guest_layout &&
         params.tx_copy_data == o.params.tx_copy_data && params.tx_header_pad == o.params.tx_header_pad &&
         quirks.bits == o.quirks.bits && a.cksum_partial == b.cksum_partial &&
         a.cksum_full_v4 == b.cksum_full_v4 && a.cksum_full_v6 == b.cksum_full_v6 &&
         a.cksum_ipv4_hdr == b.cksum_ipv4_hdr && a.lso_tcpv4 == b.lso_tcpv4 && a.lso_max == b.lso_max &&
         direction == o.direction && mac == o.mac && scenario == o.scenario;
}

// --- TraceScenario --------------------------------------------------------------

namespace {

// A decimal number without sign, spaces or leading '+': the text
// std::to_string writes, so a stored value has exactly one spelling.
bool decimal_u64(const std::string& v, uint64_t max, uint64_t* out) {
  if (v.empty() || v.size() > 20 || (v.size() > 1 && v[0] == '0')) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (max - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

std::string range_text(uint64_t lo, uint64_t hi) {
  return "a decimal number " + std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

std::string TraceScenario::corrupt() const {
  return corrupt_kind.empty() ? std::string() : corrupt_kind + "@" + std::to_string(corrupt_after);
}

std::vector<std::pair<std::string, std::string>> TraceScenario::rows() const {
  return {
      {"backend_offload", backend_offload},
      {"batch", std::to_string(batch)},
      {"corrupt", corrupt()},
      {"count", std::to_string(count)},
      {"feature_mask", std::to_string(feature_mask)},
      {"filter", filter},
      {"migrate_at", std::to_string(migrate_at)},
      {"repeat", std::to_string(repeat)},
      {"rx_lso", std::to_string(rx_lso)},
      {"tx_offload", tx_offload ? "1" : "0"},
  };
}

bool TraceScenario::set_row(const std::string& key, const std::string& v, std::string* expected) {
  uint64_t n = 0;
  auto number = [&](uint64_t lo, uint64_t hi) {
    if (decimal_u64(v, hi, &n) && n >= lo) return true;
    *expected = range_text(lo, hi);
    return false;
  };
  if (key == "backend_offload") {
    // The names offload_caps_from_name (record_scenario.h) takes.
    if (v != "none" && v != "partial" && v != "full" && v != "lso") {
      *expected = "none, partial, full or lso";
      return false;
    }
    backend_offload = v;
  } else if (key == "batch") {
    if (!number(1, UINT32_MAX)) return false;
    batch = static_cast<uint32_t>(n);
  } else if (key == "corrupt") {
    const size_t at = v.find('@');
    bhyve_glue::RxCorruptKind k;
    if (v.empty()) {
      corrupt_kind.clear();
      corrupt_after = 0;
    } else if (at == std::string::npos || !bhyve_glue::rx_corrupt_kind_from_name(v.substr(0, at), &k) ||
               !decimal_u64(v.substr(at + 1), UINT64_MAX, &n)) {
      *expected = "empty or KIND@N (KIND a --corrupt kind, N a decimal frame count)";
      return false;
    } else {
      corrupt_kind = v.substr(0, at);
      corrupt_after = n;
    }
  } else if (key == "count") {
    if (!number(0, UINT64_MAX)) return false;
    count = n;
  } else if (key == "feature_mask") {
    if (!number(0, UINT64_MAX)) return false;
    feature_mask = n;
  } else if (key == "filter") {
    filter = v;
  } else if (key == "migrate_at") {
    if (!number(0, UINT64_MAX)) return false;
    migrate_at = n;
  } else if (key == "repeat") {
    if (!number(1, UINT32_MAX)) return false;
    repeat = static_cast<uint32_t>(n);
  } else if (key == "rx_lso") {
    if (!number(0, 65535)) return false;
    rx_lso = static_cast<uint16_t>(n);
  } else if (key == "tx_offload") {
    if (v != "0" && v != "1") {
      *expected = "0 or 1";
      return false;
    }
    tx_offload = v == "1";
  }
  // Any other key: an addition of a later recorder, ignored.
  return true;
}

std::string TraceScenario::dump() const {
  std::string s = "scenario";
  for (const auto& [k, v] : rows()) s += " " + k + " " + (k == "filter" || v.empty() ? "'" + v + "'" : v);
  return s;
}

std::string TraceScenario::dump_raw() const {
  std::string s = "scenario";
  for (const auto& [k, v] : rows()) {
    s += " " + k + "=" + (k == "filter" ? hex(reinterpret_cast<const uint8_t*>(v.data()), v.size()) : v);
  }
  return s;
}

bool TraceScenario::operator==(const TraceScenario& o) const { return rows() == o.rows(); }

// --- TracePacket ----------------------------------------------------------------

std::string TracePacket::dump() const {
  std::string s;
  appendf(&s, "packet %" PRIu64 " %s %zu/%u bytes t=%" PRIu64 "ns ", seq, direction_name(direction), data.size(),
          orig_len, timestamp_ns);
  return s + preview(data);
}

std::string TracePacket::dump_raw() const {
  std::string s;
  appendf(&s, "packet seq=%" PRIu64 " timestamp_ns=%" PRIu64 " direction=%" PRId64 " caplen=%zu orig_len=%u"
          " link_type=%" PRId64 " data=",
          seq, timestamp_ns, to_trace_direction(direction), data.size(), orig_len, to_trace_link_type(link_type));
  return s + hex(data.data(), data.size());
}

bool TracePacket::operator==(const TracePacket& o) const {
  return seq == o.seq && timestamp_ns == o.timestamp_ns && direction == o.direction && orig_len == o.orig_len &&
         link_type == o.link_type && data == o.data;
}

// --- TraceOp ------------------------------------------------------------------

std::string TraceOp::dump() const {
  std::string s;
  appendf(&s, "op %" PRIu64 " %s", seq, op_kind_name(kind));
  if (ring != kNoRing) appendf(&s, " ring %u", ring);
  for (unsigned i = 0; i < op_arg_count(kind); i++) appendf(&s, " 0x%" PRIx64, args[i]);
  if (!blob.empty()) {
    appendf(&s, " %zu bytes ", blob.size());
    s += preview(blob);
  }
  return s;
}

std::string TraceOp::dump_raw() const {
  std::string s;
  appendf(&s, "op seq=%" PRIu64 " kind=%" PRId64, seq, to_trace_op(kind));
  if (ring == kNoRing) {
    s += " ring=-";
  } else {
    appendf(&s, " ring=%u", ring);
  }
  for (unsigned i = 0; i < kOpArgCount; i++) appendf(&s, " arg%u=%" PRIu64, i, args[i]);
  return s + " blob=" + hex(blob.data(), blob.size());
}

bool TraceOp::operator==(const TraceOp& o) const {
  return seq == o.seq && kind == o.kind && ring == o.ring && args == o.args && blob == o.blob;
}

// --- TraceChain -----------------------------------------------------------------

bool TraceChainDesc::operator==(const TraceChainDesc& o) const {
  return index == o.index && indirect_parent == o.indirect_parent && addr == o.addr && len == o.len &&
         flags == o.flags && next == o.next && first_piece == o.first_piece && npieces == o.npieces;
}

bool TraceChainPiece::operator==(const TraceChainPiece& o) const {
  return gpa == o.gpa && len == o.len && write == o.write;
}

std::string TraceChain::dump() const {
  std::string s;
  appendf(&s, "chain %" PRIu64 " (op %" PRIu64 ") ring %u avail %u head %u len %u pkt %s:", seq, op_seq, ring,
          avail_idx, cookie, total_len, opt_seq(packet_seq).c_str());
  for (const auto& d : descs) {
    appendf(&s, " [%s%u 0x%" PRIx64 "+%u f=%x]", d.indirect_parent >= 0 ? "i" : "", d.index, d.addr, d.len,
            d.flags);
  }
  appendf(&s, " %zu pieces", pieces.size());
  return s;
}

std::string TraceChain::dump_raw() const {
  std::string s;
  appendf(&s, "chain seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u avail_idx=%u cookie=%u total_len=%u packet_seq=%s",
          seq, op_seq, ring, avail_idx, cookie, total_len, opt_seq(packet_seq).c_str());
  s += " descs=";
  for (size_t i = 0; i < descs.size(); i++) {
    const auto& d = descs[i];
    appendf(&s, "%s%u:%d:%" PRIu64 ":%u:%u:%u:%u:%u", i ? "," : "", d.index, d.indirect_parent, d.addr, d.len,
            d.flags, d.next, d.first_piece, d.npieces);
  }
  s += " pieces=";
  for (size_t i = 0; i < pieces.size(); i++) {
    appendf(&s, "%s%" PRIu64 ":%u:%d", i ? "," : "", pieces[i].gpa, pieces[i].len, pieces[i].write ? 1 : 0);
  }
  return s;
}

bool TraceChain::operator==(const TraceChain& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && avail_idx == o.avail_idx && cookie == o.cookie &&
         total_len == o.total_len && packet_seq == o.packet_seq && descs == o.descs && pieces == o.pieces;
}

TraceChain trace_chain_from(const viona::Chain& c, uint16_t ring, uint64_t seq, uint64_t op_seq,
                            std::optional<uint64_t> packet_seq) {
  TraceChain t;
  t.seq = seq;
  t.op_seq = op_seq;
  t.ring = ring;
  t.avail_idx = c.avail_idx;
  t.cookie = c.cookie;
  t.total_len = c.total_len;
  t.packet_seq = packet_seq;
  t.descs.reserve(c.descs.size());
  for (const auto& d : c.descs) {
    t.descs.push_back(TraceChainDesc{d.index, d.indirect_parent, d.addr, d.len, d.flags, d.next, d.first_piece,
                                     d.npieces});
  }
  t.pieces.reserve(c.iov.size());
  for (size_t i = 0; i < c.iov.size(); i++) {
    TraceChainPiece p;
    p.gpa = i < c.piece_gpa.size() ? c.piece_gpa[i] : 0;
    p.len = c.iov[i].len;
    p.write = i < c.piece_write.size() ? static_cast<bool>(c.piece_write[i]) : false;
    t.pieces.push_back(p);
  }
  return t;
}

// --- TraceUsed ------------------------------------------------------------------

std::string TraceUsed::dump() const {
  std::string s;
  appendf(&s, "used %" PRIu64 " (op %" PRIu64 ") ring %u idx %u slot %u id %u len %u pkt %s", seq, op_seq, ring,
          used_idx, slot, id, len, opt_seq(packet_seq).c_str());
  return s;
}

std::string TraceUsed::dump_raw() const {
  std::string s;
  appendf(&s, "used seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u used_idx=%u slot=%u id=%u len=%u packet_seq=%s", seq,
          op_seq, ring, used_idx, slot, id, len, opt_seq(packet_seq).c_str());
  return s;
}

bool TraceUsed::operator==(const TraceUsed& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && used_idx == o.used_idx && slot == o.slot &&
         id == o.id && len == o.len && packet_seq == o.packet_seq;
}

// --- TraceProbe -----------------------------------------------------------------

std::string TraceProbe::dump() const {
  std::string s;
  appendf(&s, "probe %" PRIu64 " (op %" PRIu64 ") ring %u %s(%s) = %" PRIu64 ", %" PRIu64 ", %" PRIu64 " pkt %s",
          seq, op_seq, ring, viona::probe_name(kind), viona::probe_arg_names(kind), arg[0], arg[1], arg[2],
          opt_seq(packet_seq).c_str());
  return s;
}

std::string TraceProbe::dump_raw() const {
  std::string s;
  appendf(&s, "probe seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u name=%s arg0=%" PRIu64 " arg1=%" PRIu64
          " arg2=%" PRIu64 " packet_seq=%s",
          seq, op_seq, ring, viona::probe_name(kind), arg[0], arg[1], arg[2], opt_seq(packet_seq).c_str());
  return s;
}

bool TraceProbe::operator==(const TraceProbe& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && kind == o.kind && arg == o.arg &&
         packet_seq == o.packet_seq;
}

// --- TraceCounterSnapshot ---------------------------------------------------------

const size_t TraceCounterSnapshot::kCount = viona::kRsCounterCount + 4;

const char* TraceCounterSnapshot::name_of(size_t i) {
  // "rs_" + the counters.inc name, built once; the vts_* four follow.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (size_t k = 0; k < viona::kRsCounterCount; k++) {
      v.push_back(std::string("rs_") + viona::rs_counter_name(static_cast<viona::RsCounter>(k)));
    }
    for (const char* n : {"vts_packets", "vts_bytes", "vts_errors", "vts_drops"}) v.emplace_back(n);
    return v;
  }();
  return names.at(i).c_str();
}

uint64_t TraceCounterSnapshot::value_of(size_t i) const {
  if (i < viona::kRsCounterCount) return rs.at(static_cast<viona::RsCounter>(i));
  switch (i - viona::kRsCounterCount) {
    case 0:
      return vts.vts_packets;
    case 1:
      return vts.vts_bytes;
    case 2:
      return vts.vts_errors;
    default:
      return vts.vts_drops;
  }
}

std::vector<std::pair<std::string, uint64_t>> TraceCounterSnapshot::named() const {
  std::vector<std::pair<std::string, uint64_t>> v;
  v.reserve(kCount);
  for (size_t i = 0; i < kCount; i++) v.emplace_back(name_of(i), value_of(i));
  return v;
}

bool TraceCounterSnapshot::set_named(const std::string& name, uint64_t value) {
  if (name == "vts_packets") {
    vts.vts_packets = value;
  } else if (name == "vts_bytes") {
    vts.vts_bytes = value;
  } else if (name == "vts_errors") {
    vts.vts_errors = value;
  } else if (name == "vts_drops") {
    vts.vts_drops = value;
  } else {
    // Only the rs_-prefixed spelling is stored; reject a bare name so the
    // column has one spelling per counter.
    viona::RsCounter c;
    if (name.compare(0, 3, "rs_") != 0 || !viona::rs_counter_from_name(name, &c)) return false;
    rs.at(c) = value;
  }
  return true;
}

std::string TraceCounterSnapshot::dump() const {
  std::string s;
  appendf(&s, "counters %" PRIu64 " (op %" PRIu64 ") ring %u:", seq, op_seq, ring);
  bool any = false;
  for (const auto& [name, v] : named()) {
    if (v == 0) continue;
    appendf(&s, " %s=%" PRIu64, name.c_str(), v);
    any = true;
  }
  if (!any) s += " all zero";
  return s;
}

std::string TraceCounterSnapshot::dump_raw() const {
  std::string s;
  appendf(&s, "counters seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u", seq, op_seq, ring);
  for (const auto& [name, v] : named()) appendf(&s, " %s=%" PRIu64, name.c_str(), v);
  return s;
}

bool TraceCounterSnapshot::operator==(const TraceCounterSnapshot& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && rs == o.rs && vts == o.vts;
}

// --- TraceDigest ------------------------------------------------------------------

std::string TraceDigest::dump() const {
  std::string s;
  appendf(&s, "digest %" PRIu64 " (op %" PRIu64 ") ring %u head %u idx %u %016" PRIx64 " over %" PRIu64 " bytes",
          seq, op_seq, ring, cookie, used_idx, digest, nbytes);
  return s;
}

std::string TraceDigest::dump_raw() const {
  std::string s;
  appendf(&s, "digest seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u cookie=%u used_idx=%u digest=%" PRIu64
          " nbytes=%" PRIu64,
          seq, op_seq, ring, cookie, used_idx, digest, nbytes);
  return s;
}

bool TraceDigest::operator==(const TraceDigest& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && cookie == o.cookie && used_idx == o.used_idx &&
         digest == o.digest && nbytes == o.nbytes;
}

// --- TraceInterrupt -----------------------------------------------------------------

namespace {
const char* interrupt_name(viona::InterruptKind k) {
  switch (k) {
    case viona::InterruptKind::suppressed:
      return "suppressed";
    case viona::InterruptKind::msi:
      return "msi";
    case viona::InterruptKind::poll:
      return "poll";
    case viona::InterruptKind::already:
      return "already";
  }
  __builtin_unreachable();
}
}  // namespace

std::string TraceInterrupt::dump() const {
  std::string s;
  appendf(&s, "interrupt %" PRIu64 " (op %" PRIu64 ") ring %u %s", seq, op_seq, ring, interrupt_name(kind));
  return s;
}

std::string TraceInterrupt::dump_raw() const {
  std::string s;
  appendf(&s, "interrupt seq=%" PRIu64 " op_seq=%" PRIu64 " ring=%u kind=%" PRId64, seq, op_seq, ring,
          to_trace_interrupt(kind));
  return s;
}

bool TraceInterrupt::operator==(const TraceInterrupt& o) const {
  return seq == o.seq && op_seq == o.op_seq && ring == o.ring && kind == o.kind;
}

// --- digest -------------------------------------------------------------------------

namespace {
constexpr uint64_t kP1 = 0x9e3779b185ebca87ull;
constexpr uint64_t kP2 = 0xc2b2ae3d27d4eb4full;
constexpr uint64_t kP3 = 0x165667b19e3779f9ull;
constexpr uint64_t kP4 = 0x85ebca77c2b2ae63ull;
constexpr uint64_t kP5 = 0x27d4eb2f165667c5ull;

inline uint64_t rotl(uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); }

// Little-endian loads assembled from bytes: defined on any host; compilers
// turn the pattern into one load on little-endian machines.
inline uint64_t load64(const uint8_t* p) {
  return uint64_t(p[0]) | uint64_t(p[1]) << 8 | uint64_t(p[2]) << 16 | uint64_t(p[3]) << 24 |
         uint64_t(p[4]) << 32 | uint64_t(p[5]) << 40 | uint64_t(p[6]) << 48 | uint64_t(p[7]) << 56;
}
inline uint64_t load32(const uint8_t* p) {
  return uint64_t(p[0]) | uint64_t(p[1]) << 8 | uint64_t(p[2]) << 16 | uint64_t(p[3]) << 24;
}

inline uint64_t lane_round(uint64_t acc, uint64_t in) { return rotl(acc + in * kP2, 31) * kP1; }
inline uint64_t merge_lane(uint64_t h, uint64_t v) { return (h ^ lane_round(0, v)) * kP1 + kP4; }

// Feeds |nblocks| 32-byte blocks at |p| into the four lanes.
inline void blocks(uint64_t* v, const uint8_t* p, size_t nblocks) {
  uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
  for (size_t i = 0; i < nblocks; i++, p += 32) {
    a = lane_round(a, load64(p));
    b = lane_round(b, load64(p + 8));
    c = lane_round(c, load64(p + 16));
    d = lane_round(d, load64(p + 24));
  }
  v[0] = a;
  v[1] = b;
  v[2] = c;
  v[3] = d;
}

// The tail (< 32 bytes) and the avalanche. |v| is null when fewer than 32
// bytes were digested in all (no block ran).
uint64_t finish(const uint64_t* v, uint64_t seed, uint64_t total, const uint8_t* p, size_t n) {
  uint64_t h;
  if (v != nullptr) {
    h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int k = 0; k < 4; k++) h = merge_lane(h, v[k]);
  } else {
    h = seed + kP5;
  }
  h += total;
  for (; n >= 8; n -= 8, p += 8) h = rotl(h ^ lane_round(0, load64(p)), 27) * kP1 + kP4;
  if (n >= 4) {
    h = rotl(h ^ (load32(p) * kP1), 23) * kP2 + kP3;
    n -= 4;
    p += 4;
  }
  for (; n > 0; n--, p++) h = rotl(h ^ (*p * kP5), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

void init_lanes(uint64_t* v, uint64_t seed) {
  v[0] = seed + kP1 + kP2;
  v[1] = seed + kP2;
  v[2] = seed;
  v[3] = seed - kP1;
}
}  // namespace

uint64_t trace_digest(const uint8_t* data, size_t len, uint64_t seed) {
  if (len < 32) return finish(nullptr, seed, len, data, len);
  uint64_t v[4];
  init_lanes(v, seed);
  blocks(v, data, len / 32);
  return finish(v, seed, len, data + (len & ~size_t{31}), len & 31);
}

TraceDigester::TraceDigester(uint64_t seed) : seed_(seed) { init_lanes(v_, seed); }

void TraceDigester::update(const uint8_t* data, size_t len) {
  if (len == 0) return;
  n_ += len;
  if (nbuf_ != 0) {
    // Complete the buffered block first, so the blocks are the same 32-byte
    // runs of the concatenation whatever the piece boundaries were.
    const size_t take = std::min(len, sizeof buf_ - nbuf_);
    std::memcpy(buf_ + nbuf_, data, take);
    nbuf_ += take;
    data += take;
    len -= take;
    if (nbuf_ < sizeof buf_) return;
    blocks(v_, buf_, 1);
    nbuf_ = 0;
  }
  blocks(v_, data, len / 32);
  const size_t rest = len & 31;
  if (rest != 0) std::memcpy(buf_, data + (len - rest), rest);
  nbuf_ = rest;
}

uint64_t TraceDigester::value() const { return finish(n_ >= 32 ? v_ : nullptr, seed_, n_, buf_, nbuf_); }

}  // namespace viona_rr
