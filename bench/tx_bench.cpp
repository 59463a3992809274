// SPDX-License-Identifier: MIT
// tx_bench.cpp: the TX drain in copy and loan mode against memcpy.
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_clock.h"
#include "bench/bench_frames.h"
#include "bench/bench_queue.h"
#include "bench/bench_suite.h"
#include "bench/host_pages.h"
#include "bench/rx_rig.h"
#include "viona/link.h"
#include "viona/tx_loans.h"

namespace viona_bench {

using namespace viona;

namespace {

constexpr uint16_t kTxRing = 1;
constexpr uint16_t kTxQsz = 256;
constexpr uint16_t kTxChains = kTxQsz / 2;  // header descriptor + data descriptor each
constexpr uint64_t kTxSlot = 16384;         // guest bytes per packet slot (9000 + header spans 3 pages)
constexpr uint64_t kRingBase = 0x100000;
constexpr uint64_t kSlotBase = kRingBase + 0x8000;
constexpr uint64_t kRegionSize = 4 << 20;
static_assert(kSlotBase + kTxChains * kTxSlot <= kRingBase + kRegionSize, "slots fit the region");

GuestMemory& with_region(GuestMemory& m) {
  (void)m.add_region(kRingBase, kRegionSize);
  return m;
}

// mac_tx that drops: copy-mode packets die here; loans are kept so the
// caller can release them after the drain, as a NIC's completion would.
class DropSink : public TxSink {
 public:
  void transmit(TxPacket&& pkt) override {
    if (pkt.loan != nullptr) loans.push_back(pkt.loan);
  }
  std::vector<TxLoan*> loans;
};

// A link with TX ring 1 running and kTxChains packets of one length posted,
// each as a 12-byte virtio header descriptor then the frame, Linux-style
// (header right before the frame in the same slot).
class TxRig {
 public:
  TxRig(MemoryMode mode, uint32_t frame_len, bool copy)
      : mem_(mode), link_(&mem_), q_(with_region(mem_), kRingBase, kTxQsz), len_(frame_len) {
    link_.set_features(rx_bench_features());
    link_.mtu = 9000;
    link_.params.tx_copy_data = copy;
    hdr_ = link_.tx_header_len();
    const std::vector<uint8_t> zero(kTxChains * kTxSlot, 0);
    (void)mem_.write(kSlotBase, zero.data(), zero.size());
    for (uint16_t c = 0; c < kTxChains; c++) {
      const uint64_t at = kSlotBase + c * kTxSlot;
      const std::vector<uint8_t> f = udp_frame(frame_len, link_.mac, c);
      (void)mem_.write(at + hdr_, f.data(), f.size());
      q_.set_desc(static_cast<uint16_t>(2 * c), at, hdr_, VRING_DESC_F_NEXT, static_cast<uint16_t>(2 * c + 1));
      q_.set_desc(static_cast<uint16_t>(2 * c + 1), at + hdr_, frame_len, 0);
    }
    q_.fill_avail(kTxChains, 2);
    q_.post(kTxChains);
    (void)link_.ring_init(kTxRing, kTxQsz, kRingBase);
    (void)link_.ring_kick(kTxRing);
  }

  TxDrainResult step() {
    const TxDrainResult r = link_.tx_drain(kTxRing, sink_);
    for (TxLoan* l : sink_.loans) link_.tx_release(l);
    sink_.loans.clear();
    const uint16_t u = q_.used_idx();
    q_.post(static_cast<uint16_t>(u - used_seen_));
    used_seen_ = u;
    return r;
  }
  double run(uint64_t drains) {
    const double t0 = now_seconds();
    for (uint64_t i = 0; i < drains; i++) (void)step();
    return now_seconds() - t0;
  }
  std::string verify() {
    if (link_.ring(kTxRing).state != VrState::VRS_RUN) return "TX ring is not running";
    const RingStats rs0 = link_.ring(kTxRing).rs;
    const uint16_t before = used_seen_;
    const TxDrainResult r = step();
    if (r.sent != kTxChains || r.bailed) return "sent " + std::to_string(r.sent) + " of " + std::to_string(kTxChains);
    if (!(link_.ring(kTxRing).rs == rs0)) return "an rs_* error counter moved";
    if (static_cast<uint16_t>(used_seen_ - before) != kTxChains) return "used entries do not match the drain";
    for (uint16_t s = before; s != used_seen_; s++) {
      const VringUsedElem e = q_.used_elem(s);
      if (e.id != 2u * (s % kTxChains) || e.len != hdr_ + len_) {
        return "used slot " + std::to_string(s) + ": id " + std::to_string(e.id) + " len " + std::to_string(e.len);
      }
    }
    return "";
  }
  uint32_t header_len() const { return hdr_; }

 private:
  GuestMemory mem_;
  Link link_;
  BenchQueue q_;
  DropSink sink_;
  uint32_t len_;
  uint32_t hdr_ = 0;
  uint16_t used_seen_ = 0;
};

// memcpy of the same header + frame bytes out of the same slot offsets over
// separate 4 KiB host pages into one host buffer (the packet viona builds).
class TxCopyBaseline {
 public:
  TxCopyBaseline(uint32_t frame_len, uint32_t hdr)
      : pages_(kTxChains * kTxSlot), len_(frame_len), hdr_(hdr), dst_(65536 + 64) {}
  double run(uint64_t drains) {
    const double t0 = now_seconds();
    for (uint64_t i = 0; i < drains; i++) {
      for (uint32_t c = 0; c < kTxChains; c++) {
        pages_.copy_out(c * kTxSlot, dst_.data(), hdr_);
        pages_.copy_out(c * kTxSlot + hdr_, dst_.data() + 64, len_);
      }
    }
    return now_seconds() - t0;
  }

 private:
  HostPages pages_;
  uint32_t len_, hdr_;
  std::vector<uint8_t> dst_;
};

}  // namespace

void tx_benches(const BenchOptions& o, Report& rep) {
  for (const uint32_t len : {1514u, 9000u}) {
    const std::string sz = std::to_string(len);
    if (!o.selected("tx_" + sz)) continue;
    TxRig copy(MemoryMode::paged, len, true);
    std::unique_ptr<TxRig> loan;
    if (len == 9000) loan = std::make_unique<TxRig>(MemoryMode::paged, len, false);
    for (TxRig* r : {&copy, loan.get()}) {
      if (r == nullptr) continue;
      const std::string why = r->verify();
      if (!why.empty()) {
        rep.fail("tx_" + sz + ": " + why);
        return;
      }
    }
    TxCopyBaseline base(len, copy.header_len());
    const double bytes = double(kTxChains) * len;
    std::vector<Contender> cs = {
        {"memcpy_4k_pages_" + sz, bytes, [&](uint64_t n) { return base.run(n); }},
        {"tx_copy_" + sz, bytes, [&](uint64_t n) { return copy.run(n); }},
    };
    if (loan) cs.push_back({"tx_loan_" + sz, bytes, [&](uint64_t n) { return loan->run(n); }});
    const GroupSamples g = run_group(cs, o.reps, o.target_s);
    const std::string what = std::to_string(kTxChains) + " packets per tx_drain, dropping TxSink";
    rep.add(cs, g, 1, 0, cs[1].name, "MB/s", 1e-6,
            what + "; baseline memcpy of header + frame out of separate 4 KiB host pages into one buffer");
    if (loan) {
      rep.add(cs, g, 2, 0, cs[2].name, "MB/s", 1e-6,
              what + ", tx_release of every loan after the drain; loans copy only the 138 header bytes, so "
                     "a ratio above 1 is the point of loaning");
      rep.add(cs, g, 2, 1, "tx_loan_" + sz + "_vs_copy", "MB/s", 1e-6, "loan mode relative to copy mode");
    }
  }
}

}  // namespace viona_bench
