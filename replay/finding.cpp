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

std::string Finding::headline() const {
  std::string s = finding_kind_name(kind);
  if (kind == FindingKind::oracle) s += std::string(" (") + finding_source_name(source) + ")";
  s += " [" + rule + "] at op " + std::to_string(op_seq);
  if (packet_seq) s += " packet " + std::to_string(*packet_seq);
  s += " ring " + std::to_string(ring) + ": " + message;
  return s;
}

}  // namespace viona_rr
