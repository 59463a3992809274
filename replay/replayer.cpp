// SPDX-License-Identifier: MIT
// replayer.cpp: re-applies a trace's ops to a stepping-mode Device and
// compares events, TX output and invariants.
#include "replay/replayer.h"

#include <cstring>
#include <iterator>
#include <map>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/param_text.h"
#include "bhyve_glue/viona_io.h"
#include "replay/event_log.h"
#include "replay/oracle.h"

namespace viona_rr {

namespace {

// The datalink under a replayed device: declares the recorded offloads,
// keeps what TX hands it, produces nothing (RX comes from the trace).
class ReplayBackend : public bhyve_glue::Backend {
 public:
  explicit ReplayBackend(const viona::OffloadCaps& caps) : caps_(caps) {}
  const char* kind() const override { return "replay"; }
  viona::OffloadCaps offload_caps() const override { return caps_; }
  size_t rx_pull(std::vector<bhyve_glue::BackendFrame>*, size_t, int) override { return 0; }
  bool rx_exhausted() const override { return true; }
  void transmit(viona::TxPacket&& pkt) override {
    sent.push_back(pkt.flatten());
    if (on_sent) on_sent(pkt);
  }
  std::vector<std::vector<uint8_t>> sent;
  std::function<void(const viona::TxPacket&)> on_sent;  // after each packet

 private:
  viona::OffloadCaps caps_;
};

std::string hex_prefix(const std::vector<uint8_t>& b, size_t n = 32) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < b.size() && i < n; i++) {
    s += d[b[i] >> 4];
    s += d[b[i] & 15];
  }
  if (b.size() > n) s += "...";
  return s;
}

}  // namespace

size_t ReplayResult::count(FindingKind k) const {
  size_t n = 0;
  for (const Finding& f : findings) n += f.kind == k;
  return n;
}

struct Replayer::State {
  std::unique_ptr<TraceReader> reader;
  TraceConfig cfg;
  std::vector<TraceOp> ops;
  std::vector<TracePacket> packet_store;
  std::vector<const TracePacket*> packets;  // by seq
  std::vector<std::vector<uint8_t>> tx_recorded;
  std::vector<uint64_t> tx_recorded_seq;  // packet seq of each, in order
  size_t tx_next = 0;
  std::map<uint64_t, std::vector<TraceEvent>> recorded;  // by op seq
  size_t next_op = 0;

  std::unique_ptr<viona::GuestMemory> mem;
  std::unique_ptr<ReplayBackend> backend;
  bhyve_glue::Registry reg;
  std::unique_ptr<bhyve_glue::Device> dev;
  EventLog log;
  std::unique_ptr<Oracle> rec_oracle, rep_oracle;
};

Replayer::Replayer(std::string path, ReplayOptions opts) : st_(std::make_unique<State>()), opts_(opts) {
  result_.path = std::move(path);
}
Replayer::~Replayer() = default;

uint64_t Replayer::ops_total() const { return st_->ops.size(); }
uint64_t Replayer::ops_done() const { return st_->next_op; }

TraceError Replayer::prepare() {
  State& s = *st_;
  TraceError err;
  s.reader = TraceReader::open(result_.path, &err);
  if (!s.reader) return result_.error = err;
  result_.incomplete = !s.reader->complete();
  TraceContents all;
  if (TraceError e = s.reader->read_all(&all); !e.ok()) return result_.error = e;
  s.cfg = std::move(all.config);
  s.ops = std::move(all.ops);
  s.packet_store = std::move(all.packets);
  result_.packets = s.packet_store.size();
  uint64_t max_seq = 0;
  for (const TracePacket& p : s.packet_store) max_seq = std::max(max_seq, p.seq);
  if (max_seq > s.packet_store.size() * 4 + 16) {
    return result_.error = TraceError::make(TraceErrorKind::corrupt,
                                            result_.path + ": packets: sequence numbers are not dense");
  }
  s.packets.assign(max_seq + 1, nullptr);
  for (const TracePacket& p : s.packet_store) {
    s.packets[p.seq] = &p;
    if (p.direction == DirectionKind::tx) {
      s.tx_recorded.push_back(p.data);
      s.tx_recorded_seq.push_back(p.seq);
    }
  }
  for (TraceEvent& e : merge_events(all.chains, all.used, all.probes, all.digests, all.interrupts, all.counters)) {
    s.recorded[e.op_seq()].push_back(std::move(e));
  }
  // The recorded machine: memory layout, backend offloads, a device in
  // stepping mode with this replay's quirks.
  s.mem = std::make_unique<viona::GuestMemory>(s.cfg.memory_mode);
  for (const viona::MemoryRegion& r : s.cfg.regions) {
    if (!s.mem->add_region(r.gpa, r.size)) {
      return result_.error = TraceError::make(
                 TraceErrorKind::corrupt, result_.path + ": config: memory region at " + std::to_string(r.gpa) +
                                              " of " + std::to_string(r.size) + " bytes cannot be laid out");
    }
  }
  s.backend = std::make_unique<ReplayBackend>(s.cfg.offloads);
  // The k-th packet the port transmits is compared with the k-th recorded
  // one, so its events are tagged with that packet's seq, as when recorded.
  s.backend->on_sent = [&s](const viona::TxPacket& pkt) {
    const size_t k = s.backend->sent.size() - 1;
    const uint64_t seq = k < s.tx_recorded_seq.size() ? s.tx_recorded_seq[k] : 0;
    s.log.tag_tx_packet(pkt.ring, pkt.cookie, seq);
  };
  s.dev = std::make_unique<bhyve_glue::Device>(&s.reg, bhyve_glue::DeviceModeKind::stepping);
  s.dev->set_probe_listener(&s.log);
  bhyve_glue::vioc_create_t c{};
  c.c_vmfd = s.reg.add_vm(s.mem.get());
  c.c_linkid = s.reg.add_link("replay0", s.backend.get());
  int rc = s.dev->ioctl(bhyve_glue::VNA_IOC_CREATE, reinterpret_cast<intptr_t>(&c));
  if (rc < 0) {
    return result_.error = TraceError::make(TraceErrorKind::corrupt,
                                            result_.path + ": cannot create the replay device (errno " +
                                                std::to_string(-rc) + ")");
  }
  const viona::Quirks q = opts_.quirks;
  const auto mac = s.cfg.mac;
  s.dev->with_link([&](viona::Link* l) {
    l->quirks = q;
    l->mac = mac;
    return 0;
  });
  s.rec_oracle = std::make_unique<Oracle>(s.cfg, FindingSourceKind::recording);
  s.rep_oracle = std::make_unique<Oracle>(s.cfg, FindingSourceKind::replay);
  return TraceError{};
}

namespace {

// Re-issues a recorded control op as the ioctl it came from.
int apply_ioctl(bhyve_glue::Device& dev, const TraceOp& op) {
  using namespace bhyve_glue;
  IoctlRecord rec;
  const auto& a = op.args;
  switch (op.kind) {
    case OpKind::set_features:
      rec.cmd = VNA_IOC_SET_FEATURES;
      rec.in = {a[0]};
      break;
    case OpKind::set_mtu:
      rec.cmd = VNA_IOC_SET_MTU;
      rec.in = {a[0]};
      break;
    case OpKind::set_params: {
      viona::LinkParams p;
      p.tx_copy_data = a[0] != 0;
      p.tx_header_pad = static_cast<uint16_t>(a[1]);
      rec.cmd = VNA_IOC_SET_PARAMS;
      rec.text_in = encode_params(p);
      rec.in = {rec.text_in.size(), 4096};
      break;
    }
    case OpKind::set_promisc:
      rec.cmd = VNA_IOC_SET_PROMISC;
      rec.in = {a[0]};
      break;
    case OpKind::ring_init:
      rec.cmd = VNA_IOC_RING_INIT;
      rec.in = {op.ring, a[0], a[1]};
      break;
    case OpKind::ring_init_modern:
      rec.cmd = VNA_IOC_RING_INIT_MODERN;
      rec.in = {op.ring, a[0], a[1], a[2], a[3]};
      break;
    case OpKind::ring_set_state:
      rec.cmd = VNA_IOC_RING_SET_STATE;
      rec.in = {op.ring, a[0], a[1], a[2], a[3], a[4], a[5]};
      break;
    case OpKind::ring_kick:
      rec.cmd = VNA_IOC_RING_KICK;
      rec.in = {op.ring};
      break;
    case OpKind::ring_reset:
      rec.cmd = VNA_IOC_RING_RESET;
      rec.in = {op.ring};
      break;
    case OpKind::ring_pause:
      rec.cmd = VNA_IOC_RING_PAUSE;
      rec.in = {op.ring};
      break;
    case OpKind::ring_set_msi:
      rec.cmd = VNA_IOC_RING_SET_MSI;
      rec.in = {op.ring, a[0], a[1]};
      break;
    case OpKind::ring_intr_clr:
      rec.cmd = VNA_IOC_RING_INTR_CLR;
      rec.in = {op.ring};
      break;
    case OpKind::mem_write:
    case OpKind::rx_batch:
    case OpKind::tx_drain:
    case OpKind::tx_release:
    case OpKind::snapshot:
      return 0;
  }
  return dev.ioctl_decoded(rec);
}

std::string chain_context(const std::vector<TraceEvent>& evs, std::optional<uint64_t> pkt) {
  std::string s;
  for (const TraceEvent& e : evs) {
    if (e.kind != EventKind::chain) continue;
    if (pkt && e.chain.packet_seq != pkt) continue;
    s += "  " + e.chain.dump() + "\n";
  }
  return s;
}

}  // namespace

ReplayStepKind Replayer::replay_step(std::vector<Finding>* out) {
  State& s = *st_;
  if (!result_.error.ok()) return ReplayStepKind::error;
  if (s.next_op >= s.ops.size()) return ReplayStepKind::done;
  const TraceOp& op = s.ops[s.next_op++];
  result_.ops++;
  std::optional<uint64_t> first_packet;
  std::vector<viona::RxFrame> frames;
  size_t tx_before = s.backend->sent.size();
  auto divergence = [&](const char* rule, uint16_t ring, std::optional<uint64_t> pkt, std::string msg,
                        std::string expected, std::string actual, std::string context) {
    Finding f = Finding::make(FindingKind::divergence, FindingSourceKind::replay, rule, op.seq, pkt, ring,
                              std::move(msg), std::move(expected), std::move(actual));
    f.context = std::move(context);
    out->push_back(std::move(f));
  };

  switch (op.kind) {
    case OpKind::mem_write:
      if (!s.mem->write(op.args[0], op.blob.data(), op.blob.size())) {
        result_.error = TraceError::make(TraceErrorKind::corrupt,
                                         result_.path + ": ops: row " + std::to_string(op.seq) +
                                             ": mem_write outside guest memory at " + std::to_string(op.args[0]));
        return ReplayStepKind::error;
      }
      break;
    case OpKind::rx_batch: {
      const uint64_t first = op.args[0], n = op.args[1];
      if (first == 0 || first + n > s.packets.size() || n > 1u << 20) {
        result_.error = TraceError::make(TraceErrorKind::corrupt,
                                         result_.path + ": ops: row " + std::to_string(op.seq) +
                                             ": rx_batch names packets " + std::to_string(first) + ".." +
                                             std::to_string(first + n) + " that the trace does not hold");
        return ReplayStepKind::error;
      }
      frames.resize(n);
      for (uint64_t i = 0; i < n; i++) {
        const TracePacket* p = s.packets[first + i];
        if (p == nullptr) {
          result_.error = TraceError::make(TraceErrorKind::corrupt, result_.path + ": packets: packet " +
                                                                        std::to_string(first + i) + " is missing");
          return ReplayStepKind::error;
        }
        frames[i].data = p->data.data();
        frames[i].len = static_cast<uint32_t>(p->data.size());
        frames[i].meta.hw_lso = (op.args[2] & 1) != 0;
        frames[i].meta.cksum_ok = (op.args[2] & 2) != 0;
        frames[i].meta.lso_mss = static_cast<uint16_t>(op.args[3]);
      }
      if (op.ring == kNoRing) {
        (void)s.dev->deliver_rx(frames.data(), frames.size());
      } else {
        (void)s.dev->deliver_rx_ring(op.ring, frames.data(), frames.size());
      }
      first_packet = first;
      break;
    }
    case OpKind::snapshot:
      s.dev->with_link([&](viona::Link* l) {
        if (l != nullptr) s.log.snapshot(*l);
        return 0;
      });
      break;
    case OpKind::tx_drain:
    case OpKind::tx_release:
      break;  // inside the kick that caused them
    default: {
      int rc = apply_ioctl(*s.dev, op);
      if (rc < 0) {
        divergence("ioctl-failed", op.ring, std::nullopt,
                   std::string(op_kind_name(op.kind)) + " failed with errno " + std::to_string(-rc) +
                       "; it succeeded when recorded",
                   "0", std::to_string(rc), "");
      }
      break;
    }
  }

  std::vector<TraceEvent> now = s.log.take(op.seq, first_packet, frames.data(), frames.size());
  auto recorded_of = [&](uint64_t seq) {
    auto it = s.recorded.find(seq);
    return it == s.recorded.end() ? std::vector<TraceEvent>{} : it->second;
  };
  std::vector<TraceEvent> was = recorded_of(op.seq);
  // A kick drains TX before it returns; the recording logged that drain as
  // the tx_drain op right after the kick. Both ops' events are the kick's.
  if (op.kind == OpKind::ring_kick && s.next_op < s.ops.size() && s.ops[s.next_op].kind == OpKind::tx_drain &&
      s.ops[s.next_op].ring == op.ring) {
    std::vector<TraceEvent> more = recorded_of(s.ops[s.next_op].seq);
    was.insert(was.end(), more.begin(), more.end());
    s.next_op++;
    result_.ops++;
  }
  result_.events += now.size();

  // Invariants: on the recording and on the replay. They are reported
  // after this op's divergence, if any: a divergence is the direct
  // evidence that something changed, and it is the one finding that
  // names the recorded and the replayed event side by side.
  std::vector<Finding> inv;
  s.rec_oracle->check_op(op, was, s.packets, &inv);
  s.rep_oracle->check_op(op, now, s.packets, &inv);
  if (op.kind == OpKind::rx_batch) {
    // The guest's buffers must hold what the device claims it delivered.
    std::map<uint16_t, const TraceEvent*> chain_by_cookie;
    std::map<uint64_t, std::vector<const TraceEvent*>> used_by_pkt;
    std::map<uint64_t, bool> accepted, gro;
    for (const TraceEvent& e : now) {
      if (e.kind == EventKind::chain) chain_by_cookie[e.chain.cookie] = &e;
      if (e.kind == EventKind::used && e.used.packet_seq) used_by_pkt[*e.used.packet_seq].push_back(&e);
      if (e.kind == EventKind::probe && e.probe.packet_seq) {
        if (e.probe.kind == viona::ProbeKind::pkt_rx) accepted[*e.probe.packet_seq] = true;
        if (e.probe.kind == viona::ProbeKind::rx_gro_fallback) gro[*e.probe.packet_seq] = true;
      }
    }
    const uint32_t hdr = s.rep_oracle->rx_header_len();
    const bool merged = (s.cfg.features_negotiated & viona::VIRTIO_NET_F_MRG_RXBUF) != 0;
    for (const auto& [pkt, usedv] : used_by_pkt) {
      if (!accepted[pkt] || gro[pkt] || pkt >= s.packets.size() || s.packets[pkt] == nullptr) continue;
      std::vector<uint8_t> got;
      for (const TraceEvent* u : usedv) {
        auto c = chain_by_cookie.find(static_cast<uint16_t>(u->used.id));
        if (c == chain_by_cookie.end()) continue;
        uint32_t left = u->used.len;
        for (const TraceChainPiece& piece : c->second->chain.pieces) {
          if (left == 0) break;
          uint32_t n = std::min(left, piece.len);
          size_t at = got.size();
          got.resize(at + n);
          (void)s.mem->read(piece.gpa, got.data() + at, n);
          left -= n;
        }
      }
      std::vector<uint8_t> want = s.packets[pkt]->data;
      want.resize(padded_frame_len(want.size()), 0);
      Finding f;
      f.kind = FindingKind::oracle;
      f.source = FindingSourceKind::replay;
      f.op_seq = op.seq;
      f.packet_seq = pkt;
      f.ring = usedv.front()->used.ring;
      if (got.size() < hdr || got.size() - hdr != want.size() ||
          std::memcmp(got.data() + hdr, want.data(), want.size()) != 0) {
        f.rule = "guest-bytes";
        f.message = "the guest buffers do not hold the frame's " + std::to_string(want.size()) + " bytes";
        std::vector<uint8_t> body(got.begin() + std::min<size_t>(hdr, got.size()), got.end());
        f.expected = hex_prefix(want);
        f.actual = hex_prefix(body);
        f.context = chain_context(now, pkt);
        inv.push_back(std::move(f));
      } else if (merged) {
        uint16_t nb = static_cast<uint16_t>(got[10] | (got[11] << 8));
        if (nb != usedv.size()) {
          f.rule = "num-buffers";
          f.message = "num_buffers is " + std::to_string(nb) + " but the frame used " + std::to_string(usedv.size()) +
                      " chains";
          f.expected = std::to_string(usedv.size());
          f.actual = std::to_string(nb);
          f.context = chain_context(now, pkt);
          inv.push_back(std::move(f));
        }
      }
    }
  }

  // The comparison with the recording.
  bool diverged = false;
  const size_t n = std::max(now.size(), was.size());
  for (size_t i = 0; i < n && !diverged; i++) {
    const TraceEvent* a = i < was.size() ? &was[i] : nullptr;
    const TraceEvent* b = i < now.size() ? &now[i] : nullptr;
    if (a != nullptr && b != nullptr && a->same_as(*b)) continue;
    const TraceEvent* any = a != nullptr ? a : b;
    std::optional<uint64_t> pkt = any->packet_seq();
    uint16_t ring = any->kind == EventKind::chain ? any->chain.ring
                    : any->kind == EventKind::used ? any->used.ring
                    : any->kind == EventKind::probe ? any->probe.ring
                    : any->kind == EventKind::digest ? any->digest.ring
                    : any->kind == EventKind::interrupt ? any->interrupt.ring
                                                        : any->counters.ring;
    std::string what = std::string(op_kind_name(op.kind)) + " event " + std::to_string(i + 1) + ": ";
    if (a == nullptr) {
      what += "the port now emits an extra " + std::string(event_kind_name(b->kind)) + " event";
    } else if (b == nullptr) {
      what += "the port no longer emits the recorded " + std::string(event_kind_name(a->kind)) + " event";
    } else if (a->kind != b->kind) {
      what += std::string("recorded ") + event_kind_name(a->kind) + ", now " + event_kind_name(b->kind);
    } else {
      what += std::string(event_kind_name(a->kind)) + " differs";
    }
    divergence("event-mismatch", ring, pkt, what, a ? a->dump() : "(none)", b ? b->dump() : "(none)",
               chain_context(was, pkt));
    diverged = true;
  }
  // TX output: the same packets, byte for byte, in the same order.
  for (size_t k = tx_before; k < s.backend->sent.size() && !diverged; k++) {
    const std::vector<uint8_t>& got = s.backend->sent[k];
    if (s.tx_next >= s.tx_recorded.size()) {
      divergence("tx-packet", op.ring, std::nullopt, "the port now transmits a packet that was not recorded", "(none)",
                 hex_prefix(got), "");
      diverged = true;
    } else if (got != s.tx_recorded[s.tx_next]) {
      divergence("tx-packet", op.ring, std::nullopt,
                 "transmitted packet " + std::to_string(s.tx_next + 1) + " differs from the recording",
                 hex_prefix(s.tx_recorded[s.tx_next]), hex_prefix(got), "");
      diverged = true;
    }
    s.tx_next++;
  }
  if (s.next_op >= s.ops.size() && !diverged && s.tx_next < s.tx_recorded.size()) {
    divergence("tx-packet", 0, std::nullopt,
               std::to_string(s.tx_recorded.size() - s.tx_next) + " recorded TX packets were not transmitted",
               std::to_string(s.tx_recorded.size()), std::to_string(s.tx_next), "");
    diverged = true;
  }
  out->insert(out->end(), std::make_move_iterator(inv.begin()), std::make_move_iterator(inv.end()));
  if (diverged) return ReplayStepKind::diverged;
  return s.next_op >= s.ops.size() ? ReplayStepKind::done : ReplayStepKind::progress;
}

ReplayResult replay_trace(const std::string& path, const ReplayOptions& opts,
                          const std::function<void(uint64_t, uint64_t)>& progress) {
  Replayer r(path, opts);
  if (!r.prepare().ok()) return r.result();
  for (;;) {
    std::vector<Finding> f;
    ReplayStepKind k = r.replay_step(&f);
    for (Finding& x : f) {
      if (r.result().findings.size() < opts.max_findings) r.result().findings.push_back(std::move(x));
    }
    if (progress) progress(r.ops_done(), r.ops_total());
    if (k != ReplayStepKind::progress) break;
  }
  return r.result();
}

}  // namespace viona_rr
