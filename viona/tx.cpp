// SPDX-License-Identifier: MIT
// tx.cpp: the TX path (viona_tx.c): drain, header cursor, copy and loan
// modes, checksum/LSO translation, loan completion.
#include "viona/tx.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>
#include <vector>

#include "viona/checksum.h"
#include "viona/tx_loans.h"
#include "viona/virtio_defs.h"

namespace viona {

namespace {

constexpr uint32_t kIpv4MinHeaderLen = 20;

// A read cursor over a chain's pieces (viona's iov_bunch): the virtio-net
// header and the frame may start and end anywhere, so nothing assumes a
// descriptor layout (VIRTIO_F_ANY_LAYOUT in effect for every guest).
class IovCursor {
 public:
  explicit IovCursor(const std::vector<IoVec>& iov) : iov_(iov) {}

  // Copies the next |n| bytes to |dst| and advances. False if fewer remain
  // (the cursor is then at the end).
  bool copy(uint8_t* dst, size_t n) {
    while (n > 0) {
      if (i_ >= iov_.size()) return false;
      const IoVec& v = iov_[i_];
      const size_t take = std::min<size_t>(n, v.len - off_);
      std::memcpy(dst, v.base + off_, take);
      dst += take;
      n -= take;
      off_ += static_cast<uint32_t>(take);
      if (off_ == v.len) {
        i_++;
        off_ = 0;
      }
    }
    return true;
  }

  // Appends what is left, still pointing into guest memory (the loans).
  void rest(std::vector<IoVec>* out) const {
    for (size_t k = i_; k < iov_.size(); k++) {
      const uint32_t skip = (k == i_) ? off_ : 0;
      if (iov_[k].len > skip) out->push_back(IoVec{iov_[k].base + skip, iov_[k].len - skip});
    }
  }

 private:
  const std::vector<IoVec>& iov_;
  size_t i_ = 0;      // current piece
  uint32_t off_ = 0;  // bytes of it already consumed
};

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

TxNetHdr decode_hdr(const uint8_t* b) {
  TxNetHdr h;
  h.flags = b[0];
  h.gso_type = b[1];
  h.hdr_len = le16(b + 2);
  h.gso_size = le16(b + 4);
  h.csum_start = le16(b + 6);
  h.csum_offset = le16(b + 8);
  return h;
}

void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

void TxPathImpl::done(Ring& ring, uint16_t cookie, uint32_t total_len) {
  ring.push_used(cookie, total_len);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // membar_enter before the interrupt decision
  (void)ring.intr_ring(false);
}

TxOneResult TxPathImpl::drop(Ring& ring, Chain& chain, TxLoan* reserved, uint32_t pkt_len, bool fail) {
  if (fail) ring.vts.vts_errors++;
  if (reserved != nullptr) {
    // Only a slot this call reserved is reset; a busy slot that caused the
    // drop belongs to the packet still in flight.
    reserved->busy = false;
    reserved->cookie = 0;
    reserved->total_len = 0;
  }
  ring.vts.vts_drops++;
  ring.fire(ProbeKind::tx_drop, pkt_len, chain.cookie);
  chain.holds.release_all();
  done(ring, chain.cookie, chain.total_len);
  return TxOneResult::dropped;
}

TxOneResult TxPathImpl::tx_one(Link& link, Ring& ring, TxSink& sink, Chain& chain, uint32_t* sent_len) {
  switch (ring.pop_chain(chain, ring.size())) {
    case PopResult::empty:
      ring.guest_error(RsCounter::tx_absent, ProbeKind::tx_absent);
      return TxOneResult::absent;
    case PopResult::error:
      return TxOneResult::pop_error;
    case PopResult::ok:
      break;
  }

  // Header first, through the cursor: it may span any descriptors. A chain
  // too short for it reports pkt_len 0 in tx_drop.
  IovCursor cur(chain.iov);
  const uint32_t hdr_sz = link.tx_header_len();
  uint8_t hdr_bytes[kNetHdrMrgLen];
  if (chain.total_len < hdr_sz || !cur.copy(hdr_bytes, hdr_sz)) return drop(ring, chain, nullptr, 0, true);
  const TxNetHdr hdr = decode_hdr(hdr_bytes);
  const uint32_t pkt_len = chain.total_len - hdr_sz;
  if (pkt_len < kEtherHeaderLen || pkt_len > VIONA_MAX_PACKET_SIZE) {
    return drop(ring, chain, nullptr, pkt_len, true);
  }

  TxPacket pkt;
  pkt.ring = ring.index();
  pkt.cookie = chain.cookie;
  pkt.len = pkt_len;
  PacketInfo info;
  uint32_t first_len = 0;  // bytes of the first (copied-header) buffer
  TxLoans* loans = link.tx_loans_[ring.index()].get();
  TxLoan* loan = nullptr;

  if (loans != nullptr) {
    // Loan mode. The slot is indexed by head id: a guest re-posting a head
    // whose previous packet is still in flight is refused.
    TxLoan& slot = loans->slot(chain.cookie);
    if (slot.busy) return drop(ring, chain, nullptr, pkt_len, true);
    slot.busy = true;
    slot.ring = ring.index();
    slot.cookie = chain.cookie;
    loan = &slot;
    // Copy the headers (TOCTOU: the guest may rewrite its buffer while the
    // backend reads it; what offloads are decided on must be ours), leaving
    // the pad free in front of them.
    uint8_t* hb = slot.header_buf.data() + loans->header_pad();
    const uint32_t copied = std::min<uint32_t>(pkt_len, VIONA_MAX_HDRS_LEN);
    if (!cur.copy(hb, copied)) return drop(ring, chain, loan, pkt_len, true);
    pkt.head.assign(hb, hb + copied);
    first_len = copied;
    info = parse_packet(pkt.head.data(), copied);
    if (copied < pkt_len) {
      if (!info.l2_ok) return drop(ring, chain, loan, pkt_len, true);
      const bool covered = info.l4_ok && info.l2hlen + info.l3hlen + info.l4hlen <= copied;
      if (covered) {
        cur.rest(&pkt.loaned);
      } else {
        // Headers longer than the room: copy everything (viona's second
        // mblk for the remainder) and parse again over the whole frame.
        pkt.head.resize(pkt_len);
        if (!cur.copy(pkt.head.data() + copied, pkt_len - copied)) return drop(ring, chain, loan, pkt_len, true);
        info = parse_packet(pkt.head.data(), pkt_len);
      }
    }
  } else {
    // Copy mode: one buffer of pad + pkt_len, the pad skipped at the front.
    // TxPacket::head excludes the pad, so it is stripped on hand-off.
    const uint16_t pad = link.params.tx_header_pad;
    pkt.head.resize(pad + pkt_len);
    if (!cur.copy(pkt.head.data() + pad, pkt_len)) return drop(ring, chain, nullptr, pkt_len, true);
    pkt.head.erase(pkt.head.begin(), pkt.head.begin() + pad);
    first_len = pkt_len;
    info = parse_packet(pkt.head.data(), pkt_len);
  }

  if (link.tx_hook) {
    const std::vector<uint8_t> flat = pkt.loaned.empty() ? std::vector<uint8_t>() : pkt.flatten();
    const uint8_t* data = pkt.loaned.empty() ? pkt.head.data() : flat.data();
    const int ret = link.tx_hook(data, pkt_len);
    if (ret != 0) {
      ring.guest_error(RsCounter::tx_hookdrop, ProbeKind::tx_hook_drop,
                       static_cast<uint64_t>(static_cast<int64_t>(ret)));
      return drop(ring, chain, loan, pkt_len, false);
    }
  }

  // Newest viona: a failed offload request is an error but the packet
  // still goes out, without offload (2021 dropped it).
  if (link.has(VIRTIO_NET_F_CSUM) && (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0) {
    if (!tx_offloads(link, ring, &pkt, hdr, info, first_len)) ring.vts.vts_errors++;
  }

  if (loan != nullptr) {
    // The used entry waits for Link::tx_release: the pages stay held.
    loan->total_len = chain.total_len;
    loan->holds = std::move(chain.holds);
    ring.xfer_outstanding++;
    pkt.loan = loan;
  } else {
    chain.holds.release_all();
    done(ring, chain.cookie, chain.total_len);
  }
  ring.fire(ProbeKind::pkt_tx, pkt_len);
  sink.transmit(std::move(pkt));
  *sent_len = pkt_len;
  return TxOneResult::sent;
}

bool TxPathImpl::tx_offloads(Link& link, Ring& ring, TxPacket* pkt, const TxNetHdr& h, const PacketInfo& info,
                             uint32_t first_len) {
  auto fail = [&](RsCounter c, ProbeKind p) {
    ring.guest_error(c, p);
    pkt->offload = TxOffload{};
    return false;
  };
  const uint32_t len = pkt->len;
  const uint32_t start = h.csum_start;
  const uint32_t stuff = start + h.csum_offset;  // the checksum field
  if (start >= len || start < info.l2hlen || stuff >= len || stuff + 2 > first_len) {
    return fail(RsCounter::fail_hcksum, ProbeKind::fail_hcksum);
  }
  const bool v4 = info.ethertype == kEtherTypeIpv4;
  const bool v6 = info.ethertype == kEtherTypeIpv6;
  if (!v4 && !v6) return fail(RsCounter::fail_hcksum_proto, ProbeKind::fail_hcksum_proto);

  const OffloadCaps& caps = link.offload_caps();
  const bool tcp_udp = info.l4proto == kProtoTcp || info.l4proto == kProtoUdp;
  uint8_t* f = pkt->head.data();
  TxOffload& o = pkt->offload;
  auto set_partial = [&]() {
    o.csum_partial = true;
    o.start = static_cast<uint16_t>(start - info.l2hlen);
    o.stuff = static_cast<uint16_t>(stuff - info.l2hlen);
    o.end = static_cast<uint16_t>(len - info.l2hlen);
  };

  // A bit test, as viona: any gso_type with the TCPV4 bit asks for LSO.
  if ((h.gso_type & VIRTIO_NET_HDR_GSO_TCPV4) != 0 && v4) {
    if (!link.has(VIRTIO_NET_F_HOST_TSO4)) return fail(RsCounter::tx_gso_fail, ProbeKind::tx_gso_fail);
    if (caps.cksum_full_v4) {
      store_be16(f + stuff, 0);
      o.csum_full = true;
    } else if (caps.cksum_partial) {
      const uint32_t ip = info.l2hlen;
      if (ip + kIpv4MinHeaderLen > pkt->head.size()) return fail(RsCounter::fail_hcksum, ProbeKind::fail_hcksum);
      // LSO hardware expects the pseudo-header sum without the TCP length
      // (it adds each segment's); Linux guests include it, so rewrite.
      const uint16_t ph = csum_fold(csum_partial(f + ip + 12, 8, kProtoTcp));
      store_be16(f + stuff, ph);
      if (caps.cksum_ipv4_hdr) {
        o.ipv4_hdr = true;
        store_be16(f + ip + 10, 0);
      }
      set_partial();
    } else {
      return fail(RsCounter::tx_gso_fail, ProbeKind::tx_gso_fail);
    }
    o.lso = true;
    o.mss = h.gso_size;
    return true;
  }

  if (caps.cksum_partial && tcp_udp) {
    set_partial();
    return true;
  }
  if (v4) {
    if (caps.cksum_full_v4 && tcp_udp) {
      store_be16(f + stuff, 0);
      o.csum_full = true;
      return true;
    }
    return fail(RsCounter::fail_hcksum, ProbeKind::fail_hcksum);
  }
  if (caps.cksum_full_v6 && tcp_udp) {
    o.csum_full = true;
    return true;
  }
  return fail(RsCounter::fail_hcksum6, ProbeKind::fail_hcksum6);
}

TxDrainResult Link::tx_drain(uint16_t ti, TxSink& sink) {
  TxDrainResult res;
  if (ti >= rings_.size() || !is_tx_ring(ti)) return res;
  Ring& r = *rings_[ti];
  if (r.state != VrState::VRS_RUN) return res;

  // The loop's own count is a plain read: rs_ndesc_too_high belongs to the
  // pop (vq_popchain), which would otherwise count it twice per packet.
  auto pending = [&r]() { return static_cast<uint16_t>(r.read_avail_idx() - r.cur_aidx()) != 0; };
  Chain chain;
  uint64_t bytes = 0;
  uint32_t iter = 0;
  r.disable_notify();
  while (pending()) {
    uint32_t pkt_len = 0;
    const TxOneResult one = TxPathImpl::tx_one(*this, r, sink, chain, &pkt_len);
    if (one == TxOneResult::sent) {
      res.sent++;
      bytes += pkt_len;
    } else if (one == TxOneResult::pop_error) {
      // viona spins on a malformed head chain until reset (it never
      // advances past it); we return and let the next kick retry.
      break;
    }
    if (++iter % TX_BURST_THRESH == 0 && (r.state_flags & (VRSF_REQ_STOP | VRSF_REQ_PAUSE)) != 0) {
      res.bailed = true;
      break;
    }
  }
  chain.clear();
  r.fire(ProbeKind::tx, res.sent);
  r.vts.vts_packets += res.sent;
  r.vts.vts_bytes += bytes;

  r.enable_notify();  // includes the full fence before the re-check
  if (has(VIRTIO_F_RING_NOTIFY_ON_EMPTY) && !pending()) (void)r.intr_ring(true);
  // The worker's post-drain check: a pending request ends its loop even
  // when the drain itself finished early.
  if ((r.state_flags & (VRSF_REQ_STOP | VRSF_REQ_PAUSE)) != 0) res.bailed = true;
  return res;
}

void Link::tx_release(TxLoan* loan) {
  assert(loan != nullptr && loan->busy && "tx_release of a loan not in flight");
  Ring& r = *rings_[loan->ring];
  const uint16_t cookie = loan->cookie;
  const uint32_t len = loan->total_len;
  loan->holds.release_all();
  loan->cookie = 0;
  loan->total_len = 0;
  loan->busy = false;
  std::atomic_thread_fence(std::memory_order_release);  // slot reusable only after its state is cleared
  TxPathImpl::done(r, cookie, len);
  assert(r.xfer_outstanding > 0 && "loan released with nothing outstanding");
  r.xfer_outstanding--;
}

}  // namespace viona
