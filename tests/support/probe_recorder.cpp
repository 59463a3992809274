// SPDX-License-Identifier: MIT
// probe_recorder.cpp: a ProbeListener that keeps everything it is told, for tests.
#include "tests/support/probe_recorder.h"

namespace viona {
namespace test {

std::vector<ProbeEvent> ProbeRecorder::of(ProbeKind k) const {
  std::vector<ProbeEvent> out;
  for (const ProbeEvent& e : probes) {
    if (e.kind == k) out.push_back(e);
  }
  return out;
}

void ProbeRecorder::clear() {
  probes.clear();
  chains.clear();
  used.clear();
  publishes.clear();
  intrs.clear();
}

}  // namespace test
}  // namespace viona
