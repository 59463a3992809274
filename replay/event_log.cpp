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

TraceEvent& EventLog::push(EventKind kind) {
  TraceEvent& e = pending_.add();
  e.kind = kind;
  frame_of_.push_back(cur_frame_);
  switch (kind) {
    case EventKind::chain:
      e.chain.seq = next_seq_++;
      e.chain.op_seq = 0;
      break;
    case EventKind::used:
      e.used.seq = next_seq_++;
      e.used.op_seq = 0;
      break;
    case EventKind::probe:
      e.probe.seq = next_seq_++;
      e.probe.op_seq = 0;
      break;
    case EventKind::digest:
      e.digest.seq = next_seq_++;
      e.digest.op_seq = 0;
      break;
    case EventKind::interrupt:
      e.interrupt.seq = next_seq_++;
      e.interrupt.op_seq = 0;
      break;
    case EventKind::counters:
      e.counters.seq = next_seq_++;
      e.counters.op_seq = 0;
      break;
  }
  return e;
}

void EventLog::stamp(uint64_t op_seq, std::optional<uint64_t> first_packet, const viona::RxFrame* frames,
                     size_t nframes) {
  // Frame bytes -> index in the batch; the first index wins when a batch
  // names the same bytes twice. Events of one frame are consecutive, so a
  // lookup runs about once per frame.
  frame_index_.clear();
  if (first_packet) {
    for (size_t k = 0; k < nframes; k++) frame_index_.emplace_back(frames[k].data, k);
    std::sort(frame_index_.begin(), frame_index_.end());
  }
  const uint8_t* prev = nullptr;
  std::optional<uint64_t> prev_pkt;
  for (size_t i = 0; i < pending_.size(); i++) {
    TraceEvent& e = pending_[i];
    const uint64_t seq = e.seq();
    e.set_seq(seq, op_seq);
    const uint8_t* f = frame_of_[i];
    if (!first_packet || f == nullptr) continue;
    if (f != prev) {
      prev = f;
      prev_pkt.reset();
      auto it = std::lower_bound(frame_index_.begin(), frame_index_.end(), std::make_pair(f, size_t{0}));
      if (it != frame_index_.end() && it->first == f) prev_pkt = *first_packet + it->second;
    }
    if (prev_pkt) e.set_packet_seq(prev_pkt);
  }
  frame_of_.clear();
  cur_frame_ = nullptr;
}

void EventLog::take_into(EventBatch* out, uint64_t op_seq, std::optional<uint64_t> first_packet,
                         const viona::RxFrame* frames, size_t nframes) {
  stamp(op_seq, first_packet, frames, nframes);
  out->swap(pending_);
  pending_.clear();
}

std::vector<TraceEvent> EventLog::take(uint64_t op_seq, std::optional<uint64_t> first_packet,
                                        const viona::RxFrame* frames, size_t nframes) {
  stamp(op_seq, first_packet, frames, nframes);
  // Fresh events holding only their kind's member, as merge_events builds them.
  std::vector<TraceEvent> out(pending_.size());
  for (size_t i = 0; i < pending_.size(); i++) {
    TraceEvent& e = pending_[i];
    TraceEvent& o = out[i];
    o.kind = e.kind;
    switch (e.kind) {
      case EventKind::chain:
        o.chain = std::move(e.chain);
        break;
      case EventKind::used:
        o.used = e.used;
        break;
      case EventKind::probe:
        o.probe = e.probe;
        break;
      case EventKind::digest:
        o.digest = e.digest;
        break;
      case EventKind::interrupt:
        o.interrupt = e.interrupt;
        break;
      case EventKind::counters:
        o.counters = e.counters;
        break;
    }
  }
  pending_.clear();
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
    const uint8_t* saved = cur_frame_;
    cur_frame_ = nullptr;
    TraceEvent& e = push(EventKind::counters);
    cur_frame_ = saved;
    e.counters.ring = i;
    e.counters.rs = r.rs;
    e.counters.vts = r.vts;
  }
}

void EventLog::on_probe(const viona::ProbeEvent& ev) {
  TraceProbe& p = push(EventKind::probe).probe;
  p.ring = ev.ring;
  p.kind = ev.kind;
  p.arg = {ev.arg[0], ev.arg[1], ev.arg[2]};
  p.packet_seq.reset();
}

void EventLog::on_chain(const viona::Ring& ring, const viona::Chain& chain) {
  // trace_chain_from's fields, filled in place so the slot's vectors keep
  // their capacity.
  TraceChain& t = push(EventKind::chain).chain;
  t.ring = ring.index();
  t.avail_idx = chain.avail_idx;
  t.cookie = chain.cookie;
  t.total_len = chain.total_len;
  t.packet_seq.reset();
  t.descs.resize(chain.descs.size());
  for (size_t i = 0; i < chain.descs.size(); i++) {
    const viona::ChainDesc& d = chain.descs[i];
    t.descs[i] = TraceChainDesc{d.index, d.indirect_parent, d.addr, d.len, d.flags, d.next, d.first_piece, d.npieces};
  }
  t.pieces.resize(chain.iov.size());
  for (size_t i = 0; i < chain.iov.size(); i++) {
    TraceChainPiece& p = t.pieces[i];
    p.gpa = i < chain.piece_gpa.size() ? chain.piece_gpa[i] : 0;
    p.len = chain.iov[i].len;
    p.write = i < chain.piece_write.size() ? static_cast<bool>(chain.piece_write[i]) : false;
  }
}

EventLog::OpenDigest* EventLog::find_digest(uint16_t ring, uint16_t cookie) {
  if (last_digest_ < digests_.size() && digests_[last_digest_].ring == ring &&
      digests_[last_digest_].cookie == cookie)
    return &digests_[last_digest_];
  for (size_t i = 0; i < digests_.size(); i++) {
    if (digests_[i].ring == ring && digests_[i].cookie == cookie) {
      last_digest_ = i;
      return &digests_[i];
    }
  }
  return nullptr;
}

void EventLog::on_used(const viona::Ring& ring, uint16_t slot, uint32_t id, uint32_t len) {
  TraceUsed& u = push(EventKind::used).used;
  u.ring = ring.index();
  u.used_idx = slot;
  u.slot = static_cast<uint16_t>(slot & (ring.size() - 1));
  u.id = id;
  u.len = len;
  u.packet_seq.reset();
  // The bytes the device wrote into this chain, digested per used entry.
  OpenDigest* o = find_digest(ring.index(), static_cast<uint16_t>(id));
  if (o != nullptr) {
    TraceDigest& d = push(EventKind::digest).digest;
    d.ring = ring.index();
    d.cookie = static_cast<uint16_t>(id);
    d.used_idx = slot;
    d.digest = o->d.value();
    d.nbytes = o->d.nbytes();
    *o = digests_.back();  // order does not matter: lookups are by key
    digests_.pop_back();
  }
}

void EventLog::on_interrupt(const viona::Ring& ring, viona::InterruptKind kind) {
  TraceInterrupt& i = push(EventKind::interrupt).interrupt;
  i.ring = ring.index();
  i.kind = kind;
}

void EventLog::on_guest_write(const viona::Ring& ring, uint16_t cookie, uint64_t offset_in_chain,
                              const uint8_t* data, size_t len) {
  OpenDigest* o = find_digest(ring.index(), cookie);
  if (o == nullptr) {
    last_digest_ = digests_.size();
    o = &digests_.emplace_back(OpenDigest{ring.index(), cookie, TraceDigester()});
  }
  o->d.update(data, len);
}

void EventLog::on_rx_frame(const viona::Ring& ring, const uint8_t* frame) { cur_frame_ = frame; }

}  // namespace viona_rr
