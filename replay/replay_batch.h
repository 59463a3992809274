// SPDX-License-Identifier: MIT
// replay_batch.h: replays a list of traces on a pool of threads, results in list order.
#ifndef REPLAY_REPLAY_BATCH_H_
#define REPLAY_REPLAY_BATCH_H_

#include <functional>
#include <string>
#include <vector>

#include "replay/replayer.h"

namespace viona_rr {

// Replays |paths| with |opts| on |jobs| threads (the caller's thread is
// one of them). Results come back in the order of |paths| whatever the
// scheduling, so output never depends on |jobs|. |progress| (may be null)
// is called, serialised, after each trace with (done, total).
std::vector<ReplayResult> replay_all(const std::vector<std::string>& paths, const ReplayOptions& opts, unsigned jobs,
                                     const std::function<void(size_t done, size_t total)>& progress = nullptr);

// The exit status `viona-rr replay` gives for |rs| (viona-rr(1)): 2 if any
// trace was unreadable, else 1 if any had a finding, else 0.
int replay_exit_status(const std::vector<ReplayResult>& rs);

// Which traces detect each quirk (viona-rr replay --quirk-matrix).
struct QuirkMatrix {
  std::vector<ReplayResult> baseline;  // every trace without quirks, in path order
  // Per QuirkKind (index = its value): file names (no directory) of the
  // traces that pass without quirks and fail with that quirk alone.
  std::vector<std::vector<std::string>> detected;
  bool unreadable() const;        // some trace could not be read
  size_t baseline_failures() const;
  // The library's two rules: every trace passes without quirks, and every
  // quirk is detected by at least one trace.
  bool ok() const;
};
QuirkMatrix quirk_matrix(const std::vector<std::string>& paths, unsigned jobs,
                         const std::function<void(size_t done, size_t total)>& progress = nullptr);

}  // namespace viona_rr

#endif  // REPLAY_REPLAY_BATCH_H_
