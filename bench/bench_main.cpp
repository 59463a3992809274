// SPDX-License-Identifier: MIT
// bench_main.cpp: viona-bench: every benchmark group, as ratios against
// baselines measured in the same run (make bench).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/bench_suite.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: viona-bench [--json] [--reps N] [--ms N] [--clock cpu|wall] [--filter STR] [--trace PATH]\n"
               "  --json        one JSON document on stdout instead of lines\n"
               "  --reps N      rounds per group, the median is taken (default 15)\n"
               "  --ms N        milliseconds per sample of each contender (default 30)\n"
               "  --clock K     cpu: this thread's CPU time (default); wall: std::chrono::steady_clock\n"
               "  --filter STR  only groups whose name contains STR (rx_mrg_64, rx_mrg_1514, rx_mrg_9000,\n"
               "                tx_1514, tx_9000, rx_record_1514, replay,\n"
               "                record_pipeline, record_pipeline_1514, sqlite_floor)\n"
               "  --trace PATH  trace for the replay group (default traces/tcpreplay-linux-mrg.trace)\n"
               "Each line: name: X unit (ratio R of baseline B Y unit); R is the median over rounds of\n"
               "X/Y with both measured in the same round. See bench/README.md.\n");
}

bool parse_uint(const char* s, unsigned* out) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 100000) return false;
  *out = static_cast<unsigned>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  viona_bench::BenchOptions o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    const bool has_val = i + 1 < argc;
    unsigned v = 0;
    if (a == "--json") {
      o.json = true;
    } else if (a == "--reps" && has_val && parse_uint(argv[i + 1], &v)) {
      o.reps = v;
      i++;
    } else if (a == "--ms" && has_val && parse_uint(argv[i + 1], &v)) {
      o.target_s = v / 1000.0;
      i++;
    } else if (a == "--clock" && has_val && (std::strcmp(argv[i + 1], "wall") == 0 || std::strcmp(argv[i + 1], "cpu") == 0)) {
      viona_bench::bench_clock() =
          std::strcmp(argv[++i], "wall") == 0 ? viona_bench::ClockKind::wall : viona_bench::ClockKind::thread_cpu;
    } else if (a == "--filter" && has_val) {
      o.filter = argv[++i];
    } else if (a == "--trace" && has_val) {
      o.trace = argv[++i];
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "viona-bench: bad argument \"%s\"\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  viona_bench::Report rep(o.json);
  viona_bench::rx_benches(o, rep);
  viona_bench::tx_benches(o, rep);
  viona_bench::record_benches(o, rep);
  viona_bench::replay_benches(o, rep);
  viona_bench::pipeline_benches(o, rep);
  viona_bench::sqlite_floor_benches(o, rep);
  if (o.json) rep.print_json(stdout, o.reps, o.target_s);
  // A failed precondition means a number above measured something else
  // (drops, errors, a divergent replay): that is a failure of the run.
  return rep.failed() ? 1 : 0;
}
