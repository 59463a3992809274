// SPDX-License-Identifier: MIT
// minimize.h: delta debugging over a trace's packets (`viona-rr minimize`),
// and the re-recording of a trace's packets it and diff --replay build on.
#ifndef REPLAY_MINIMIZE_H_
#define REPLAY_MINIMIZE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "replay/finding.h"
#include "replay/record_session.h"
#include "replay/trace_records.h"
#include "viona/quirks.h"

namespace viona_rr {

// How to record a trace's traffic again: the RecordSpec its config, ops
// and scenario imply (guest layout, memory model, MTU, direction, recorded
// quirks; from the config_scenario rows --corrupt, --tx-offload,
// --backend-offload, --rx-lso, --migrate-at, --batch, --filter and
// --feature-mask) and the packets the capture must hold (the RX packets,
// or the TX packets of a TX-only trace). A trace without a scenario
// (format 1, or older format 2) gets the RX batch size from its rx_batch
// ops, the --backend-offload from its config's offloads, and no other
// scenario option (--feature-mask 0). spec.repeat is 1 and spec.count 0:
// the packets are already repeated and counted.
struct RerecordPlan {
  RecordSpec spec;                       // pcap and out left empty; frame numbers as recorded
  std::vector<TracePacket> packets;      // in trace order
  std::optional<TraceScenario> scenario; // as stored in the trace
};
bool rerecord_plan(const std::string& trace, RerecordPlan* out, std::string* err);

// Writes |pkts| to a pcap file (LINKTYPE_ETHERNET) at |path|.
bool write_pcap(const std::string& path, const std::vector<const TracePacket*>& pkts, std::string* err);

// Records plan.packets[i] for each i in |subset| (ascending) with
// plan.spec and |quirks| into |out|, through a pcap file in |workdir|.
// Packet i of the plan is frame i + 1 of the recording (0-based index i;
// "after frame N" is after indices 0 .. N-1). The frame-numbered scenario
// options act between the same kept frames as when recorded:
//   --corrupt KIND@N and --migrate-at N become N' = N less the packets
//   removed before frame N (subset_frame): the number of kept packets
//   before it when N <= plan.packets.size(), and still past the last
//   packet (never acting) when the recording's N was. KIND@0 stays 0. A
//   migration with no kept packet before it is dropped (--migrate-at 0 is
//   "never"; there is no migration before the first frame).
// With the whole plan (diff --replay) and a recorded --repeat R, the
// capture is the first 1/R of the packets delivered R times, with the
// recorded -c COUNT (when the packets are R copies; else repeat 1), so the
// re-recording's batches and stored scenario are the recorded ones. A
// subset is recorded with repeat 1 and no count; --filter is kept (a BPF
// filter passes each frame that passed it before).
bool rerecord(const RerecordPlan& plan, const std::vector<size_t>& subset, const viona::Quirks& quirks,
              const std::string& workdir, const std::string& out, std::string* err);

// The frame number N' of subset_frame above, for a plan of |total| packets.
uint64_t subset_frame(size_t total, const std::vector<size_t>& subset, uint64_t n);

// A fresh directory under $TMPDIR (or /tmp); "" with |*err| on failure.
std::string make_work_dir(std::string* err);
// Removes |dir| and the files in it (not recursive: it holds only files).
void remove_work_dir(const std::string& dir);

struct MinimizeOptions {
  viona::Quirks replay_quirks;  // the quirks the failure shows under (replay --quirk)
  std::string out;              // minimized trace to write (must not exist)
  unsigned max_tests = 4000;    // re-recordings at most
  std::function<void(unsigned tests, size_t packets)> progress;  // may be null
};

struct MinimizeResult {
  Finding target;                  // first finding of the original's replay
  size_t original_packets = 0;
  std::vector<uint64_t> kept;      // seqs (in the original) of the packets kept
  unsigned tests = 0;              // re-recordings tried
  bool exhausted = false;          // max_tests reached: |kept| is smaller, maybe not minimal
  Finding final_finding;           // first finding of the written trace's replay
};

// The smallest packet subset (ddmin, 1-minimal) whose re-recording, with
// the trace's configuration, scenario (mapped onto the subset as rerecord()
// says) and recorded quirks, replayed with
// opts.replay_quirks, has a first finding of the same kind and rule as the
// original's. Writes it to opts.out. Returns 0 on success, 1 when the
// original shows no finding (nothing to minimize), 2 on an error (|*err|).
int minimize_trace(const std::string& trace, const MinimizeOptions& opts, MinimizeResult* res, std::string* err);

}  // namespace viona_rr

#endif  // REPLAY_MINIMIZE_H_
