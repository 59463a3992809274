// SPDX-License-Identifier: MIT
// rx_rig.cpp: RX ring set-up, the reclaim loop, its check, and the memcpy baseline.
#include "bench/rx_rig.h"

#include <algorithm>

#include "bench/bench_clock.h"
#include "bench/bench_frames.h"

namespace viona_bench {

using namespace viona;

namespace {
constexpr uint64_t kRingBase = 0x100000;
constexpr uint64_t kAreaBase = kRingBase + 0x8000;  // 32 KiB aligned, past the 12 KiB ring
constexpr uint64_t kRegionSize = 1 << 20;
static_assert(kAreaBase + kRxAreaSize <= kRingBase + kRegionSize, "buffers fit the region");

// The region must exist before the queue writes its ring into it.
GuestMemory& with_region(GuestMemory& m) {
  (void)m.add_region(kRingBase, kRegionSize);
  return m;
}
}  // namespace

uint64_t rx_bench_features() {
  return VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU | VIRTIO_F_RING_INDIRECT_DESC |
         VIRTIO_F_RING_NOTIFY_ON_EMPTY | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4;
}

RxFrames::RxFrames(uint32_t l, const std::array<uint8_t, 6>& dst) : len(l) {
  for (uint32_t i = 0; i < kRxBatch; i++) bytes.push_back(udp_frame(l, dst, i));
  for (const auto& b : bytes) {
    RxFrame f;
    f.data = b.data();
    f.len = static_cast<uint32_t>(b.size());
    f.meta.cksum_ok = true;  // the NIC verified it: DATA_VALID, no software checksum
    frames.push_back(f);
  }
}

RxRig::RxRig(MemoryMode mode, uint32_t frame_len)
    : mem_(mode), link_(&mem_), q_(with_region(mem_), kRingBase, kRxQsz),
      frames_(frame_len, link_.mac) {
  link_.set_features(rx_bench_features());
  link_.mtu = 9000;  // jumbo frames are in MTU, not dropped (rs_rx_drop_over_mtu)
  const uint32_t hdr = link_.rx_header_len();
  bufs_per_frame_ = (hdr + frame_len + kRxBuf - 1) / kRxBuf;
  for (uint16_t k = 0; k < kRxQsz; k++) {
    q_.set_desc(k, kAreaBase + rx_buf_offset(k), kRxBuf, VRING_DESC_F_WRITE);
  }
  q_.fill_avail(kRxQsz, 1);
  q_.post(kRxQsz);
  (void)link_.ring_init(0, kRxQsz, kRingBase);
  (void)link_.ring_kick(0);
  // Touch every buffer page once so that first-touch allocation is not timed.
  const std::vector<uint8_t> zero(kRxAreaSize, 0);
  (void)mem_.write(kAreaBase, zero.data(), zero.size());
}

double RxRig::run(uint64_t batches) {
  const double t0 = now_seconds();
  for (uint64_t i = 0; i < batches; i++) (void)step();
  return now_seconds() - t0;
}

std::string RxRig::verify() {
  if (link_.ring(0).state != VrState::VRS_RUN) return "RX ring 0 is not running";
  const RingStats rs0 = link_.ring(0).rs;
  const uint16_t before = used_seen_;
  const RxBatchResult r = link_.rx_deliver(0, frames_.frames.data(), frames_.frames.size());
  const uint16_t after = q_.used_idx();
  std::string err;
  if (r.accepted != kRxBatch || r.dropped != 0) {
    err = "accepted " + std::to_string(r.accepted) + " dropped " + std::to_string(r.dropped);
  } else if (!(link_.ring(0).rs == rs0)) {
    err = "an rs_* error counter moved";
  } else if (static_cast<uint16_t>(after - before) != kRxBatch * bufs_per_frame_) {
    err = "used entries " + std::to_string(static_cast<uint16_t>(after - before)) + ", expected " +
          std::to_string(kRxBatch * bufs_per_frame_);
  } else {
    uint64_t total = 0;
    for (uint16_t s = before; s != after; s++) {
      const VringUsedElem e = q_.used_elem(s);
      if (e.id != s % kRxQsz) err = "used id out of order at slot " + std::to_string(s);
      total += e.len;
    }
    const uint64_t want = uint64_t(kRxBatch) * (link_.rx_header_len() + frames_.len);
    if (err.empty() && total != want) {
      err = "used lengths sum to " + std::to_string(total) + ", expected " + std::to_string(want);
    }
  }
  reclaim();
  return err;
}

RxCopyBaseline::RxCopyBaseline(const RxFrames& frames) : frames_(frames), pages_(kRxAreaSize) {}

double RxCopyBaseline::run(uint64_t batches) {
  const uint8_t hdr[kNetHdrMrgLen] = {VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  const double t0 = now_seconds();
  for (uint64_t i = 0; i < batches; i++) {
    for (const RxFrame& f : frames_.frames) {
      // Header then frame, buffer by buffer; a new frame starts a new buffer.
      uint64_t off = rx_buf_offset(next_buf_);
      pages_.copy_in(off, hdr, sizeof hdr);
      uint32_t room = kRxBuf - sizeof hdr;
      off += sizeof hdr;
      const uint8_t* p = f.data;
      uint32_t left = f.len;
      for (;;) {
        const uint32_t n = std::min(left, room);
        pages_.copy_in(off, p, n);
        p += n;
        left -= n;
        next_buf_ = (next_buf_ + 1) % kRxQsz;
        if (left == 0) break;
        off = rx_buf_offset(next_buf_);
        room = kRxBuf;
      }
    }
  }
  return now_seconds() - t0;
}

}  // namespace viona_bench
