// SPDX-License-Identifier: MIT
// trace_diff.cpp: packet-by-packet comparison of two traces, text and JSON forms.
#include "replay/trace_diff.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "replay/minimize.h"
#include "replay/trace_reader.h"

namespace viona_rr {

namespace {

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// Text forms without sequence numbers: two events are the same when these are.
std::string chain_text(const TraceChain& c) {
  std::string s = fmt("ring %u avail %u head %u len %u", c.ring, c.avail_idx, c.cookie, c.total_len);
  for (const TraceChainDesc& d : c.descs) {
    s += fmt(" desc[%u%s%d 0x%" PRIx64 "+%u f%u n%u p%u/%u]", d.index, d.indirect_parent < 0 ? "" : "@",
             d.indirect_parent < 0 ? 0 : d.indirect_parent, d.addr, d.len, d.flags, d.next, d.first_piece,
             d.npieces);
  }
  for (const TraceChainPiece& p : c.pieces) s += fmt(" piece[0x%" PRIx64 "+%u%s]", p.gpa, p.len, p.write ? " w" : "");
  return s;
}
std::string used_text(const TraceUsed& u) {
  return fmt("ring %u used_idx %u slot %u id %u len %u", u.ring, u.used_idx, u.slot, u.id, u.len);
}
std::string probe_text(const TraceProbe& p) {
  return fmt("ring %u %s %" PRIu64 " %" PRIu64 " %" PRIu64, p.ring, to_trace_probe(p.kind), p.arg[0], p.arg[1],
             p.arg[2]);
}

std::string hex(const std::vector<uint8_t>& b, size_t max = 32) {
  std::string s;
  for (size_t i = 0; i < b.size() && i < max; i++) s += fmt("%02x", b[i]);
  if (b.size() > max) s += "...";
  return s;
}

// Everything one trace says per packet (key 0: events of no packet).
struct PerPacket {
  std::vector<std::string> chains, used, probes;
};

struct Loaded {
  TraceConfig cfg;
  std::vector<TracePacket> packets;
  std::map<uint64_t, PerPacket> by_packet;
  std::map<uint16_t, TraceCounterSnapshot> last_counters;  // by ring
};

TraceError load(const std::string& path, Loaded* out) {
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(path, &err);
  if (!r) return err;
  Loaded& l = *out;
  auto key = [](const std::optional<uint64_t>& p) { return p ? *p : 0; };
  for (TraceError e : {
           r->read_config(&l.cfg),
           r->read_packets(&l.packets),
           r->each_chain([&](const TraceChain& c) {
             l.by_packet[key(c.packet_seq)].chains.push_back(chain_text(c));
             return true;
           }),
           r->each_used([&](const TraceUsed& u) {
             l.by_packet[key(u.packet_seq)].used.push_back(used_text(u));
             return true;
           }),
           r->each_probe([&](const TraceProbe& p) {
             l.by_packet[key(p.packet_seq)].probes.push_back(probe_text(p));
             return true;
           }),
           r->each_counters([&](const TraceCounterSnapshot& s) {
             l.last_counters[s.ring] = s;
             return true;
           }),
       }) {
    if (!e.ok()) return e;
  }
  return TraceError{};
}

class Collector {
 public:
  Collector(TraceDiffResult* r, size_t max) : r_(r), max_(max) {}
  void add(const std::string& where, std::optional<uint64_t> pkt, const std::string& what, const std::string& a,
           const std::string& b) {
    r_->total++;
    if (pkt) differing_[*pkt] = true;
    if (r_->differences.size() < max_) r_->differences.push_back(TraceDifference{where, pkt, what, a, b});
  }
  void finish() { r_->packets_differing = differing_.size(); }

 private:
  TraceDiffResult* r_;
  size_t max_;
  std::map<uint64_t, bool> differing_;
};

void diff_lists(Collector& c, const std::string& where, std::optional<uint64_t> pkt, const char* name,
                const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) {
    c.add(where, pkt, std::string(name), std::to_string(a.size()) + " entries", std::to_string(b.size()) + " entries");
  }
  for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
    const std::string& x = i < a.size() ? a[i] : "(none)";
    const std::string& y = i < b.size() ? b[i] : "(none)";
    if (x != y) c.add(where, pkt, std::string(name) + " " + std::to_string(i + 1), x, y);
  }
}

void diff_config(Collector& c, const TraceConfig& a, const TraceConfig& b) {
  auto one = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y) c.add("config", std::nullopt, what, x, y);
  };
  one("features_negotiated", fmt("0x%" PRIx64, a.features_negotiated), fmt("0x%" PRIx64, b.features_negotiated));
  one("features_offered", fmt("0x%" PRIx64, a.features_offered), fmt("0x%" PRIx64, b.features_offered));
  one("mtu", std::to_string(a.mtu), std::to_string(b.mtu));
  std::string ra, rb;
  for (uint16_t q : a.ring_sizes) ra += (ra.empty() ? "" : " ") + std::to_string(q);
  for (uint16_t q : b.ring_sizes) rb += (rb.empty() ? "" : " ") + std::to_string(q);
  one("ring_sizes", ra, rb);
  one("memory_mode", viona::memory_mode_name(a.memory_mode), viona::memory_mode_name(b.memory_mode));
  one("guest_profile", a.guest_profile, b.guest_profile);
  one("guest_layout", a.guest_layout, b.guest_layout);
  one("params", fmt("copy %d pad %u", a.params.tx_copy_data, a.params.tx_header_pad),
      fmt("copy %d pad %u", b.params.tx_copy_data, b.params.tx_header_pad));
  one("quirks", a.quirks.to_string().empty() ? "(none)" : a.quirks.to_string(),
      b.quirks.to_string().empty() ? "(none)" : b.quirks.to_string());
  TraceConfig oa = a, ob = b;  // the rest (offloads, regions, direction, mac) through dump()
  for (TraceConfig* x : {&oa, &ob}) {
    x->features_negotiated = x->features_offered = 0;
    x->mtu = 0;
    x->ring_sizes.clear();
    x->memory_mode = viona::MemoryMode::paged;
    x->guest_profile.clear();
    x->guest_layout.clear();
    x->params = viona::LinkParams{};
    x->quirks = viona::Quirks{};
  }
  one("offloads, regions, direction, mac", oa.dump(), ob.dump());
  // A trace without config_scenario rows says nothing about its scenario
  // (it predates the table), so only two recorded scenarios are compared.
  if (a.scenario && b.scenario) {
    const auto ra_rows = a.scenario->rows(), rb_rows = b.scenario->rows();
    for (size_t i = 0; i < ra_rows.size() && i < rb_rows.size(); i++) {
      one(("scenario " + ra_rows[i].first).c_str(), ra_rows[i].second, rb_rows[i].second);
    }
  }
}

}  // namespace

std::string TraceDifference::line() const { return where + ": " + what + ": " + a + " | " + b; }

TraceDiffResult diff_traces(const std::string& a, const std::string& b, const TraceDiffOptions& opts) {
  TraceDiffResult r;
  r.a_path = a;
  r.b_path = b;
  Loaded la, lb;
  if (TraceError e = load(a, &la); !e.ok()) {
    r.error = e;
    return r;
  }
  if (TraceError e = load(b, &lb); !e.ok()) {
    r.error = e;
    return r;
  }
  r.a_packets = la.packets.size();
  r.b_packets = lb.packets.size();
  Collector c(&r, opts.max_differences);
  diff_config(c, la.cfg, lb.cfg);
  if (la.packets.size() != lb.packets.size()) {
    c.add("packets", std::nullopt, "count", std::to_string(la.packets.size()), std::to_string(lb.packets.size()));
  }
  // Packets pair up by position: both traces number them 1, 2, ... in order.
  std::map<uint64_t, uint64_t> seq_b_of_a;
  for (size_t i = 0; i < std::max(la.packets.size(), lb.packets.size()); i++) {
    const TracePacket* pa = i < la.packets.size() ? &la.packets[i] : nullptr;
    const TracePacket* pb = i < lb.packets.size() ? &lb.packets[i] : nullptr;
    const uint64_t seq = pa ? pa->seq : pb->seq;
    const std::string where = "packet " + std::to_string(seq);
    if (pa == nullptr || pb == nullptr) {
      const TracePacket* p = pa ? pa : pb;
      c.add(where, seq, "packet", pa ? hex(p->data) : "(none)", pb ? hex(p->data) : "(none)");
      continue;
    }
    if (pa->direction != pb->direction) {
      c.add(where, seq, "direction", direction_name(pa->direction), direction_name(pb->direction));
    }
    if (pa->orig_len != pb->orig_len) {
      c.add(where, seq, "orig_len", std::to_string(pa->orig_len), std::to_string(pb->orig_len));
    }
    if (pa->data != pb->data) {
      c.add(where, seq, "bytes", std::to_string(pa->data.size()) + " bytes " + hex(pa->data),
            std::to_string(pb->data.size()) + " bytes " + hex(pb->data));
    }
    const PerPacket none;
    auto ia = la.by_packet.find(pa->seq);
    auto ib = lb.by_packet.find(pb->seq);
    const PerPacket& xa = ia == la.by_packet.end() ? none : ia->second;
    const PerPacket& xb = ib == lb.by_packet.end() ? none : ib->second;
    diff_lists(c, where, seq, "chains", xa.chains, xb.chains);
    diff_lists(c, where, seq, "used", xa.used, xb.used);
    diff_lists(c, where, seq, "probes", xa.probes, xb.probes);
  }
  {
    const PerPacket none;
    auto ia = la.by_packet.find(0);
    auto ib = lb.by_packet.find(0);
    const PerPacket& xa = ia == la.by_packet.end() ? none : ia->second;
    const PerPacket& xb = ib == lb.by_packet.end() ? none : ib->second;
    diff_lists(c, "no packet", std::nullopt, "chains", xa.chains, xb.chains);
    diff_lists(c, "no packet", std::nullopt, "used", xa.used, xb.used);
    diff_lists(c, "no packet", std::nullopt, "probes", xa.probes, xb.probes);
  }
  std::map<uint16_t, bool> rings;
  for (const auto& [ring, s] : la.last_counters) rings[ring] = true;
  for (const auto& [ring, s] : lb.last_counters) rings[ring] = true;
  for (const auto& [ring, present] : rings) {
    (void)present;
    TraceCounterSnapshot zero;
    auto ia = la.last_counters.find(ring);
    auto ib = lb.last_counters.find(ring);
    const auto na = (ia == la.last_counters.end() ? zero : ia->second).named();
    const auto nb = (ib == lb.last_counters.end() ? zero : ib->second).named();
    for (size_t i = 0; i < na.size(); i++) {
      if (na[i].second != nb[i].second) {
        c.add("counters ring " + std::to_string(ring), std::nullopt, na[i].first, std::to_string(na[i].second),
              std::to_string(nb[i].second));
      }
    }
  }
  c.finish();
  return r;
}

int trace_diff_exit_status(const TraceDiffResult& r) {
  if (!r.error.ok()) return 2;
  return r.total == 0 ? 0 : 1;
}

std::string trace_diff_text(const TraceDiffResult& r) {
  if (!r.error.ok()) return "error: " + r.error.message + "\n";
  std::string s = "--- " + r.a_path + " (" + std::to_string(r.a_packets) + " packets)\n+++ " + r.b_path + " (" +
                  std::to_string(r.b_packets) + " packets)\n";
  for (const TraceDifference& d : r.differences) {
    s += d.where + ": " + d.what + "\n  - " + d.a + "\n  + " + d.b + "\n";
  }
  if (r.total > r.differences.size()) {
    s += "(" + std::to_string(r.total - r.differences.size()) + " more differences not shown)\n";
  }
  if (r.total == 0) {
    s += "identical\n";
  } else {
    s += std::to_string(r.total) + " differences, " + std::to_string(r.packets_differing) + " packets differ\n";
  }
  return s;
}

std::string trace_diff_json(const TraceDiffResult& r) {
  nlohmann::json j = {{"a", r.a_path}, {"b", r.b_path}};
  j["error"] = r.error.ok() ? nlohmann::json(nullptr) : nlohmann::json(r.error.message);
  j["identical"] = r.identical();
  j["a_packets"] = r.a_packets;
  j["b_packets"] = r.b_packets;
  j["packets_differing"] = r.packets_differing;
  j["total"] = r.total;
  nlohmann::json ds = nlohmann::json::array();
  for (const TraceDifference& d : r.differences) {
    nlohmann::json x = {{"where", d.where}, {"what", d.what}, {"a", d.a}, {"b", d.b}};
    x["packet"] = d.packet_seq ? nlohmann::json(*d.packet_seq) : nlohmann::json(nullptr);
    ds.push_back(x);
  }
  j["differences"] = ds;
  return j.dump(2);
}

TraceDiffResult diff_with_replay(const std::string& trace, const viona::Quirks& quirks, const TraceDiffOptions& opts) {
  TraceDiffResult r;
  r.a_path = trace;
  r.b_path = "replay of " + trace;
  std::string err;
  RerecordPlan plan;
  // An unreadable trace keeps the reader's error kind.
  {
    TraceError te;
    if (!TraceReader::open(trace, &te)) {
      r.error = te;
      return r;
    }
  }
  if (!rerecord_plan(trace, &plan, &err)) {
    r.error = TraceError::make(TraceErrorKind::corrupt, err);
    return r;
  }
  const std::string dir = make_work_dir(&err);
  if (dir.empty()) {
    r.error = TraceError::make(TraceErrorKind::not_a_file, err);
    return r;
  }
  std::vector<size_t> all(plan.packets.size());
  for (size_t i = 0; i < all.size(); i++) all[i] = i;
  const std::string out = dir + "/replay.trace";
  if (!rerecord(plan, all, quirks, dir, out, &err)) {
    remove_work_dir(dir);
    r.error = TraceError::make(TraceErrorKind::corrupt, trace + ": cannot re-record: " + err);
    return r;
  }
  r = diff_traces(trace, out, opts);
  r.b_path = "replay of " + trace + (quirks.bits ? " with " + quirks.to_string() : std::string());
  remove_work_dir(dir);
  return r;
}

}  // namespace viona_rr
