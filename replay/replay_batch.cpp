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

bool QuirkMatrix::unreadable() const {
  for (const ReplayResult& r : baseline) {
    if (!r.error.ok()) return true;
  }
  return false;
}

size_t QuirkMatrix::baseline_failures() const {
  size_t n = 0;
  for (const ReplayResult& r : baseline) n += !r.passed();
  return n;
}

bool QuirkMatrix::ok() const {
  if (baseline_failures() != 0) return false;
  for (const auto& d : detected) {
    if (d.empty()) return false;
  }
  return true;
}

QuirkMatrix quirk_matrix(const std::vector<std::string>& paths, unsigned jobs,
                         const std::function<void(size_t, size_t)>& progress) {
  QuirkMatrix m;
  m.baseline = replay_all(paths, ReplayOptions{}, jobs, progress);
  m.detected.resize(viona::kQuirkCount);
  if (m.unreadable()) return m;
  for (unsigned q = 0; q < viona::kQuirkCount; q++) {
    ReplayOptions o;
    o.quirks.set(static_cast<viona::QuirkKind>(q));
    std::vector<ReplayResult> rs = replay_all(paths, o, jobs, progress);
    for (size_t i = 0; i < rs.size(); i++) {
      if (!rs[i].passed() && m.baseline[i].passed()) {
        m.detected[q].push_back(paths[i].substr(paths[i].find_last_of('/') + 1));
      }
    }
  }
  return m;
}

}  // namespace viona_rr
