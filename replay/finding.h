// SPDX-License-Identifier: MIT
// finding.h: what a replay tells a person (or a machine) went wrong.
#ifndef REPLAY_FINDING_H_
#define REPLAY_FINDING_H_

#include <cstdint>
#include <optional>
#include <string>

namespace viona_rr {

enum class FindingKind : uint8_t {
  // The port now does something other than what the trace recorded.
  divergence = 0,
  // An invariant of a correct device is broken, whatever the recording
  // says (checked on the recording and on the replay).
  oracle = 1,
};
const char* finding_kind_name(FindingKind k);

// Where the finding was seen: in the recorded events, or in the replay.
enum class FindingSourceKind : uint8_t {
  recording = 0,
  replay = 1,
};
const char* finding_source_name(FindingSourceKind s);

struct Finding {
  FindingKind kind = FindingKind::divergence;
  FindingSourceKind source = FindingSourceKind::replay;
  std::string rule;                    // short name: "used-len-sum", "event-mismatch", ...
  uint64_t op_seq = 0;                 // op the finding belongs to
  std::optional<uint64_t> packet_seq;  // packet, when known
  uint16_t ring = 0;
  std::string message;   // one line: what, expected vs actual
  std::string expected;  // recorded / required value (may be empty)
  std::string actual;    // replayed / observed value (may be empty)
  std::string context;   // multi-line: chain layout with its page pieces, etc.

  std::string headline() const;  // "divergence at op 12 packet 3 ring 0: ..."

  // Everything but the context, in one call (the oracle and the replayer
  // both build findings this way).
  static Finding make(FindingKind kind, FindingSourceKind source, std::string rule, uint64_t op_seq,
                      std::optional<uint64_t> packet_seq, uint16_t ring, std::string message, std::string expected,
                      std::string actual);
};

}  // namespace viona_rr

#endif  // REPLAY_FINDING_H_
