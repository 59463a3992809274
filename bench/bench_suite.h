// SPDX-License-Identifier: MIT
// bench_suite.h: the benchmark groups bench_main runs, one function per file.
#ifndef BENCH_BENCH_SUITE_H_
#define BENCH_BENCH_SUITE_H_

#include <string>

#include "bench/bench_report.h"

namespace viona_bench {

struct BenchOptions {
  unsigned reps = 15;         // rounds per group (the median is of these)
  double target_s = 0.03;     // seconds per sample of each contender (calibrated separately)
  std::string filter;         // run only groups whose name contains this
  std::string trace = "traces/tcpreplay-linux-mrg.trace";
  bool json = false;
  bool selected(const std::string& group) const {
    return filter.empty() || group.find(filter) != std::string::npos;
  }
};

void rx_benches(const BenchOptions& o, Report& rep);      // rx_bench.cpp
void tx_benches(const BenchOptions& o, Report& rep);      // tx_bench.cpp
void record_benches(const BenchOptions& o, Report& rep);  // record_bench.cpp
void replay_benches(const BenchOptions& o, Report& rep);  // replay_bench.cpp
void pipeline_benches(const BenchOptions& o, Report& rep);  // pipeline_bench.cpp
void sqlite_floor_benches(const BenchOptions& o, Report& rep);  // sqlite_floor_bench.cpp

}  // namespace viona_bench

#endif  // BENCH_BENCH_SUITE_H_
