// SPDX-License-Identifier: MIT
// probe_recorder.h: a ProbeListener that keeps everything it is told, for tests.
#ifndef TESTS_SUPPORT_PROBE_RECORDER_H_
#define TESTS_SUPPORT_PROBE_RECORDER_H_

#include <cstdint>
#include <vector>

#include "viona/probes.h"
#include "viona/ring.h"

namespace viona {
namespace test {

// Records every callback in order of arrival; tests compare the vectors.
class ProbeRecorder : public ProbeListener {
 public:
  struct Used {
    uint16_t ring, slot;
    uint32_t id, len;
  };
  struct Popped {
    uint16_t ring, cookie, avail_idx;
    uint32_t total_len;
    size_t npieces;
  };
  struct Intr {
    uint16_t ring;
    InterruptKind kind;
  };

  void on_probe(const ProbeEvent& ev) override { probes.push_back(ev); }
  void on_chain(const Ring& r, const Chain& c) override {
    chains.push_back(Popped{r.index(), c.cookie, c.avail_idx, c.total_len, c.iov.size()});
  }
  void on_used(const Ring& r, uint16_t slot, uint32_t id, uint32_t len) override {
    used.push_back(Used{r.index(), slot, id, len});
  }
  void on_used_publish(const Ring& r, uint16_t used_idx) override { publishes.push_back(used_idx); }
  void on_interrupt(const Ring& r, InterruptKind k) override { intrs.push_back(Intr{r.index(), k}); }

  // Probes of kind |k| only.
  std::vector<ProbeEvent> of(ProbeKind k) const;
  void clear();

  std::vector<ProbeEvent> probes;
  std::vector<Popped> chains;
  std::vector<Used> used;
  std::vector<uint16_t> publishes;
  std::vector<Intr> intrs;
};

// Records interrupts the ring raises (InterruptSink).
class RecordingSink : public InterruptSink {
 public:
  struct Msi {
    uint16_t ring;
    uint64_t addr, msg;
  };
  void msi(uint16_t ring, uint64_t addr, uint64_t msg) override { msis.push_back(Msi{ring, addr, msg}); }
  void poll_wakeup(uint16_t ring) override { wakeups.push_back(ring); }
  std::vector<Msi> msis;
  std::vector<uint16_t> wakeups;
};

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_PROBE_RECORDER_H_
