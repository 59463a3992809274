// SPDX-License-Identifier: MIT
// event_log.cpp: probe callbacks to trace events.
#include "replay/event_log.h"

#include <algorithm>

namespace viona_rr {

const char* event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::chain:
      return "chain";
    case EventKind::used:
      return "used";
    case EventKind::probe:
      return "probe";
    case EventKind::digest:
      return "digest";
    case EventKind::interrupt:
      return "interrupt";
    case EventKind::counters:
      return "counters";
  }
  __builtin_unreachable();
}

uint64_t TraceEvent::seq() const {
  switch (kind) {
    case EventKind::chain:
      return chain.seq;
    case EventKind::used:
      return used.seq;
    case EventKind::probe:
      return probe.seq;
    case EventKind::digest:
      return digest.seq;
    case EventKind::interrupt:
      return interrupt.seq;
    case EventKind::counters:
      return counters.seq;
  }
  __builtin_unreachable();
}

uint64_t TraceEvent::op_seq() const {
  switch (kind) {
    case EventKind::chain:
      return chain.op_seq;
    case EventKind::used:
      return used.op_seq;
    case EventKind::probe:
      return probe.op_seq;
    case EventKind::digest:
      return digest.op_seq;
    case EventKind::interrupt:
      return interrupt.op_seq;
    case EventKind::counters:
      return counters.op_seq;
  }
  __builtin_unreachable();
}

void TraceEvent::set_seq(uint64_t s, uint64_t op) {
  chain.seq = used.seq = probe.seq = digest.seq = interrupt.seq = counters.seq = s;
  chain.op_seq = used.op_seq = probe.op_seq = digest.op_seq = interrupt.op_seq = counters.op_seq = op;
}

std::optional<uint64_t> TraceEvent::packet_seq() const {
  switch (kind) {
    case EventKind::chain:
      return chain.packet_seq;
    case EventKind::used:
      return used.packet_seq;
    case EventKind::probe:
      return probe.packet_seq;
    case EventKind::digest:
    case EventKind::interrupt:
    case EventKind::counters:
      return std::nullopt;
  }
  __builtin_unreachable();
}

void TraceEvent::set_packet_seq(std::optional<uint64_t> p) {
  chain.packet_seq = used.packet_seq = probe.packet_seq = p;
}

bool TraceEvent::same_as(const TraceEvent& o) const {
  if (kind != o.kind) return false;
  TraceEvent a = *this, b = o;
  a.set_seq(0, 0);
  b.set_seq(0, 0);
  switch (kind) {
    case EventKind::chain:
      return a.chain == b.chain;
    case EventKind::used:
      return a.used == b.used;
    case EventKind::probe:
      return a.probe == b.probe;
    case EventKind::digest:
      return a.digest == b.digest;
    case EventKind::interrupt:
      return a.interrupt == b.interrupt;
    case EventKind::counters:
      return a.counters == b.counters;
  }
  __builtin_unreachable();
}

std::string TraceEvent::dump() const {
  switch (kind) {
    case EventKind::chain:
      return chain.dump();
    case EventKind::used:
      return used.dump();
    case EventKind::probe:
      return probe.dump();
    case EventKind::digest:
      return digest.dump();
    case EventKind::interrupt:
      return interrupt.dump();
    case EventKind::counters:
      return counters.dump();
  }
  __builtin_unreachable();
}

std::vector<TraceEvent> merge_events(const std::vector<TraceChain>& chains, const std::vector<TraceUsed>& used,
                                     const std::vector<TraceProbe>& probes, const std::vector<TraceDigest>& digests,
                                     const std::vector<TraceInterrupt>& intrs,
                                     const std::vector<TraceCounterSnapshot>& counters) {
  std::vector<TraceEvent> out;
  out.reserve(chains.size() + used.size() + probes.size() + digests.size() + intrs.size() + counters.size());
  for (const auto& c : chains) {
    TraceEvent e;
    e.kind = EventKind::chain;
    e.chain = c;
    out.push_back(std::move(e));
  }
  for (const auto& u : used) {
    TraceEvent e;
    e.kind = EventKind::used;
    e.used = u;
    out.push_back(std::move(e));
  }
  for (const auto& p : probes) {
    TraceEvent e;
    e.kind = EventKind::probe;
    e.probe = p;
    out.push_back(std::move(e));
  }
  for (const auto& d : digests) {
    TraceEvent e;
    e.kind = EventKind::digest;
    e.digest = d;
    out.push_back(std::move(e));
  }
  for (const auto& i : intrs) {
    TraceEvent e;
    e.kind = EventKind::interrupt;
    e.interrupt = i;
    out.push_back(std::move(e));
  }
  for (const auto& s : counters) {
    TraceEvent e;
    e.kind = EventKind::counters;
    e.counters = s;
    out.push_back(std::move(e));
  }
  // Event seqs are unique within a trace, so the order is total.
  std::stable_sort(out.begin(), out.end(), [](const TraceEvent& a, const TraceEvent& b) { return a.seq() < b.seq(); });
  return out;
}

void EventLog::push(TraceEvent&& ev) {
  ev.set_seq(next_seq_++, 0);
  pending_.push_back(std::move(ev));
  frame_of_.push_back(cur_frame_);
}

std::vector<TraceEvent> EventLog::take(uint64_t op_seq, std::optional<uint64_t> first_packet,
                                        const viona::RxFrame* frames, size_t nframes) {
  std::vector<TraceEvent> out;
  out.swap(pending_);
  std::map<const uint8_t*, uint64_t> index;
  for (size_t k = 0; k < nframes; k++) index.emplace(frames[k].data, k);
  for (size_t i = 0; i < out.size(); i++) {
    out[i].set_seq(out[i].seq(), op_seq);
    if (!first_packet || frame_of_[i] == nullptr) continue;
    auto it = index.find(frame_of_[i]);
    if (it != index.end()) out[i].set_packet_seq(*first_packet + it->second);
  }
  frame_of_.clear();
  cur_frame_ = nullptr;
  return out;
}

void EventLog::tag_tx_packet(uint16_t ring, uint16_t cookie, uint64_t packet_seq) {
  // The drain pops, pushes (copy mode) and fires pkt_tx before handing the
  // packet over, so its events are the last ones on the ring since its chain.
  size_t i = pending_.size();
  while (i > 0) {
    const TraceEvent& e = pending_[i - 1];
    if (e.kind == EventKind::chain && e.chain.ring == ring && e.chain.cookie == cookie && !e.chain.packet_seq) break;
    i--;
  }
  if (i == 0) return;
  for (size_t k = i - 1; k < pending_.size(); k++) {
    TraceEvent& e = pending_[k];
    const bool on_ring = (e.kind == EventKind::chain && e.chain.ring == ring) ||
                         (e.kind == EventKind::used && e.used.ring == ring && e.used.id == cookie) ||
                         (e.kind == EventKind::probe && e.probe.ring == ring);
    if (on_ring && !e.packet_seq()) e.set_packet_seq(packet_seq);
  }
}

void EventLog::snapshot(const viona::Link& link) {
  for (uint16_t i = 0; i < link.nrings(); i++) {
    const viona::Ring& r = link.ring(i);
    if (!r.mapped()) continue;
    TraceEvent e;
    e.kind = EventKind::counters;
    e.counters.ring = i;
    e.counters.rs = r.rs;
    e.counters.vts = r.vts;
    const uint8_t* saved = cur_frame_;
    cur_frame_ = nullptr;
    push(std::move(e));
    cur_frame_ = saved;
  }
}

void EventLog::on_probe(const viona::ProbeEvent& ev) {
  TraceEvent e;
  e.kind = EventKind::probe;
  e.probe.ring = ev.ring;
  e.probe.kind = ev.kind;
  e.probe.arg = {ev.arg[0], ev.arg[1], ev.arg[2]};
  push(std::move(e));
}

void EventLog::on_chain(const viona::Ring& ring, const viona::Chain& chain) {
  TraceEvent e;
  e.kind = EventKind::chain;
  e.chain = trace_chain_from(chain, ring.index(), 0, 0, std::nullopt);
  push(std::move(e));
}

void EventLog::on_used(const viona::Ring& ring, uint16_t slot, uint32_t id, uint32_t len) {
  TraceEvent e;
  e.kind = EventKind::used;
  e.used.ring = ring.index();
  e.used.used_idx = slot;
  e.used.slot = static_cast<uint16_t>(slot & (ring.size() - 1));
  e.used.id = id;
  e.used.len = len;
  push(std::move(e));
  // The bytes the device wrote into this chain, digested per used entry.
  auto it = digests_.find({ring.index(), static_cast<uint16_t>(id)});
  if (it != digests_.end()) {
    TraceEvent d;
    d.kind = EventKind::digest;
    d.digest.ring = ring.index();
    d.digest.cookie = static_cast<uint16_t>(id);
    d.digest.used_idx = slot;
    d.digest.digest = it->second.value();
    d.digest.nbytes = it->second.nbytes();
    digests_.erase(it);
    push(std::move(d));
  }
}

void EventLog::on_interrupt(const viona::Ring& ring, viona::InterruptKind kind) {
  TraceEvent e;
  e.kind = EventKind::interrupt;
  e.interrupt.ring = ring.index();
  e.interrupt.kind = kind;
  push(std::move(e));
}

void EventLog::on_guest_write(const viona::Ring& ring, uint16_t cookie, uint64_t offset_in_chain,
                              const uint8_t* data, size_t len) {
  digests_[{ring.index(), cookie}].update(data, len);
}

void EventLog::on_rx_frame(const viona::Ring& ring, const uint8_t* frame) { cur_frame_ = frame; }

}  // namespace viona_rr
