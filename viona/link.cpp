// SPDX-License-Identifier: MIT
// link.cpp: features and the ring lifecycle (viona_ring_init/reset/kick/pause).
#include "viona/link.h"

#include <cerrno>

#include "viona/tx_loans.h"

namespace viona {

Link::Link(GuestMemory* mem, uint16_t npairs) : mem_(mem) {
  if (npairs == 0) npairs = 1;
  for (uint16_t i = 0; i < 2 * npairs; i++) rings_.push_back(std::make_unique<Ring>(i));
  tx_loans_.resize(rings_.size());
}

Link::~Link() {
  for (auto& r : rings_) ring_reset_path(*r);
}

uint64_t Link::features_hw() const {
  uint64_t hw = 0;
  if (caps_.any_cksum()) {
    hw |= VIRTIO_NET_F_CSUM;
    if (caps_.lso_tcpv4 && caps_.lso_max >= 65535) hw |= VIRTIO_NET_F_HOST_TSO4;
  }
  return hw;
}

void Link::set_features(uint64_t raw) {
  modern_ = (raw & VIRTIO_F_VERSION_1) != 0;
  uint64_t f = raw & features_offered();
  if ((f & VIRTIO_NET_F_CSUM) == 0) f &= ~VIRTIO_NET_F_HOST_TSO4;
  if ((f & VIRTIO_NET_F_GUEST_CSUM) == 0) f &= ~VIRTIO_NET_F_GUEST_TSO4;
  features_ = f;
}

uint32_t Link::rx_header_len() const {
  return (modern_ || has(VIRTIO_NET_F_MRG_RXBUF)) ? kNetHdrMrgLen : kNetHdrLen;
}
uint32_t Link::tx_header_len() const { return rx_header_len(); }

void Link::set_listener(ProbeListener* l) {
  listener_ = l;
  for (auto& r : rings_) r->set_listener(l);
}

void Link::set_interrupt_sink(InterruptSink* s) {
  intr_sink_ = s;
  for (auto& r : rings_) r->set_interrupt_sink(s);
}

int Link::ring_map(uint16_t i, uint16_t qsz, uint64_t desc, uint64_t avail, uint64_t used, bool legacy,
                   uint16_t aidx, uint16_t uidx) {
  if (i >= rings_.size()) return EINVAL;
  if (qsz == 0 || (qsz & (qsz - 1)) != 0) return EINVAL;
  Ring& r = *rings_[i];
  if (r.state != VrState::VRS_RESET || r.state_flags != 0) return EBUSY;
  // Newest viona: a non-modern link needs every part page aligned; the
  // legacy single-address ioctl needs that of its base only (2021 rule).
  bool page_align = !modern_ && !legacy;
  if (legacy && (desc & kPageMask) != 0) return EINVAL;
  int err = r.map(mem_, qsz, desc, avail, used, page_align, aidx, uidx);
  if (err != 0) return err;
  if (is_tx_ring(i) && !params.tx_copy_data) {
    tx_loans_[i] = std::make_unique<TxLoans>(qsz, params.tx_header_pad);
  } else {
    tx_loans_[i].reset();
  }
  // The worker is created and reaches INIT at once (there is no thread to
  // wait for; see viona.h, Divergences).
  r.state = VrState::VRS_INIT;
  r.intr_clear();
  return 0;
}

int Link::ring_init(uint16_t i, uint16_t qsz, uint64_t pa) {
  if (pa == 0) return EINVAL;
  const uint64_t avail = pa + vring_desc_size(qsz);
  const uint64_t used = pa + vring_legacy_used_offset(qsz);
  return ring_map(i, qsz, pa, avail, used, true, 0, 0);
}

int Link::ring_init_modern(uint16_t i, uint16_t qsz, uint64_t desc, uint64_t avail, uint64_t used) {
  return ring_map(i, qsz, desc, avail, used, false, 0, 0);
}

int Link::ring_set_state(const RingState& st) {
  return ring_map(st.index, st.qsize, st.desc, st.avail, st.used, false, st.avail_idx, st.used_idx);
}

int Link::ring_get_state(RingState* st) const {
  if (st->index >= rings_.size()) return EINVAL;
  const Ring& r = *rings_[st->index];
  st->qsize = r.size();
  st->desc = r.desc_pa();
  st->avail = r.avail_pa();
  st->used = r.used_pa();
  st->avail_idx = r.cur_aidx();
  st->used_idx = r.cur_uidx();
  return 0;
}

void Link::ring_leave_run(Ring& r) {
  TransferStats& to = is_tx_ring(r.index()) ? vls_tx : vls_rx;
  to.vts_packets += r.vts.vts_packets;
  to.vts_bytes += r.vts.vts_bytes;
  to.vts_errors += r.vts.vts_errors;
  to.vts_drops += r.vts.vts_drops;
  r.vts = TransferStats{};
  if (!is_tx_ring(r.index()) && r.mapped()) r.enable_notify();
}

void Link::ring_reset_path(Ring& r) {
  if (r.state == VrState::VRS_RUN) ring_leave_run(r);
  tx_loans_[r.index()].reset();
  r.unmap();
  r.state = VrState::VRS_RESET;
  r.state_flags = 0;
}

int Link::ring_reset(uint16_t i) {
  if (i >= rings_.size()) return EINVAL;
  Ring& r = *rings_[i];
  if (r.state == VrState::VRS_RESET) return 0;
  // viona waits for loans to drain; in a single-threaded model nothing else
  // could release them, so refuse rather than wait forever.
  if (r.xfer_outstanding != 0) return EBUSY;
  ring_reset_path(r);
  return 0;
}

int Link::ring_kick(uint16_t i) {
  if (i >= rings_.size()) return EINVAL;
  Ring& r = *rings_[i];
  switch (r.state) {
    case VrState::VRS_SETUP:
    case VrState::VRS_INIT:
      // REQ_START, and the worker acts on it: INIT -> RUN.
      r.state = VrState::VRS_RUN;
      r.state_flags = 0;
      if (!is_tx_ring(i)) r.disable_notify();  // RX never needs kicks
      return 0;
    case VrState::VRS_RUN:
      return 0;
    case VrState::VRS_RESET:
    case VrState::VRS_STOP:
      return EBUSY;
  }
  return EBUSY;
}

int Link::ring_pause(uint16_t i) {
  if (i >= rings_.size()) return EINVAL;
  Ring& r = *rings_[i];
  switch (r.state) {
    case VrState::VRS_RESET:
    case VrState::VRS_SETUP:
    case VrState::VRS_INIT:
      r.state_flags &= ~VRSF_REQ_START;
      return 0;
    case VrState::VRS_STOP:
      if (r.state_flags & VRSF_REQ_STOP) return EBUSY;
      break;
    case VrState::VRS_RUN:
      break;
  }
  if (r.xfer_outstanding != 0) return EBUSY;
  ring_leave_run(r);  // indices, mapping and error stats are kept
  r.state = VrState::VRS_INIT;
  r.state_flags = 0;
  return 0;
}

int Link::ring_set_msi(uint16_t i, uint64_t addr, uint64_t msg) {
  if (i >= rings_.size()) return EINVAL;
  rings_[i]->set_msi(addr, msg);
  return 0;
}

int Link::ring_intr_clr(uint16_t i) {
  if (i >= rings_.size()) return EINVAL;
  rings_[i]->intr_clear();
  return 0;
}

int Link::set_pairs(uint16_t n) {
  if (n < 1 || n > 256 || n < usepairs) return EINVAL;
  for (auto& r : rings_) {
    if (r->state != VrState::VRS_RESET) return EBUSY;
  }
  rings_.clear();
  for (uint16_t i = 0; i < 2 * n; i++) {
    rings_.push_back(std::make_unique<Ring>(i));
    rings_.back()->set_listener(listener_);
    rings_.back()->set_interrupt_sink(intr_sink_);
  }
  tx_loans_.clear();
  tx_loans_.resize(rings_.size());
  return 0;
}

}  // namespace viona
