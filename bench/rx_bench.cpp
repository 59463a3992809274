// SPDX-License-Identifier: MIT
// rx_bench.cpp: merged RX delivery, paged and contiguous, against memcpy.
#include <memory>

#include "bench/bench_suite.h"
#include "bench/rx_rig.h"

namespace viona_bench {

void rx_benches(const BenchOptions& o, Report& rep) {
  for (const uint32_t len : {64u, 1514u, 9000u}) {
    const std::string sz = std::to_string(len);
    if (!o.selected("rx_mrg_" + sz)) continue;
    RxRig paged(viona::MemoryMode::paged, len);
    RxRig contig(viona::MemoryMode::contiguous, len);
    for (RxRig* r : {&paged, &contig}) {
      const std::string why = r->verify();
      if (!why.empty()) {
        rep.fail("rx_mrg_" + sz + " (" + viona::memory_mode_name(r->mem().mode()) + "): " + why);
        return;
      }
    }
    RxCopyBaseline base(paged.frames());
    const double bytes = double(kRxBatch) * len;  // frame bytes per batch (the 12-byte header not counted)
    const std::vector<Contender> cs = {
        {"memcpy_4k_pages_" + sz, bytes, [&](uint64_t n) { return base.run(n); }},
        {"rx_mrg_paged_" + sz, bytes, [&](uint64_t n) { return paged.run(n); }},
        {"rx_mrg_contiguous_" + sz, bytes, [&](uint64_t n) { return contig.run(n); }},
    };
    const GroupSamples g = run_group(cs, o.reps, o.target_s);
    const std::string what = std::to_string(kRxBatch) + " frames per rx_deliver into " +
                             std::to_string(paged.bufs_per_frame()) + " x 1536-byte buffers each";
    rep.add(cs, g, 1, 0, cs[1].name, "MB/s", 1e-6,
            what + "; baseline memcpy of header + frame into the same buffer offsets over separate 4 KiB host pages");
    rep.add(cs, g, 2, 0, cs[2].name, "MB/s", 1e-6, what + "; contiguous guest memory, same memcpy baseline");
    rep.add(cs, g, 1, 2, "rx_mrg_paged_" + sz + "_vs_contiguous", "MB/s", 1e-6,
            "cost of per-page holds and 4 KiB splits (illumos 13783) relative to one hold per descriptor");
  }
}

}  // namespace viona_bench
