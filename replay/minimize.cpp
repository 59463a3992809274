// SPDX-License-Identifier: MIT
// minimize.cpp: ddmin over a trace's packets, re-recorded and replayed at each step.
#include "replay/minimize.h"

#include <dirent.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "bhyve_glue/guest/guest_profile.h"
#include "replay/record_scenario.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"

namespace viona_rr {

namespace {

// The GuestProfile a trace was recorded with: the stored profile spec (a
// named profile, or a custom spec since record_session keeps it), with
// every layout field then taken from guest_layout, which older traces
// with a bare "custom" name rely on.
bool profile_of(const TraceConfig& cfg, bhyve_glue::GuestProfile* out, std::string* err) {
  bhyve_glue::GuestProfile p;
  std::string perr;
  if (!bhyve_glue::guest_profile_from_name(cfg.guest_profile, &p, &perr) &&
      !bhyve_glue::guest_profile_from_name("custom", &p, &perr)) {
    *err = perr;
    return false;
  }
  nlohmann::json j = nlohmann::json::parse(cfg.guest_layout, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *err = "config: guest_layout is not a JSON object";
    return false;
  }
  try {
    auto get = [&j](const char* k, auto* field) {
      if (j.contains(k)) *field = j.at(k).get<std::remove_pointer_t<decltype(field)>>();
    };
    get("want_features", &p.want_features);
    get("ring_size", &p.ring_size);
    get("msix", &p.msix);
    get("rx_buf", &p.rx_buf);
    get("rx_offset", &p.rx_offset);
    get("rx_stride", &p.rx_stride);
    get("rx_block", &p.rx_block);
    get("rx_descs", &p.rx_descs);
    get("rx_hdr_desc", &p.rx_hdr_desc);
    get("rx_indirect", &p.rx_indirect);
    get("rx_chains", &p.rx_chains);
    get("tx_indirect", &p.tx_indirect);
    get("tx_slots", &p.tx_slots);
    get("tx_buf", &p.tx_buf);
  } catch (const nlohmann::json::exception& e) {
    *err = std::string("config: guest_layout: ") + e.what();
    return false;
  }
  *out = p;
  return true;
}

}  // namespace

bool rerecord_plan(const std::string& trace, RerecordPlan* out, std::string* err) {
  TraceError terr;
  std::unique_ptr<TraceReader> r = TraceReader::open(trace, &terr);
  if (!r) {
    *err = terr.message;
    return false;
  }
  TraceConfig cfg;
  std::vector<TraceOp> ops;
  std::vector<TracePacket> pkts;
  for (TraceError e : {r->read_config(&cfg), r->read_ops(&ops), r->read_packets(&pkts)}) {
    if (!e.ok()) {
      *err = e.message;
      return false;
    }
  }
  RerecordPlan plan;
  RecordSpec& s = plan.spec;
  bhyve_glue::GuestProfile prof;
  if (!profile_of(cfg, &prof, err)) {
    *err = trace + ": " + *err;
    return false;
  }
  s.guest = cfg.guest_profile;
  s.profile = prof;
  s.memory = viona::memory_mode_name(cfg.memory_mode);
  s.direction = direction_name(cfg.direction);
  s.quirks = cfg.quirks;
  for (const TraceOp& op : ops) {
    if (op.kind == OpKind::set_mtu) s.mtu = static_cast<unsigned>(op.args[0]);
    if (op.kind == OpKind::rx_batch) s.batch = std::max<unsigned>(s.batch, static_cast<unsigned>(op.args[1]));
  }
  plan.scenario = cfg.scenario;
  if (const std::optional<TraceScenario>& sc = cfg.scenario) {
    // Frame numbers as recorded; rerecord() maps them onto a subset.
    s.corrupt = sc->corrupt();
    s.tx_offload = sc->tx_offload;
    s.backend_offload = sc->backend_offload;
    s.rx_lso = sc->rx_lso;
    s.migrate_at = sc->migrate_at;
    s.batch = sc->batch;
    s.filter = sc->filter;
    s.feature_mask = std::to_string(sc->feature_mask);
  } else {
    // A trace without a scenario: the backend's offloads are in the
    // config, so the --backend-offload that declares them is known.
    for (const char* name : {"none", "partial", "full", "lso"}) {
      viona::OffloadCaps c;
      const viona::OffloadCaps& o = cfg.offloads;
      if (offload_caps_from_name(name, &c) && c.cksum_partial == o.cksum_partial &&
          c.cksum_full_v4 == o.cksum_full_v4 && c.cksum_full_v6 == o.cksum_full_v6 &&
          c.cksum_ipv4_hdr == o.cksum_ipv4_hdr && c.lso_tcpv4 == o.lso_tcpv4 && c.lso_max == o.lso_max) {
        s.backend_offload = name;
      }
    }
  }
  // A TX-only trace's input is what the guest sent; otherwise the frames
  // the host delivered (in "both", the TX packets are the guest's echoes).
  const DirectionKind want = cfg.direction == DirectionKind::tx ? DirectionKind::tx : DirectionKind::rx;
  for (TracePacket& p : pkts) {
    if (p.direction == want) plan.packets.push_back(std::move(p));
  }
  *out = std::move(plan);
  return true;
}

bool write_pcap(const std::string& path, const std::vector<const TracePacket*>& pkts, std::string* err) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  if (dead == nullptr) {
    *err = "pcap_open_dead failed";
    return false;
  }
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (d == nullptr) {
    *err = path + ": " + pcap_geterr(dead);
    pcap_close(dead);
    return false;
  }
  for (const TracePacket* p : pkts) {
    struct pcap_pkthdr h = {};
    h.ts.tv_sec = static_cast<time_t>(p->timestamp_ns / 1000000000u);
    h.ts.tv_usec = static_cast<suseconds_t>((p->timestamp_ns % 1000000000u) / 1000u);
    h.caplen = static_cast<bpf_u_int32>(p->data.size());
    h.len = std::max<bpf_u_int32>(h.caplen, p->orig_len);
    pcap_dump(reinterpret_cast<u_char*>(d), &h, p->data.data());
  }
  const bool ok = pcap_dump_flush(d) == 0;
  pcap_dump_close(d);
  pcap_close(dead);
  if (!ok) *err = path + ": write failed";
  return ok;
}

uint64_t subset_frame(size_t total, const std::vector<size_t>& subset, uint64_t n) {
  // |subset| is ascending, so the kept frames before frame n are a prefix;
  // the frames before it are indices 0 .. min(n, total) - 1.
  const uint64_t kept_before =
      static_cast<uint64_t>(std::lower_bound(subset.begin(), subset.end(), n) - subset.begin());
  return n - (std::min<uint64_t>(n, total) - kept_before);
}

bool rerecord(const RerecordPlan& plan, const std::vector<size_t>& subset, const viona::Quirks& quirks,
              const std::string& workdir, const std::string& out, std::string* err) {
  std::vector<const TracePacket*> pkts;
  for (size_t i : subset) pkts.push_back(&plan.packets.at(i));
  RecordSpec s = plan.spec;
  const bool whole = subset.size() == plan.packets.size();
  if (plan.scenario) {
    // Frame-numbered scenario options act between the same kept frames
    // (minimize.h): N less the frames removed before frame N.
    const TraceScenario& sc = *plan.scenario;
    if (!sc.corrupt_kind.empty()) {
      s.corrupt = sc.corrupt_kind + "@" + std::to_string(subset_frame(plan.packets.size(), subset, sc.corrupt_after));
    }
    if (sc.migrate_at != 0) s.migrate_at = subset_frame(plan.packets.size(), subset, sc.migrate_at);
    // The whole trace (diff --replay): the capture is the first 1/R of the
    // packets delivered R times, as recorded, so RX batches end at the same
    // frames and the scenario stored is the recorded one.
    bool repeated = sc.repeat == 1;
    const size_t n = pkts.size();
    if (whole && sc.repeat > 1 && n % sc.repeat == 0) {
      const size_t base = n / sc.repeat;
      repeated = true;
      for (size_t i = base; i < n && repeated; i++) {
        repeated = pkts[i]->data == pkts[i % base]->data && pkts[i]->orig_len == pkts[i % base]->orig_len;
      }
      if (repeated) {
        pkts.resize(base);
        s.repeat = sc.repeat;
      }
    }
    // -c COUNT took the first COUNT frames: a no-op again on those frames,
    // but it would cut a subset of repeated frames.
    if (whole && repeated) s.count = sc.count;
  }
  const std::string pcap = workdir + "/subset.pcap";
  if (!write_pcap(pcap, pkts, err)) return false;
  s.pcap = pcap;
  s.quirks = quirks;
  s.out = out;
  const bool ok = record_session(s, nullptr, err);
  (void)unlink(pcap.c_str());
  return ok;
}

std::string make_work_dir(std::string* err) {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/viona-rr.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    *err = tmpl + ": cannot create a temporary directory";
    return "";
  }
  return buf.data();
}

void remove_work_dir(const std::string& dir) {
  if (dir.empty()) return;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") (void)unlink((dir + "/" + n).c_str());
    }
    closedir(d);
  }
  (void)rmdir(dir.c_str());
}

namespace {

bool same_failure(const Finding& a, const Finding& b) { return a.kind == b.kind && a.rule == b.rule; }

// ddmin (Zeller and Hildebrandt): split the failing set into n parts; keep
// a part that fails alone, else a complement that fails, else split finer.
// Ends 1-minimal: removing any single packet makes the failure go away.
struct Ddmin {
  std::function<int(const std::vector<size_t>&)> test;  // 1 fails, 0 passes, -1 error
  unsigned* tests;
  unsigned max_tests;
  bool exhausted = false;

  int run(std::vector<size_t> cur, std::vector<size_t>* out) {
    size_t n = 2;
    while (cur.size() >= 2) {
      n = std::min(n, cur.size());
      std::vector<std::vector<size_t>> parts(n);
      for (size_t i = 0; i < cur.size(); i++) parts[i * n / cur.size()].push_back(cur[i]);
      bool reduced = false;
      for (size_t k = 0; k < n && !reduced; k++) {
        int rc = step(parts[k]);
        if (rc < 0) return rc;
        if (rc == 1) {
          cur = parts[k];
          n = 2;
          reduced = true;
        }
      }
      for (size_t k = 0; k < n && !reduced && n > 2; k++) {
        std::vector<size_t> comp;
        for (size_t m = 0; m < n; m++) {
          if (m != k) comp.insert(comp.end(), parts[m].begin(), parts[m].end());
        }
        std::sort(comp.begin(), comp.end());
        int rc = step(comp);
        if (rc < 0) return rc;
        if (rc == 1) {
          cur = comp;
          n = std::max<size_t>(n - 1, 2);
          reduced = true;
        }
      }
      if (exhausted) break;
      if (!reduced) {
        if (n >= cur.size()) break;
        n = std::min(cur.size(), n * 2);
      }
    }
    *out = cur;
    return 0;
  }

  int step(const std::vector<size_t>& s) {
    if (*tests >= max_tests) {
      exhausted = true;
      return 0;
    }
    ++*tests;
    return test(s);
  }
};

}  // namespace

int minimize_trace(const std::string& trace, const MinimizeOptions& opts, MinimizeResult* res, std::string* err) {
  ReplayOptions ropts;
  ropts.quirks = opts.replay_quirks;
  ropts.max_findings = 1;
  ReplayResult orig = replay_trace(trace, ropts);
  if (!orig.error.ok()) {
    *err = orig.error.message;
    return 2;
  }
  *res = MinimizeResult{};
  if (orig.findings.empty()) {
    *err = trace + ": no finding when replayed" +
           (opts.replay_quirks.bits ? " with " + opts.replay_quirks.to_string() : std::string(" without quirks")) +
           "; nothing to minimize";
    return 1;
  }
  res->target = orig.findings[0];
  RerecordPlan plan;
  if (!rerecord_plan(trace, &plan, err)) return 2;
  res->original_packets = plan.packets.size();
  const std::string dir = make_work_dir(err);
  if (dir.empty()) return 2;
  std::string terr;
  unsigned tries = 0;
  auto test = [&](const std::vector<size_t>& subset) -> int {
    if (subset.empty()) return 0;
    const std::string t = dir + "/try-" + std::to_string(tries++) + ".trace";
    if (!rerecord(plan, subset, plan.spec.quirks, dir, t, &terr)) {
      (void)unlink(t.c_str());
      return -1;
    }
    ReplayResult r = replay_trace(t, ropts);
    (void)unlink(t.c_str());
    if (!r.error.ok()) {
      terr = r.error.message;
      return -1;
    }
    if (opts.progress) opts.progress(res->tests, subset.size());
    return !r.findings.empty() && same_failure(r.findings[0], res->target) ? 1 : 0;
  };
  std::vector<size_t> all(plan.packets.size());
  for (size_t i = 0; i < all.size(); i++) all[i] = i;
  // The whole set must fail as re-recorded, or ddmin's premise is false
  // (e.g. the trace needs a --feature-mask a trace does not keep).
  int rc = test(all);
  res->tests++;
  std::vector<size_t> kept;
  if (rc == 1) {
    Ddmin dd{test, &res->tests, opts.max_tests};
    rc = dd.run(all, &kept);
    res->exhausted = dd.exhausted;
  } else if (rc == 0) {
    terr = trace + ": re-recording its " + std::to_string(all.size()) +
           " packets does not reproduce the first finding (" + res->target.rule + ")";
    rc = -1;
  }
  if (rc == 0 && !rerecord(plan, kept, plan.spec.quirks, dir, opts.out, &terr)) rc = -1;
  remove_work_dir(dir);
  if (rc < 0) {
    *err = terr;
    return 2;
  }
  for (size_t i : kept) res->kept.push_back(plan.packets[i].seq);
  ReplayResult fin = replay_trace(opts.out, ropts);
  if (!fin.findings.empty()) res->final_finding = fin.findings[0];
  return 0;
}

}  // namespace viona_rr
