// SPDX-License-Identifier: MIT
// replay_batch.cpp: the thread pool behind `viona-rr replay -j`.
#include "replay/replay_batch.h"

#include <atomic>
#include <mutex>
#include <thread>

namespace viona_rr {

std::vector<ReplayResult> replay_all(const std::vector<std::string>& paths, const ReplayOptions& opts, unsigned jobs,
                                     const std::function<void(size_t, size_t)>& progress) {
  std::vector<ReplayResult> out(paths.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex mu;
  auto worker = [&]() {
    for (;;) {
      size_t i = next++;
      if (i >= paths.size()) return;
      // Each slot is written by exactly one worker; no lock needed.
      out[i] = replay_trace(paths[i], opts);
      size_t d = ++done;
      if (progress) {
        std::lock_guard<std::mutex> g(mu);
        progress(d, paths.size());
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned j = 1; j < jobs && j < paths.size(); j++) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return out;
}

int replay_exit_status(const std::vector<ReplayResult>& rs) {
  bool finding = false;
  for (const ReplayResult& r : rs) {
    if (!r.error.ok()) return 2;
    finding |= !r.passed();
  }
  return finding ? 1 : 0;
}

}  // namespace viona_rr
