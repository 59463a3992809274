// SPDX-License-Identifier: MIT
// finding.cpp: names and the one-line form of a finding.
#include "replay/finding.h"

namespace viona_rr {

const char* finding_kind_name(FindingKind k) {
  switch (k) {
    case FindingKind::divergence:
      return "divergence";
    case FindingKind::oracle:
      return "oracle";
  }
  __builtin_unreachable();
}

const char* finding_source_name(FindingSourceKind s) {
  switch (s) {
    case FindingSourceKind::recording:
      return "recording";
    case FindingSourceKind::replay:
      return "replay";
  }
  __builtin_unreachable();
}

Finding Finding::make(FindingKind kind, FindingSourceKind source, std::string rule, uint64_t op_seq,
                      std::optional<uint64_t> packet_seq, uint16_t ring, std::string message, std::string expected,
                      std::string actual) {
  Finding f;
  f.kind = kind;
  f.source = source;
  f.rule = std::move(rule);
  f.op_seq = op_seq;
  f.packet_seq = packet_seq;
  f.ring = ring;
  f.message = std::move(message);
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  return f;
}

std::string Finding::headline() const {
  std::string s = finding_kind_name(kind);
  if (kind == FindingKind::oracle) s += std::string(" (") + finding_source_name(source) + ")";
  s += " [" + rule + "] at op " + std::to_string(op_seq);
  if (packet_seq) s += " packet " + std::to_string(*packet_seq);
  s += " ring " + std::to_string(ring) + ": " + message;
  return s;
}

}  // namespace viona_rr
