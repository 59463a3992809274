// SPDX-License-Identifier: MIT
// recorder.cpp: device observer and probe events to trace rows.
#include "replay/recorder.h"

#include "bhyve_glue/param_text.h"
#include "bhyve_glue/viona_io.h"

namespace viona_rr {

Recorder::Recorder(TraceWriter* w, RecorderMode mode) : w_(w), mode_(mode) {
  if (mode_ == RecorderMode::writer_thread) thread_ = std::thread([this] { writer_main(); });
}

Recorder::~Recorder() {
  if (mem_ != nullptr) mem_->set_write_observer(nullptr);
  if (mode_ == RecorderMode::writer_thread) {
    drain();
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

void Recorder::check(TraceError e) {
  if (!e.ok() && err_.ok()) err_ = std::move(e);
}

// --- blocks -----------------------------------------------------------------------

void Recorder::Block::clear() {
  order.clear();
  nops = npackets = nevents = records = 0;
}

TraceOp& Recorder::Block::add_op() {
  order.push_back(RecordTag::op);
  if (nops == ops.size()) ops.emplace_back();
  return ops[nops++];
}

TracePacket& Recorder::Block::add_packet() {
  order.push_back(RecordTag::packet);
  if (npackets == packets.size()) packets.emplace_back();
  return packets[npackets++];
}

EventBatch& Recorder::Block::add_events() {
  order.push_back(RecordTag::events);
  if (nevents == events.size()) events.emplace_back();
  return events[nevents++];
}

namespace {
TraceError add_event(TraceWriter* w, const TraceEvent& e) {
  switch (e.kind) {
    case EventKind::chain:
      return w->add_chain(e.chain);
    case EventKind::used:
      return w->add_used(e.used);
    case EventKind::probe:
      return w->add_probe(e.probe);
    case EventKind::digest:
      return w->add_digest(e.digest);
    case EventKind::interrupt:
      return w->add_interrupt(e.interrupt);
    case EventKind::counters:
      return w->add_counters(e.counters);
  }
  __builtin_unreachable();
}

void keep_first(TraceError* first, TraceError e) {
  if (!e.ok() && first->ok()) *first = std::move(e);
}
}  // namespace

TraceError Recorder::write_block(Block& b) {
  TraceError first;
  size_t op = 0, pkt = 0, ev = 0;
  for (RecordTag t : b.order) {
    switch (t) {
      case RecordTag::op:
        keep_first(&first, w_->add_op(b.ops[op++]));
        break;
      case RecordTag::packet:
        keep_first(&first, w_->add_packet(b.packets[pkt++]));
        break;
      case RecordTag::events:
        for (const TraceEvent& e : b.events[ev++]) keep_first(&first, add_event(w_, e));
        break;
    }
  }
  return first;
}

void Recorder::hand_off() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !queued_full_; });
  // queued_ is the block the thread emptied last: it becomes the next fill.
  std::swap(fill_, queued_);
  fill_.clear();
  queued_full_ = true;
  if (!thread_err_.ok() && err_.ok()) err_ = thread_err_;
  lk.unlock();
  cv_.notify_all();
}

void Recorder::writer_main() {
  Block draining;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return queued_full_ || stop_; });
    if (!queued_full_) return;  // stop_, and nothing left
    std::swap(draining, queued_);
    queued_full_ = false;
    writing_ = true;
    lk.unlock();
    cv_.notify_all();
    TraceError e = write_block(draining);
    draining.clear();
    lk.lock();
    writing_ = false;
    if (!e.ok() && thread_err_.ok()) thread_err_ = std::move(e);
    cv_.notify_all();
  }
}

void Recorder::drain() {
  if (mode_ != RecorderMode::writer_thread) return;
  if (!fill_.order.empty()) hand_off();
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !queued_full_ && !writing_; });
  if (!thread_err_.ok() && err_.ok()) err_ = thread_err_;
}

// --- records ------------------------------------------------------------------------

TraceOp& Recorder::begin_op(OpKind kind) {
  TraceOp& op = mode_ == RecorderMode::writer_thread ? fill_.add_op() : op_;
  op.seq = 0;
  op.kind = kind;
  op.ring = kNoRing;
  op.args.fill(0);
  op.blob.clear();
  return op;
}

void Recorder::end_op(TraceOp& op, std::optional<uint64_t> first_packet, const viona::RxFrame* frames,
                      size_t nframes) {
  op.seq = next_op_++;
  if (mode_ == RecorderMode::writer_thread) {
    EventBatch& evs = fill_.add_events();
    take_into(&evs, op.seq, first_packet, frames, nframes);
    fill_.records += 1 + evs.size();
    if (fill_.records >= kRecorderBlock) hand_off();
    return;
  }
  check(w_->add_op(op));
  take_into(&batch_, op.seq, first_packet, frames, nframes);
  for (const TraceEvent& e : batch_) check(add_event(w_, e));
}

TracePacket& Recorder::begin_packet() {
  TracePacket& p = mode_ == RecorderMode::writer_thread ? fill_.add_packet() : packet_;
  p.link_type = LinkTypeKind::ethernet;
  return p;
}

void Recorder::end_packet(TracePacket& p) {
  if (mode_ == RecorderMode::writer_thread) {
    if (++fill_.records >= kRecorderBlock) hand_off();
    return;
  }
  check(w_->add_packet(p));
}

void Recorder::watch_memory(viona::GuestMemory& mem) {
  mem_ = &mem;
  mem.set_write_observer([this](uint64_t gpa, const uint8_t* data, size_t len) {
    TraceOp& op = begin_op(OpKind::mem_write);
    op.args[0] = gpa;
    op.blob.assign(data, data + len);
    end_op(op);
  });
}

void Recorder::record_snapshot(const viona::Link& link) {
  // Events caused by earlier work belong to it, not to the snapshot; in
  // stepping mode there are none left at this point.
  snapshot(link);
  end_op(begin_op(OpKind::snapshot));
}

void Recorder::flush() {
  drain();
  check(w_->flush());
}

bool op_from_ioctl(const bhyve_glue::IoctlRecord& rec, TraceOp* op) {
  using namespace bhyve_glue;
  if (rec.result < 0) return false;
  auto in = [&](size_t i) -> uint64_t { return i < rec.in.size() ? rec.in[i] : 0; };
  *op = TraceOp{};
  switch (rec.cmd) {
    case VNA_IOC_SET_FEATURES:
      op->kind = OpKind::set_features;
      op->args[0] = in(0);
      return true;
    case VNA_IOC_SET_MTU:
      op->kind = OpKind::set_mtu;
      op->args[0] = in(0);
      return true;
    case VNA_IOC_SET_PARAMS: {
      viona::LinkParams p;
      std::string errs;
      if (bhyve_glue::decode_params(rec.text_in, viona::LinkParams{}, &p, &errs) != bhyve_glue::ParamDecodeKind::ok)
        return false;
      op->kind = OpKind::set_params;
      op->args[0] = p.tx_copy_data ? 1 : 0;
      op->args[1] = p.tx_header_pad;
      return true;
    }
    case VNA_IOC_SET_PROMISC:
      op->kind = OpKind::set_promisc;
      op->args[0] = in(0);
      return true;
    case VNA_IOC_RING_INIT:
      op->kind = OpKind::ring_init;
      op->ring = static_cast<uint16_t>(in(0));
      op->args[0] = in(1);
      op->args[1] = in(2);
      return true;
    case VNA_IOC_RING_INIT_MODERN:
      op->kind = OpKind::ring_init_modern;
      op->ring = static_cast<uint16_t>(in(0));
      for (unsigned k = 0; k < 4; k++) op->args[k] = in(1 + k);
      return true;
    case VNA_IOC_RING_SET_STATE:
      op->kind = OpKind::ring_set_state;
      op->ring = static_cast<uint16_t>(in(0));
      for (unsigned k = 0; k < 6; k++) op->args[k] = in(1 + k);
      return true;
    case VNA_IOC_RING_KICK:
      op->kind = OpKind::ring_kick;
      op->ring = static_cast<uint16_t>(in(0));
      return true;
    case VNA_IOC_RING_RESET:
      op->kind = OpKind::ring_reset;
      op->ring = static_cast<uint16_t>(in(0));
      return true;
    case VNA_IOC_RING_PAUSE:
      op->kind = OpKind::ring_pause;
      op->ring = static_cast<uint16_t>(in(0));
      return true;
    case VNA_IOC_RING_SET_MSI:
      op->kind = OpKind::ring_set_msi;
      op->ring = static_cast<uint16_t>(in(0));
      op->args[0] = in(1);
      op->args[1] = in(2);
      return true;
    case VNA_IOC_RING_INTR_CLR:
      op->kind = OpKind::ring_intr_clr;
      op->ring = static_cast<uint16_t>(in(0));
      return true;
    default:
      return false;  // queries and link-level calls the replayer redoes itself
  }
}

void Recorder::on_ioctl(const bhyve_glue::IoctlRecord& rec) {
  TraceOp op;
  if (op_from_ioctl(rec, &op)) {
    TraceOp& o = begin_op(op.kind);
    o.ring = op.ring;
    o.args = op.args;
    end_op(o);
  } else if (!empty()) {
    // A query caused events (it cannot in viona); keep them with a snapshot-
    // free marker so nothing is lost: attach them to the next op.
  }
}

void Recorder::on_rx_batch(int ring, const viona::RxFrame* frames, size_t n, const viona::RxBatchResult& r) {
  const uint64_t first = next_packet_;
  for (size_t i = 0; i < n; i++) {
    TracePacket& p = begin_packet();
    p.seq = next_packet_++;
    p.timestamp_ns = clock_ns_;
    clock_ns_ += 1000;
    p.direction = DirectionKind::rx;
    p.orig_len = frames[i].len;
    p.data.assign(frames[i].data, frames[i].data + frames[i].len);
    end_packet(p);
  }
  TraceOp& op = begin_op(OpKind::rx_batch);
  op.ring = ring < 0 ? kNoRing : static_cast<uint16_t>(ring);
  op.args[0] = first;
  op.args[1] = n;
  op.args[2] = frames != nullptr && n > 0 ? (frames[0].meta.hw_lso ? 1u : 0u) | (frames[0].meta.cksum_ok ? 2u : 0u) : 0;
  op.args[3] = n > 0 ? frames[0].meta.lso_mss : 0;
  end_op(op, first, frames, n);
}

void Recorder::on_tx_packet(const viona::TxPacket& pkt) {
  TracePacket& p = begin_packet();
  p.seq = next_packet_++;
  p.timestamp_ns = clock_ns_;
  clock_ns_ += 1000;
  p.direction = DirectionKind::tx;
  p.data = pkt.flatten();
  p.orig_len = static_cast<uint32_t>(p.data.size());
  const uint64_t seq = p.seq;
  end_packet(p);
  tag_tx_packet(pkt.ring, pkt.cookie, seq);
}

void Recorder::on_tx_drain(uint16_t ring, const viona::TxDrainResult& r) {
  // In stepping mode the Device reports the kick, then drains: the drain's
  // events are this op's. The replayer re-creates them by re-issuing the
  // kick, and compares them with this op's.
  TraceOp& op = begin_op(OpKind::tx_drain);
  op.ring = ring;
  end_op(op);
}

void Recorder::on_loan_release(uint16_t ring, uint16_t cookie) {
  // The Device releases loans itself, inside the drain of the kick that
  // on_ioctl reports next; the used entries it writes are that op's events.
}

}  // namespace viona_rr
