// SPDX-License-Identifier: MIT
// recorder.cpp: device observer and probe events to trace rows.
#include "replay/recorder.h"

#include "bhyve_glue/param_text.h"
#include "bhyve_glue/viona_io.h"

namespace viona_rr {

Recorder::Recorder(TraceWriter* w) : w_(w) {}

Recorder::~Recorder() {
  if (mem_ != nullptr) mem_->set_write_observer(nullptr);
}

void Recorder::check(TraceError e) {
  if (!e.ok() && err_.ok()) err_ = std::move(e);
}

void Recorder::watch_memory(viona::GuestMemory& mem) {
  mem_ = &mem;
  mem.set_write_observer([this](uint64_t gpa, const uint8_t* data, size_t len) {
    TraceOp op;
    op.kind = OpKind::mem_write;
    op.args[0] = gpa;
    op.blob.assign(data, data + len);
    write_op(std::move(op));
  });
}

void Recorder::write_events(std::vector<TraceEvent>&& evs) {
  for (TraceEvent& e : evs) {
    switch (e.kind) {
      case EventKind::chain:
        check(w_->add_chain(e.chain));
        break;
      case EventKind::used:
        check(w_->add_used(e.used));
        break;
      case EventKind::probe:
        check(w_->add_probe(e.probe));
        break;
      case EventKind::digest:
        check(w_->add_digest(e.digest));
        break;
      case EventKind::interrupt:
        check(w_->add_interrupt(e.interrupt));
        break;
      case EventKind::counters:
        check(w_->add_counters(e.counters));
        break;
    }
  }
}

void Recorder::write_op(TraceOp op, std::optional<uint64_t> first_packet, const viona::RxFrame* frames,
                        size_t nframes) {
  op.seq = next_op_++;
  check(w_->add_op(op));
  write_events(take(op.seq, first_packet, frames, nframes));
}

void Recorder::record_snapshot(const viona::Link& link) {
  TraceOp op;
  op.kind = OpKind::snapshot;
  // Events caused by earlier work belong to it, not to the snapshot; in
  // stepping mode there are none left at this point.
  snapshot(link);
  write_op(std::move(op));
}

void Recorder::flush() { check(w_->flush()); }

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
    write_op(std::move(op));
  } else if (!empty()) {
    // A query caused events (it cannot in viona); keep them with a snapshot-
    // free marker so nothing is lost: attach them to the next op.
  }
}

void Recorder::on_rx_batch(int ring, const viona::RxFrame* frames, size_t n, const viona::RxBatchResult& r) {
  const uint64_t first = next_packet_;
  for (size_t i = 0; i < n; i++) {
    TracePacket p;
    p.seq = next_packet_++;
    p.timestamp_ns = clock_ns_;
    clock_ns_ += 1000;
    p.direction = DirectionKind::rx;
    p.orig_len = frames[i].len;
    p.data.assign(frames[i].data, frames[i].data + frames[i].len);
    check(w_->add_packet(p));
  }
  TraceOp op;
  op.kind = OpKind::rx_batch;
  op.ring = ring < 0 ? kNoRing : static_cast<uint16_t>(ring);
  op.args[0] = first;
  op.args[1] = n;
  op.args[2] = frames != nullptr && n > 0 ? (frames[0].meta.hw_lso ? 1u : 0u) | (frames[0].meta.cksum_ok ? 2u : 0u) : 0;
  op.args[3] = n > 0 ? frames[0].meta.lso_mss : 0;
  write_op(std::move(op), first, frames, n);
}

void Recorder::on_tx_packet(const viona::TxPacket& pkt) {
  TracePacket p;
  p.seq = next_packet_++;
  p.timestamp_ns = clock_ns_;
  clock_ns_ += 1000;
  p.direction = DirectionKind::tx;
  p.data = pkt.flatten();
  p.orig_len = static_cast<uint32_t>(p.data.size());
  check(w_->add_packet(p));
  tag_tx_packet(pkt.ring, pkt.cookie, p.seq);
}

void Recorder::on_tx_drain(uint16_t ring, const viona::TxDrainResult& r) {
  // In stepping mode the Device reports the kick, then drains: the drain's
  // events are this op's. The replayer re-creates them by re-issuing the
  // kick, and compares them with this op's.
  TraceOp op;
  op.kind = OpKind::tx_drain;
  op.ring = ring;
  write_op(std::move(op));
}

void Recorder::on_loan_release(uint16_t ring, uint16_t cookie) {
  // The Device releases loans itself, inside the drain of the kick that
  // on_ioctl reports next; the used entries it writes are that op's events.
}

}  // namespace viona_rr
