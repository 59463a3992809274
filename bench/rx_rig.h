// SPDX-License-Identifier: MIT
// rx_rig.h: a link with RX ring 0 running over linux-mrg-like buffers, and
// the memcpy baseline that writes the same bytes into the same layout.
#ifndef BENCH_RX_RIG_H_
#define BENCH_RX_RIG_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_queue.h"
#include "bench/host_pages.h"
#include "viona/guest_memory.h"
#include "viona/link.h"

namespace viona_bench {

// linux-mrg's RX layout (bhyve_glue linux_mrg()): 1536-byte buffers carved
// 21 to a 32 KiB block, so every few buffers straddle a 4 KiB page and
// become two pieces in paged mode. One descriptor per chain.
constexpr uint16_t kRxQsz = 256;
constexpr uint32_t kRxBuf = 1536;
constexpr uint32_t kRxBlock = 32768;
constexpr uint32_t kRxPerBlock = kRxBlock / kRxBuf;  // 21
constexpr uint32_t kRxBatch = 32;                    // frames per rx_deliver call
// Offset of buffer |k| from the start of the buffer area.
constexpr uint64_t rx_buf_offset(uint32_t k) {
  return uint64_t(k / kRxPerBlock) * kRxBlock + uint64_t(k % kRxPerBlock) * kRxBuf;
}
constexpr uint64_t kRxAreaSize = rx_buf_offset(kRxQsz - 1) + kRxBuf;

// MRG_RXBUF + GUEST_CSUM and linux-mrg's base features, legacy (12-byte header).
uint64_t rx_bench_features();

// A batch of kRxBatch distinct frames of one length, owned here.
struct RxFrames {
  explicit RxFrames(uint32_t len, const std::array<uint8_t, 6>& dst);
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<viona::RxFrame> frames;
  uint32_t len;
};

class RxRig {
 public:
  RxRig(viona::MemoryMode mode, uint32_t frame_len);

  viona::GuestMemory& mem() { return mem_; }
  viona::Link& link() { return link_; }
  const RxFrames& frames() const { return frames_; }
  uint32_t bufs_per_frame() const { return bufs_per_frame_; }

  // One rx_deliver of the batch, then the guest's reclaim (read used.idx,
  // re-post that many buffers). Returns the device's result.
  viona::RxBatchResult step() {
    const viona::RxBatchResult r = link_.rx_deliver(0, frames_.frames.data(), frames_.frames.size());
    reclaim();
    return r;
  }
  void reclaim() {
    const uint16_t u = q_.used_idx();
    q_.post(static_cast<uint16_t>(u - used_seen_));
    used_seen_ = u;
  }
  // |batches| steps, timed.
  double run(uint64_t batches);

  // One step checked to the byte count: every frame accepted, nothing
  // dropped, no error counter, the expected used entries (ids in order,
  // lengths summing to header + frame). "" when fine, else what is wrong.
  std::string verify();

 private:
  viona::GuestMemory mem_;
  viona::Link link_;
  BenchQueue q_;
  RxFrames frames_;
  uint32_t bufs_per_frame_;
  uint16_t used_seen_ = 0;
};

// The baseline: the same header + frame bytes memcpy'd into the same
// buffer offsets over separately allocated host pages, split where the
// device splits them (4 KiB boundaries and 1536-byte buffer ends).
class RxCopyBaseline {
 public:
  explicit RxCopyBaseline(const RxFrames& frames);
  double run(uint64_t batches);

 private:
  const RxFrames& frames_;
  HostPages pages_;
  uint32_t next_buf_ = 0;
};

}  // namespace viona_bench

#endif  // BENCH_RX_RIG_H_
