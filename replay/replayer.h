// SPDX-License-Identifier: MIT
// replayer.h: re-drives a recorded trace through the port, step by step,
// and compares what the port does now with what was recorded.
#ifndef REPLAY_REPLAYER_H_
#define REPLAY_REPLAYER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "replay/finding.h"
#include "replay/trace_reader.h"
#include "replay/trace_records.h"
#include "viona/quirks.h"

namespace viona_rr {

struct ReplayOptions {
  viona::Quirks quirks;     // historic behaviours to replay with (not the recorded ones)
  size_t max_findings = 16; // stop collecting after this many (the first is what matters)
};

// The outcome of one trace.
struct ReplayResult {
  std::string path;
  TraceError error;          // unreadable trace: nothing else is meaningful
  bool incomplete = false;   // the recorder did not close the trace
  uint64_t packets = 0;      // packets in the trace
  uint64_t ops = 0;          // ops re-applied
  uint64_t events = 0;       // events compared
  std::vector<Finding> findings;  // divergences and oracle violations, in op order
  bool passed() const { return error.ok() && findings.empty(); }
  size_t count(FindingKind k) const;
};

enum class [[nodiscard]] ReplayStepKind : uint8_t {
  progress = 0,  // one op re-applied; more remain
  done = 1,      // every op re-applied
  diverged = 2,  // a divergence: the replay stops (state no longer comparable)
  error = 3,     // trace unreadable
};

// Replays one trace. prepare() reads the trace and rebuilds the recorded
// configuration (memory layout, device, features through the recorded
// ops); replay_step() re-applies one op and compares its events.
class Replayer {
 public:
  Replayer(std::string path, ReplayOptions opts);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  TraceError prepare();
  ReplayStepKind replay_step(std::vector<Finding>* out);
  uint64_t ops_total() const;
  uint64_t ops_done() const;
  ReplayResult& result() { return result_; }

 private:
  struct State;
  std::unique_ptr<State> st_;
  ReplayOptions opts_;
  ReplayResult result_;
};

// prepare() and every step; |progress| (may be null) after each op.
ReplayResult replay_trace(const std::string& path, const ReplayOptions& opts,
                          const std::function<void(uint64_t done, uint64_t total)>& progress = nullptr);

}  // namespace viona_rr

#endif  // REPLAY_REPLAYER_H_
