// SPDX-License-Identifier: MIT
// bench_report.h: benchmark results as ratio lines, in text and JSON.
#ifndef BENCH_BENCH_REPORT_H_
#define BENCH_BENCH_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_clock.h"

namespace viona_bench {

// One measurement against its baseline, both from the same group run.
struct BenchLine {
  std::string name;
  std::string unit;          // "MB/s" (10^6 bytes) or "packets/s"
  double value = 0;          // rate at the subject's median time
  std::string baseline;
  double baseline_value = 0; // rate at the baseline's median time
  double ratio = 0;          // median over reps of subject rate / baseline rate (same round)
  uint64_t iters = 0;           // subject iterations per sample
  uint64_t baseline_iters = 0;
  unsigned reps = 0;
  std::vector<double> subject_s, baseline_s;
  std::string note;          // what the baseline is, or a caveat
};

class Report {
 public:
  explicit Report(bool json) : json_(json) {}

  // Adds (and in text mode prints at once) contender |si| of |cs| measured
  // against |bi|. |scale| turns work units into the unit's (1e-6 for MB/s).
  const BenchLine& add(const std::vector<Contender>& cs, const GroupSamples& g, size_t si, size_t bi,
                       const std::string& name, const std::string& unit, double scale, const std::string& note);
  // A free-form conclusion (the recording target's verdict, ...).
  void conclude(const std::string& key, const std::string& text, bool ok);
  // A failed precondition: the benchmark did not measure what it claims.
  void fail(const std::string& what);

  const BenchLine* find(const std::string& name) const;
  bool failed() const { return !failures_.empty(); }
  void print_json(std::FILE* out, unsigned reps, double target_s) const;

 private:
  struct Conclusion {
    std::string key, text;
    bool ok;
  };
  bool json_;
  std::vector<BenchLine> lines_;
  std::vector<Conclusion> conclusions_;
  std::vector<std::string> failures_;
};

}  // namespace viona_bench

#endif  // BENCH_BENCH_REPORT_H_
