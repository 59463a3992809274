// SPDX-License-Identifier: MIT
// rx.cpp: libFuzzer target for Link::rx_deliver (plain and mergeable buffers) into a malicious guest's RX queue.
//
// Invariants checked, for every batch of random frames:
//  * the device writes guest memory only inside the pieces of chains it
//    popped in this batch and inside the used ring (byte-exact comparison
//    of all guest memory before and after);
//  * every popped chain is returned exactly once, in pop order, as a used
//    entry with its head id; used.idx moves by the number of entries;
//    a merged-RX entry's length never exceeds its chain, a plain one never
//    exceeds max(chain length, 60 + header) (the bad-frame rule);
//  * accepted + dropped == offered frames, adjusted by the GRO fallback
//    (a frame segmented in software becomes nsegs frames; a failed
//    segmentation is consumed with an error only);
//  * vts_packets and vts_drops move by exactly accepted and dropped;
//  * no page hold outlives the call.
#include <cstdint>
#include <vector>

#include "fuzz/malicious_guest.h"
#include "viona/link.h"
#include "viona/probes.h"
#include "viona/ring.h"

namespace viona_fuzz {
namespace {

struct Piece {
  uint64_t gpa;
  uint32_t len;
};

// What the device did during one rx_deliver.
struct RxWatch : viona::ProbeListener {
  struct PoppedChain {
    uint16_t cookie;
    uint32_t total;
    std::vector<Piece> pieces;
  };
  std::vector<PoppedChain> chains;
  std::vector<viona::VringUsedElem> used;
  int64_t gro_extra = 0;  // nsegs - 1 per fallback, -1 per failed fallback

  void reset() {
    chains.clear();
    used.clear();
    gro_extra = 0;
  }
  void on_chain(const viona::Ring& r, const viona::Chain& c) override {
    PoppedChain p{c.cookie, c.total_len, {}};
    for (size_t k = 0; k < c.iov.size(); k++) p.pieces.push_back(Piece{c.piece_gpa[k], c.iov[k].len});
    chains.push_back(std::move(p));
  }
  void on_used(const viona::Ring& r, uint16_t slot, uint32_t id, uint32_t len) override {
    used.push_back(viona::VringUsedElem{id, len});
  }
  void on_probe(const viona::ProbeEvent& ev) override {
    if (ev.kind == viona::ProbeKind::rx_gro_fallback) gro_extra += static_cast<int64_t>(ev.arg[1]) - 1;
    if (ev.kind == viona::ProbeKind::rx_gro_fallback_fail) gro_extra -= 1;
  }
};

void allow(std::vector<bool>* ok, uint64_t gpa, uint64_t len) {
  for (uint64_t k = 0; k < len; k++) {
    const int64_t i = MaliciousGuest::snap_index(gpa + k);
    if (i >= 0) (*ok)[i] = true;
  }
}

}  // namespace
}  // namespace viona_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace viona_fuzz;
  FuzzedDataProvider fdp(data, size);
  uint64_t want = 0;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_MRG_RXBUF;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_F_VERSION_1;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_GUEST_CSUM;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_GUEST_TSO4;
  // A non-modern link needs page-aligned parts: only a modern one gets the
  // free placement (and set_state's initial indices).
  const bool modern_place = (want & viona::VIRTIO_F_VERSION_1) != 0 && fdp.ConsumeBool();
  MaliciousGuest g(fdp, modern_place);
  viona::Link link(&g.mem);
  link.set_features(want);
  const uint32_t mtus[] = {viona::VIONA_DEFAULT_MTU, viona::VIONA_MIN_MTU, 9000, viona::VIONA_MAX_MTU};
  link.mtu = mtus[fdp.ConsumeIntegralInRange<int>(0, 3)];
  RxWatch watch;
  link.set_listener(&watch);
  const uint64_t holds0 = g.mem.holds_outstanding();
  const int err = g.map_ring(link, 0);
  FUZZ_CHECK(err == 0);
  FUZZ_CHECK(link.ring_kick(0) == 0);
  viona::Ring& ring = link.ring(0);
  const uint64_t base_holds = g.mem.holds_outstanding();
  const bool merged = link.has(viona::VIRTIO_NET_F_MRG_RXBUF);
  const uint32_t hdr = link.rx_header_len();

  for (int batch = 0; batch < 8 && fdp.remaining_bytes() > 0; batch++) {
    const size_t n = fdp.ConsumeIntegralInRange<size_t>(1, 6);
    std::vector<std::vector<uint8_t>> bytes(n);
    std::vector<viona::RxFrame> frames(n);
    for (size_t k = 0; k < n; k++) {
      uint32_t len;
      switch (fdp.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: len = fdp.ConsumeIntegralInRange<uint32_t>(0, 70); break;
        case 1: len = fdp.ConsumeIntegralInRange<uint32_t>(0, 1600); break;
        case 2: len = fdp.ConsumeIntegralInRange<uint32_t>(0, 10000); break;
        case 3: len = fdp.ConsumeIntegralInRange<uint32_t>(60000, 70000); break;
        default: len = fdp.ConsumeIntegralInRange<uint32_t>(0, 200); break;
      }
      // The first bytes (headers the GRO fallback parses) come from the
      // input; the rest is a pattern.
      bytes[k] = fdp.ConsumeBytes<uint8_t>(len < 128 ? len : 128);
      bytes[k].resize(len);
      for (uint32_t i = 128; i < len; i++) bytes[k][i] = static_cast<uint8_t>(i * 7 + k);
      frames[k].data = bytes[k].data();
      frames[k].len = len;
      frames[k].meta.cksum_ok = fdp.ConsumeBool();
      frames[k].meta.hw_lso = fdp.ConsumeBool();
      frames[k].meta.lso_mss = fdp.ConsumeBool() ? fdp.ConsumeIntegral<uint16_t>() : 1448;
    }
    const std::vector<uint8_t> before = g.snapshot();
    const viona::TransferStats vts0 = ring.vts;
    const uint16_t used0 = ring.cur_uidx();
    watch.reset();
    const viona::RxBatchResult res = link.rx_deliver(0, frames.data(), n);

    FUZZ_CHECK(static_cast<int64_t>(res.accepted) + res.dropped == static_cast<int64_t>(n) + watch.gro_extra);
    FUZZ_CHECK(ring.vts.vts_packets - vts0.vts_packets == res.accepted);
    FUZZ_CHECK(ring.vts.vts_drops - vts0.vts_drops == res.dropped);
    FUZZ_CHECK(g.mem.holds_outstanding() == base_holds);
    // Every popped chain comes back once, in order, with its id.
    FUZZ_CHECK(watch.used.size() == watch.chains.size());
    FUZZ_CHECK(static_cast<uint16_t>(ring.cur_uidx() - used0) == watch.used.size());
    std::vector<bool> ok(before.size(), false);
    allow(&ok, g.used_pa, g.used_bytes());
    for (size_t k = 0; k < watch.chains.size(); k++) {
      const RxWatch::PoppedChain& c = watch.chains[k];
      FUZZ_CHECK(watch.used[k].id == c.cookie);
      const uint32_t bad_frame_len = viona::MIN_BUF_SIZE + hdr;
      if (merged) {
        FUZZ_CHECK(watch.used[k].len <= c.total);
      } else {
        FUZZ_CHECK(watch.used[k].len <= (c.total > bad_frame_len ? c.total : bad_frame_len));
      }
      for (const Piece& p : c.pieces) allow(&ok, p.gpa, p.len);
    }
    const std::vector<uint8_t> after = g.snapshot();
    for (size_t i = 0; i < after.size(); i++) {
      if (after[i] != before[i] && !ok[i]) {
        std::fprintf(stderr, "rx: device wrote gpa %#llx outside its chains and the used ring\n",
                     static_cast<unsigned long long>(MaliciousGuest::snap_gpa(i)));
        FUZZ_CHECK(false);
      }
    }
    if (fdp.ConsumeBool()) g.act();
  }
  FUZZ_CHECK(link.ring_reset(0) == 0);
  FUZZ_CHECK(g.mem.holds_outstanding() == holds0);
  return 0;
}
