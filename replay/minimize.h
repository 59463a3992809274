// SPDX-License-Identifier: MIT
// minimize.h: delta debugging over a trace's packets (`viona-rr minimize`),
// and the re-recording of a trace's packets it and diff --replay build on.
#ifndef REPLAY_MINIMIZE_H_
#define REPLAY_MINIMIZE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "replay/finding.h"
#include "replay/record_session.h"
#include "replay/trace_records.h"
#include "viona/quirks.h"

namespace viona_rr {

// How to record a trace's traffic again: the RecordSpec its config and ops
// imply (guest layout, memory model, MTU, direction, RX batch size,
// recorded quirks) and the packets the capture must hold (the RX packets,
// or the TX packets of a TX-only trace). Not recoverable from a trace:
// --feature-mask (taken as 0) and --repeat (the packets are already
// repeated).
struct RerecordPlan {
  RecordSpec spec;                   // pcap and out left empty
  std::vector<TracePacket> packets;  // in trace order
};
bool rerecord_plan(const std::string& trace, RerecordPlan* out, std::string* err);

// Writes |pkts| to a pcap file (LINKTYPE_ETHERNET) at |path|.
bool write_pcap(const std::string& path, const std::vector<const TracePacket*>& pkts, std::string* err);

// Records plan.packets[i] for each i in |subset| (ascending) with
// plan.spec and |quirks| into |out|, through a pcap file in |workdir|.
bool rerecord(const RerecordPlan& plan, const std::vector<size_t>& subset, const viona::Quirks& quirks,
              const std::string& workdir, const std::string& out, std::string* err);

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
// the trace's configuration and recorded quirks, replayed with
// opts.replay_quirks, has a first finding of the same kind and rule as the
// original's. Writes it to opts.out. Returns 0 on success, 1 when the
// original shows no finding (nothing to minimize), 2 on an error (|*err|).
int minimize_trace(const std::string& trace, const MinimizeOptions& opts, MinimizeResult* res, std::string* err);

}  // namespace viona_rr

#endif  // REPLAY_MINIMIZE_H_
