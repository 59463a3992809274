// SPDX-License-Identifier: MIT
// rx.cpp: the RX path (viona_rx.c): steering, hooks, MTU/GRO handling,
// padding, plain and merged receive, and the per-batch interrupt.
//
// Everything here follows viona-behaviour.md section 4 (newest semantics),
// with the historic behaviours behind Link::quirks:
//   illumos-14032             merged RX added the running per-chain total to
//                             the frame total (and seek offset) on every copy;
//   illumos-13783-batch-slot  push-many wrote every element into one slot;
//   pre-OS-6815               short frames were not padded to 60 bytes.
// The byte counts are kept in the same variables viona keeps (|copied| is
// both the running total and the seek offset into the frame), because the
// 14032 quirk is only faithful if the wrong total also moves the seek.
#include "viona/link.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "viona/segment.h"

namespace viona {

namespace {

// The frame as the copy loop sees it: the backend's bytes followed by |pad|
// zero bytes (viona appends a zero mblk; the shared 4-byte one for 56-byte
// frames, a fresh one otherwise).
struct RxSource {
  const uint8_t* data;
  uint32_t len;  // backend bytes
  uint32_t pad;  // zero bytes after them
  uint32_t size() const { return len + pad; }
};

// viona_copy_mblk: copies up to |len| bytes of |s| starting at |seek| into
// |dst|; sets |*end| once the frame is exhausted (a seek at or past the end,
// which only the 14032 quirk produces, copies nothing and ends the frame).
uint32_t copy_frame(const RxSource& s, uint32_t seek, uint8_t* dst, uint32_t len, bool* end) {
  const uint32_t total = s.size();
  if (seek >= total) {
    *end = true;
    return 0;
  }
  const uint32_t n = std::min(len, total - seek);
  uint32_t from_data = 0;
  if (seek < s.len) {
    from_data = std::min(n, s.len - seek);
    std::memcpy(dst, s.data + seek, from_data);
  }
  if (n > from_data) std::memset(dst + from_data, 0, n - from_data);
  *end = (seek + n >= total);
  return n;
}

// Reports a device write into a guest buffer to the listener, if any.
inline void report(const Ring& r, uint16_t cookie, uint64_t off, const uint8_t* p, size_t n) {
  ProbeListener* l = r.listener();
  if (l != nullptr && n != 0) l->on_guest_write(r, cookie, off, p, n);
}

// The checksum/GSO part of the header (section 4.3), as offsets 0..9 of
// struct virtio_net_hdr. Returns false when nothing is to be set, so the
// caller leaves the zeroed header alone (viona writes only what it sets).
bool rx_offload_bits(const Link& l, const RxMeta& m, VirtioNetHdr* h) {
  if (!l.has(VIRTIO_NET_F_GUEST_CSUM)) return false;
  bool any = false;
  if (l.has(VIRTIO_NET_F_GUEST_TSO4) && m.hw_lso) {
    h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h->gso_size = m.lso_mss;
    any = true;
  }
  if (m.cksum_ok) {
    h->flags |= VIRTIO_NET_HDR_F_DATA_VALID;
    any = true;
  }
  return any;
}

// Destination classes of mac_header_info (MAC_ADDRTYPE_*).
enum class DstKind : uint8_t { unicast, multicast, broadcast };

bool is_broadcast(const uint8_t* d) {
  for (int i = 0; i < 6; i++) {
    if (d[i] != 0xff) return false;
  }
  return true;
}

DstKind dst_kind(const uint8_t* frame) {
  if ((frame[0] & 1) == 0) return DstKind::unicast;
  return is_broadcast(frame) ? DstKind::broadcast : DstKind::multicast;
}

// mac_vlan_header_info's success: an Ethernet header, and the 802.1Q tag
// whole when the ethertype says one follows. (The pulled-up retry viona
// makes cannot help here: our frames are already contiguous.)
bool mac_header_ok(const RxFrame& f) {
  if (f.len < kEtherHeaderLen) return false;
  const uint16_t et = static_cast<uint16_t>((f.data[12] << 8) | f.data[13]);
  if (et == 0x8100 && f.len < kEtherHeaderLen + 4) return false;
  return true;
}

// One MAC callback's accounting (viona_rx_common's locals).
struct RxBatch {
  uint32_t accepted = 0;
  uint32_t dropped = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  bool no_space = false;  // ENOSPC seen: the rest of the batch is dropped
};

}  // namespace

// The RX path's internals; a friend of Link for its scratch members.
struct RxPathImpl {
  static RxBatchResult common(Link& l, uint16_t ri, const RxFrame* frames, size_t n, bool mcast);
  static void frame(Link& l, Ring& r, const RxFrame& f, RxBatch& b, bool after_mtu_check);
  static void gro_fallback(Link& l, Ring& r, const RxFrame& f, RxBatch& b);
  static int recv_plain(Link& l, Ring& r, const RxSource& s, const RxMeta& m);
  static int recv_merged(Link& l, Ring& r, const RxSource& s, const RxMeta& m);
  static uint16_t pick_ring(const Link& l, const RxFrame& f);
};

// viona_recv_plain (section 4.3).
int RxPathImpl::recv_plain(Link& l, Ring& r, const RxSource& s, const RxMeta& m) {
  Chain& c = l.rx_first_;
  // No rs_no_space here (viona counts it in the merged path only); errors
  // inside the pop were counted by the ring.
  if (r.pop_chain(c, VTNET_MAXSEGS) != PopResult::ok) return ENOSPC;
  assert(!c.iov.empty() && "a popped chain has at least one piece");
  const uint32_t hdr_len = l.rx_header_len();
  const uint32_t size = s.size();
  const uint16_t cookie = c.cookie;
  uint32_t copied = 0;
  IoVec& v0 = c.iov[0];
  if (v0.len < hdr_len) {
    std::memset(v0.base, 0, v0.len);
    report(r, cookie, 0, v0.base, v0.len);
  } else {
    bool end = false;
    copied = copy_frame(s, 0, v0.base + hdr_len, v0.len - hdr_len, &end);
    report(r, cookie, hdr_len, v0.base + hdr_len, copied);
    uint64_t off = v0.len;
    for (size_t i = 1; i < c.iov.size() && !end; i++) {
      const uint32_t n = copy_frame(s, copied, c.iov[i].base, c.iov[i].len, &end);
      report(r, cookie, off, c.iov[i].base, n);
      copied += n;
      off += c.iov[i].len;
    }
    if (copied != size) {
      // The header is left as the guest had it.
      r.guest_error(RsCounter::too_short, ProbeKind::too_short, cookie, copied, size);
    } else {
      VirtioNetHdr h{};
      if (l.modern()) h.num_buffers = 1;
      (void)rx_offload_bits(l, m, &h);
      std::memcpy(v0.base, &h, hdr_len);
      report(r, cookie, 0, v0.base, hdr_len);
      c.clear();
      r.push_used(cookie, copied + hdr_len);
      return 0;
    }
  }
  // Bad frame: the chain still goes back, with at least a minimum frame's
  // worth of (partly junk) length.
  r.guest_error(RsCounter::bad_rx_frame, ProbeKind::bad_rx_frame, cookie);
  c.clear();
  r.push_used(cookie, std::max(copied, MIN_BUF_SIZE + hdr_len));
  return EINVAL;
}

// viona_recv_merged (section 4.4).
int RxPathImpl::recv_merged(Link& l, Ring& r, const RxSource& s, const RxMeta& m) {
  Chain& first = l.rx_first_;
  if (r.pop_chain(first, VTNET_MAXSEGS) != PopResult::ok) {
    r.guest_error(RsCounter::no_space, ProbeKind::no_space);
    return ENOSPC;
  }
  assert(!first.iov.empty() && "a popped chain has at least one piece");
  const bool bug_14032 = l.quirks.has(QuirkKind::illumos_14032);
  const uint32_t size = s.size();
  VringUsedElem uelem[VTNET_MAXSEGS];
  uint16_t cookie = first.cookie;  // viona's |cookie|: the last chain popped
  uint32_t buf_idx = 0;
  uint32_t copied = 0;  // frame bytes copied so far, and the seek offset
  int err = 0;
  IoVec& v0 = first.iov[0];
  if (v0.len < kNetHdrMrgLen) {
    std::memset(v0.base, 0, v0.len);
    report(r, cookie, 0, v0.base, v0.len);
    uelem[0] = VringUsedElem{cookie, v0.len};
    err = EINVAL;
  } else {
    uint8_t* const hdrp = v0.base;
    VirtioNetHdr h{};
    h.num_buffers = 1;
    std::memcpy(hdrp, &h, kNetHdrMrgLen);
    report(r, first.cookie, 0, hdrp, kNetHdrMrgLen);

    Chain* cur = &first;
    uint32_t chunk = 0;  // frame bytes placed in the current chain
    bool end = false;
    size_t i = 1;
    uint64_t off = v0.len;  // offset of cur->iov[i] within its chain
    if (v0.len > kNetHdrMrgLen) {
      const uint32_t n = copy_frame(s, copied, v0.base + kNetHdrMrgLen, v0.len - kNetHdrMrgLen, &end);
      report(r, cookie, kNetHdrMrgLen, v0.base + kNetHdrMrgLen, n);
      chunk += n;
      copied += bug_14032 ? chunk : n;  // chunk == n here: the bug is silent on a chain's first copy
    }
    do {
      while (i < cur->iov.size() && !end) {
        IoVec& v = cur->iov[i];
        const uint32_t n = copy_frame(s, copied, v.base, v.len, &end);
        report(r, cookie, off, v.base, n);
        chunk += n;
        // illumos 14032: the cumulative chunk, not this copy, was added.
        copied += bug_14032 ? chunk : n;
        off += v.len;
        i++;
      }
      uelem[buf_idx] = VringUsedElem{cookie, chunk};
      if (!end) {
        if (buf_idx == VTNET_MAXSEGS - 1) {
          err = EOVERFLOW;
          break;
        }
        // Popping into rx_cur_ releases the previous non-first chain's holds.
        if (r.pop_chain(l.rx_cur_, VTNET_MAXSEGS) != PopResult::ok) {
          err = EMSGSIZE;
          break;
        }
        cur = &l.rx_cur_;
        cookie = cur->cookie;
        chunk = 0;
        i = 0;
        off = 0;
        buf_idx++;
        // viona leaves this element unset until the chain's copies are done;
        // with the 14032 quirk the loop can end first (copied >= size before
        // the frame is exhausted) and viona would push stack garbage. We
        // push the chain with length 0 instead, deterministically.
        uelem[buf_idx] = VringUsedElem{cookie, 0};
        h.num_buffers = static_cast<uint16_t>(buf_idx + 1);
        std::memcpy(hdrp + kNetHdrLen, &h.num_buffers, sizeof(h.num_buffers));
        report(r, first.cookie, kNetHdrLen, hdrp + kNetHdrLen, sizeof(h.num_buffers));
      }
    } while (!end && copied < size);

    uelem[0].len += kNetHdrMrgLen;  // the header counts in chain 0 only
    if (err == 0 && copied != size) {
      r.guest_error(RsCounter::too_short, ProbeKind::too_short, cookie, copied, size);
      err = EINVAL;
    }
    // Applied even when an error was recorded above, as viona does.
    if (rx_offload_bits(l, m, &h)) {
      std::memcpy(hdrp, &h, kNetHdrLen);
      report(r, first.cookie, 0, hdrp, kNetHdrLen);
    }
  }

  switch (err) {
    case 0:
      break;
    case EMSGSIZE:
      r.guest_error(RsCounter::rx_merge_underrun, ProbeKind::rx_merge_underrun, cookie);
      break;
    case EOVERFLOW:
      r.guest_error(RsCounter::rx_merge_overrun, ProbeKind::rx_merge_overrun, cookie);
      break;
    default:
      r.guest_error(RsCounter::bad_rx_frame, ProbeKind::bad_rx_frame, cookie);
      break;
  }
  first.clear();
  l.rx_cur_.clear();
  // Every consumed chain goes back, partial ones included, in one publish.
  r.push_used_many(uelem, buf_idx + 1, l.quirks.has(QuirkKind::illumos_13783_batch_slot));
  return err;
}

// Software segmentation of an LSO frame the guest cannot take (mac_hw_emul).
void RxPathImpl::gro_fallback(Link& l, Ring& r, const RxFrame& f, RxBatch& b) {
  std::vector<std::vector<uint8_t>>& segs = l.rx_segs_;
  segs.clear();
  if (!tso_segment(f.data, f.len, f.meta.lso_mss, &segs) || segs.empty()) {
    // The frame is consumed: an error, but not a drop.
    r.guest_error(RsCounter::rx_gro_fallback_fail, ProbeKind::rx_gro_fallback_fail, f.len);
    b.errors++;
    return;
  }
  r.guest_error(RsCounter::rx_gro_fallback, ProbeKind::rx_gro_fallback, f.len, segs.size());
  // The segments are spliced into the work list: the first continues where
  // the large frame left off (after the hook and MTU check), the rest go
  // round the loop from the top. mac_sw_cksum marks the checksums it
  // computed as verified (HCK_FULLCKSUM_OK), so they reach the guest as
  // DATA_VALID under GUEST_CSUM.
  for (size_t k = 0; k < segs.size(); k++) {
    RxFrame sf;
    sf.data = segs[k].data();
    sf.len = static_cast<uint32_t>(segs[k].size());
    sf.meta.cksum_ok = true;
    frame(l, r, sf, b, k == 0);
  }
}

// One pass of viona_rx_common's loop (section 4.2).
void RxPathImpl::frame(Link& l, Ring& r, const RxFrame& f, RxBatch& b, bool after_mtu_check) {
  if (b.no_space) {
    b.dropped++;
    return;
  }
  if (!after_mtu_check) {
    if (l.rx_hook) {
      const int ret = l.rx_hook(f.data, f.len);
      if (ret != 0) {
        r.guest_error(RsCounter::rx_hookdrop, ProbeKind::rx_hook_drop, static_cast<uint64_t>(static_cast<int64_t>(ret)));
        b.dropped++;
        return;
      }
    }
    if (f.len > kEtherHeaderLen + l.mtu) {
      const bool needs_emul = !l.has(VIRTIO_NET_F_GUEST_TSO4) || f.len > VIONA_GRO_MAX_PACKET_SIZE;
      if (!f.meta.hw_lso || (needs_emul && f.meta.lso_mss == 0)) {
        r.guest_error(RsCounter::rx_drop_over_mtu, ProbeKind::rx_drop_over_mtu, f.len);
        b.dropped++;  // E2BIG: drop and error
        b.errors++;
        return;
      }
      if (needs_emul) {
        gro_fallback(l, r, f, b);
        return;
      }
      // Otherwise the guest takes the large frame whole (GSO in the header).
    }
  }
  uint32_t pad = 0;
  if (!l.quirks.has(QuirkKind::pre_os_6815)) {
    if (f.len == NEED_VLAN_PAD_SIZE) {
      pad = MIN_BUF_SIZE - NEED_VLAN_PAD_SIZE;  // the shared pad: no counter
    } else if (f.len < MIN_BUF_SIZE) {
      pad = MIN_BUF_SIZE - f.len;
      r.guest_error(RsCounter::rx_pad_short, ProbeKind::rx_pad_short, pad);
    }
  }
  const RxSource s{f.data, f.len, pad};
  const int err = l.has(VIRTIO_NET_F_MRG_RXBUF) ? recv_merged(l, r, s, f.meta) : recv_plain(l, r, s, f.meta);
  if (err == 0) {
    b.accepted++;
    b.bytes += s.size();
    r.fire(ProbeKind::pkt_rx, s.size());
  } else if (err == ENOSPC) {
    b.no_space = true;  // this frame and every later one: drops, not errors
    b.dropped++;
  } else {
    b.dropped++;
    b.errors++;
  }
}

// viona_rx_classified / viona_rx_mcast -> viona_rx_common.
RxBatchResult RxPathImpl::common(Link& l, uint16_t ri, const RxFrame* frames, size_t n, bool mcast) {
  // A TX or missing ring index delivers nothing (the replayer may pass
  // one read from a trace; it must not abort the process).
  if (ri >= l.nrings() || Link::is_tx_ring(ri) || n == 0) return RxBatchResult{};
  Ring& r = l.ring(ri);
  // Not running, or the lease is being renewed: freed, counted nowhere.
  if (r.state != VrState::VRS_RUN || (r.state_flags & VRSF_RENEW) != 0) return RxBatchResult{};
  if (mcast) {
    // viona filters the whole chain first, then hands the multicast-only
    // remainder to rx_common (and nothing at all when none remain).
    size_t pass = 0;
    for (size_t k = 0; k < n; k++) {
      if (!mac_header_ok(frames[k])) {
        r.guest_error(RsCounter::rx_mcast_check, ProbeKind::rx_mcast_check);
      } else if (dst_kind(frames[k].data) == DstKind::multicast) {
        pass++;
      }
    }
    if (pass == 0) return RxBatchResult{};
  }
  RxBatch b;
  for (size_t k = 0; k < n; k++) {
    if (mcast && (!mac_header_ok(frames[k]) || dst_kind(frames[k].data) != DstKind::multicast)) continue;
    if (r.listener() != nullptr) r.listener()->on_rx_frame(r, frames[k].data);
    frame(l, r, frames[k], b, false);
  }
  // One interrupt decision per batch, after a full fence (membar_enter),
  // even if every frame was dropped.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  (void)r.intr_ring(false);
  r.vts.vts_drops += b.dropped;
  r.vts.vts_errors += b.errors;
  r.vts.vts_packets += b.accepted;
  r.vts.vts_bytes += b.bytes;
  r.fire(ProbeKind::rx, b.accepted, b.dropped);
  return RxBatchResult{b.accepted, b.dropped};
}

// The ring a MAC callback lands on: ring 0 unless several pairs are in use,
// else a hash of the first frame's L3/L4 addressing truncated to 8 bits,
// modulo usepairs. The hash is ours (deterministic, stable across hosts),
// not mac_pkt_hash's exact function: only the spreading matters.
uint16_t RxPathImpl::pick_ring(const Link& l, const RxFrame& f) {
  const uint16_t pairs = std::min(l.usepairs, l.npairs());
  if (pairs <= 1) return 0;
  uint32_t h = 0;
  size_t l3 = kEtherHeaderLen;
  uint16_t et = f.len >= kEtherHeaderLen ? static_cast<uint16_t>((f.data[12] << 8) | f.data[13]) : 0;
  if (et == 0x8100 && f.len >= kEtherHeaderLen + 4) {
    et = static_cast<uint16_t>((f.data[16] << 8) | f.data[17]);
    l3 += 4;
  }
  if (et == 0x0800 && f.len >= l3 + 20) {
    const uint8_t* ip = f.data + l3;
    const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    for (int k = 12; k < 20; k++) h = h * 31 + ip[k];
    if ((ip[9] == 6 || ip[9] == 17) && ihl >= 20 && f.len >= l3 + ihl + 4) {
      for (size_t k = 0; k < 4; k++) h = h * 31 + ip[ihl + k];
    }
  } else {
    for (size_t k = 0; k < 12 && k < f.len; k++) h = h * 31 + f.data[k];
  }
  const uint8_t h8 = static_cast<uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
  return static_cast<uint16_t>(2 * (h8 % pairs));
}

RxBatchResult Link::rx_deliver(uint16_t ri, const RxFrame* frames, size_t n) {
  return RxPathImpl::common(*this, ri, frames, n, false);
}

RxBatchResult Link::rx_deliver_mcast(uint16_t ri, const RxFrame* frames, size_t n) {
  return RxPathImpl::common(*this, ri, frames, n, true);
}

RxBatchResult Link::rx_input(const RxFrame* frames, size_t n) {
  RxBatchResult total;
  auto deliver = [&](bool mcast) {
    if (rx_sub_.empty()) return;
    const uint16_t ri = RxPathImpl::pick_ring(*this, rx_sub_[0]);
    const RxBatchResult got = mcast ? rx_deliver_mcast(ri, rx_sub_.data(), rx_sub_.size())
                                    : rx_deliver(ri, rx_sub_.data(), rx_sub_.size());
    total.accepted += got.accepted;
    total.dropped += got.dropped;
  };
  if (promisc == PromiscMode::VIONA_PROMISC_ALL) {
    // The promisc-ALL callback points at the classified handler: everything.
    rx_sub_.assign(frames, frames + n);
    deliver(false);
    return total;
  }
  if (promisc == PromiscMode::VIONA_PROMISC_MULTI) {
    // MAC's promisc-MULTI callback sees group-addressed frames (multicast
    // and broadcast); viona keeps the multicast ones. Dispatched before the
    // classified delivery of the same batch.
    rx_sub_.clear();
    for (size_t k = 0; k < n; k++) {
      if (frames[k].len >= kEtherHeaderLen && (frames[k].data[0] & 1) != 0) rx_sub_.push_back(frames[k]);
    }
    deliver(true);
  }
  // Classified traffic: our unicast address and broadcast. viona joins no
  // multicast groups, so multicast arrives only through the callback above.
  rx_sub_.clear();
  for (size_t k = 0; k < n; k++) {
    const RxFrame& f = frames[k];
    if (f.len < kEtherHeaderLen) continue;
    if (is_broadcast(f.data) || std::memcmp(f.data, mac.data(), 6) == 0) rx_sub_.push_back(f);
  }
  deliver(false);
  return total;
}

}  // namespace viona
