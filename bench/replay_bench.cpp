// SPDX-License-Identifier: MIT
// replay_bench.cpp: replay of a library trace against reading it whole.
#include <string>
#include <vector>

#include "bench/bench_suite.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"

namespace viona_bench {

namespace {

// Everything a replay must at least do with the file: open and validate
// it, then decode every table (read_*). Returns "" or the reader's error.
std::string read_everything(const std::string& path, uint64_t* packets) {
  using namespace viona_rr;
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(path, &err);
  if (!r) return err.message;
  TraceContents all;
  if (TraceError e = r->read_all(&all); !e.ok()) return e.message;
  *packets = all.packets.size();
  return "";
}

}  // namespace

void replay_benches(const BenchOptions& o, Report& rep) {
  if (!o.selected("replay")) return;
  uint64_t packets = 0;
  const std::string why = read_everything(o.trace, &packets);
  if (!why.empty() || packets == 0) {
    rep.fail("replay: " + o.trace + ": " + (why.empty() ? "no packets" : why));
    return;
  }
  const viona_rr::ReplayResult first = viona_rr::replay_trace(o.trace, viona_rr::ReplayOptions{});
  if (!first.passed() || first.packets != packets) {
    rep.fail("replay: " + o.trace + " does not replay cleanly (" + std::to_string(first.findings.size()) +
             " findings" + (first.error.ok() ? "" : ", " + first.error.message) + ")");
    return;
  }
  bool failed = false;
  const double p = static_cast<double>(packets);
  const std::vector<Contender> cs = {
      {"trace_read_all", p,
       [&](uint64_t n) {
         const double t0 = now_seconds();
         for (uint64_t i = 0; i < n; i++) {
           uint64_t k = 0;
           if (!read_everything(o.trace, &k).empty()) failed = true;
         }
         return now_seconds() - t0;
       }},
      {"replay_tcpreplay_linux_mrg", p,
       [&](uint64_t n) {
         const double t0 = now_seconds();
         for (uint64_t i = 0; i < n; i++) {
           if (!viona_rr::replay_trace(o.trace, viona_rr::ReplayOptions{}).passed()) failed = true;
         }
         return now_seconds() - t0;
       }},
  };
  const GroupSamples g = run_group(cs, o.reps, o.target_s);
  if (failed) {
    rep.fail("replay: a sample failed to read or replay " + o.trace);
    return;
  }
  rep.add(cs, g, 1, 0, cs[1].name, "packets/s", 1, o.trace + " (" + std::to_string(packets) + " packets, " +
          std::to_string(first.ops) + " ops, " + std::to_string(first.events) +
          " events): replay_trace, every op re-applied and compared; baseline TraceReader open + read_* of every table");
}

}  // namespace viona_bench
