// SPDX-License-Identifier: MIT
// bench_clock.h: steady-clock timing, calibration and round-robin sampling.
#ifndef BENCH_BENCH_CLOCK_H_
#define BENCH_BENCH_CLOCK_H_

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace viona_bench {

// Which clock a sample is timed with.
enum class ClockKind : uint8_t {
  // std::chrono::steady_clock: elapsed time, including time the thread
  // spent descheduled while other processes ran, and I/O waits.
  wall = 0,
  // CLOCK_THREAD_CPUTIME_ID: CPU time of this thread only (user + system,
  // so the trace writer's pwrite/fdatasync system time counts, its disk
  // waits do not). On a machine shared with other builds this is what the
  // code costs; wall time there mostly measures the other builds.
  thread_cpu = 1,
};
inline ClockKind& bench_clock() {
  static ClockKind k = ClockKind::thread_cpu;
  return k;
}
inline const char* clock_name(ClockKind k) { return k == ClockKind::wall ? "wall" : "cpu"; }

inline double now_seconds() {
  if (bench_clock() == ClockKind::thread_cpu) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One contender of a group: |run|(iters) does |iters| units of the same
// work and returns the seconds it took (it times itself, so set-up it does
// outside the loop is not counted). |work_per_iter| is in |unit|s before
// the "/s" (bytes for MB/s, packets for packets/s).
struct Contender {
  std::string name;
  double work_per_iter = 0;
  std::function<double(uint64_t iters)> run;
};

// Seconds per rep of every contender of a group, rep r of each taken in the
// same round so that a burst of load from the machine's other users hits
// every contender of that round alike.
struct GroupSamples {
  std::vector<uint64_t> iters;               // [contender]: iterations per sample
  std::vector<std::vector<double>> seconds;  // [contender][rep]
};

// Warm-up and calibration of one contender: doubles the iteration count
// until a sample takes an eighth of |target_s|, then scales it to about
// |target_s|. Each contender gets its own count (rates are compared, not
// times), so a fast one is not timed over a few microseconds because a
// slow one shares its group.
inline uint64_t calibrate(const Contender& c, double target_s) {
  uint64_t iters = 1;
  double t = 0;
  for (;;) {
    t = c.run(iters);
    if (t >= target_s / 8 || iters >= (1ull << 40)) break;
    iters *= 2;
  }
  const double scale = t > 0 ? target_s / t : 1;
  return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(iters) * scale));
}

// Calibrates every contender, then runs |reps| rounds, contenders in order.
inline GroupSamples run_group(const std::vector<Contender>& cs, unsigned reps, double target_s) {
  GroupSamples g;
  for (const Contender& c : cs) g.iters.push_back(calibrate(c, target_s));
  g.seconds.assign(cs.size(), {});
  for (unsigned r = 0; r < reps; r++) {
    for (size_t i = 0; i < cs.size(); i++) g.seconds[i].push_back(cs[i].run(g.iters[i]));
  }
  return g;
}

}  // namespace viona_bench

#endif  // BENCH_BENCH_CLOCK_H_
