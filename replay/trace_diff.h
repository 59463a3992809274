// SPDX-License-Identifier: MIT
// trace_diff.h: what differs between two traces, packet by packet (`viona-rr diff`).
#ifndef REPLAY_TRACE_DIFF_H_
#define REPLAY_TRACE_DIFF_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "replay/trace_records.h"
#include "viona/quirks.h"

namespace viona_rr {

// One thing that differs. |where| is "config", "packets", "packet N",
// "no packet" (events attributed to no packet) or "counters ring R";
// |what| names the field ("used 1 len", "chains", ...); |a| and |b| are
// the two values as text ("(none)" for a missing entry).
struct TraceDifference {
  std::string where;
  std::optional<uint64_t> packet_seq;
  std::string what;
  std::string a;
  std::string b;
  std::string line() const;  // "packet 3: used 1 len: 1528 | 1527"
};

struct TraceDiffOptions {
  size_t max_differences = 100;  // kept in |differences|; |total| counts all
};

// Compared: the config (except nothing that is host or time: every config
// field is about the device; the scenario, key by key as "scenario KEY",
// only when both traces have one), the packets table (direction, orig_len,
// bytes; not timestamps), and for each packet its chains (ring, avail
// index, head id, total length, descriptors, pieces), used entries (ring,
// used index, slot, id, length) and probes (ring, name, arguments), all in
// recording order; then the last counter snapshot of each ring. Ignored:
// timestamps, event and op sequence numbers, meta (host, creation time,
// tool version), ops, digests and interrupts.
struct TraceDiffResult {
  std::string a_path, b_path;
  TraceError error;  // A or B unreadable: nothing else is meaningful
  uint64_t a_packets = 0, b_packets = 0;
  uint64_t packets_differing = 0;  // packet seqs with at least one difference
  uint64_t total = 0;              // differences found (may exceed differences.size())
  std::vector<TraceDifference> differences;
  bool identical() const { return error.ok() && total == 0; }
};

TraceDiffResult diff_traces(const std::string& a, const std::string& b, const TraceDiffOptions& opts = {});

// `viona-rr diff` exit status: 0 identical, 1 different, 2 unreadable.
int trace_diff_exit_status(const TraceDiffResult& r);
std::string trace_diff_text(const TraceDiffResult& r);
std::string trace_diff_json(const TraceDiffResult& r);  // one JSON object, pretty-printed

// diff --replay: re-records |trace|'s packets with its recorded
// configuration and scenario (rerecord_plan, rerecord) and |quirks| (the replay's, not the recorded ones) into a
// temporary trace, and diffs |trace| against it. The temporary trace is
// removed; the result's b_path names it as "replay of PATH".
TraceDiffResult diff_with_replay(const std::string& trace, const viona::Quirks& quirks,
                                 const TraceDiffOptions& opts = {});

}  // namespace viona_rr

#endif  // REPLAY_TRACE_DIFF_H_
