// SPDX-License-Identifier: MIT
// record_session.h: one recording (capture -> simulated guest -> trace) as a library call.
#ifndef REPLAY_RECORD_SESSION_H_
#define REPLAY_RECORD_SESSION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/guest/guest_profile.h"
#include "viona/quirks.h"
#include "viona/stats.h"

namespace viona_rr {

// What `viona-rr record` is asked to do; the fields are its options.
struct RecordSpec {
  std::string pcap;                // capture file (pcap or pcapng)
  std::string filter;              // BPF filter, "" = every frame
  std::string guest = "linux-mrg"; // guest profile spec (viona-guests(7))
  std::string direction = "rx";    // rx, tx or both
  unsigned mtu = 0;                // 0 = the device default
  unsigned ring_size = 0;          // 0 = the profile's
  unsigned batch = 1;              // frames per RX batch
  unsigned repeat = 1;             // deliveries of the whole capture
  std::string memory = "paged";    // paged or contiguous
  std::string feature_mask = "0";  // bhyve feature_mask
  viona::Quirks quirks;            // historic behaviours to record with
  std::string out;                 // trace to create (must not exist)
  // A layout to use instead of parsing |guest| (re-recording a trace whose
  // profile name alone does not say it); |guest| is then only stored.
  std::optional<bhyve_glue::GuestProfile> profile;
  // Scenarios (replay/record_scenario.h, viona-rr-record(1)). Stored in the
  // trace's config_scenario rows (TraceScenario, with batch, repeat, count,
  // filter and feature_mask) so that minimize and diff --replay do them
  // again; tx_pcap, iface and capture_timeout are not (a re-recording reads
  // the trace's packets and discards what the guest sends).
  std::string corrupt;                   // "KIND@N": malform the RX head chain after frame N
  bool tx_offload = false;               // the guest asks for checksum/LSO offload on TX
  std::string backend_offload = "none";  // offloads the backend declares: none, partial, full, lso
  std::string tx_pcap;                   // TX frames finished for the wire go here ("" = discarded)
  unsigned rx_lso = 0;                   // MSS: RX frames > MTU + 14 arrive as HW_LSO (0 = never)
  uint64_t migrate_at = 0;               // pause and restore the rings after frame N (0 = never)
  std::string iface;                     // a live interface instead of |pcap|
  uint64_t count = 0;                    // frames taken from the source (0 = all; needed with |iface|)
  unsigned capture_timeout = 0;          // seconds to wait for |count| live frames (0 = forever)
  // Rows go to the trace from a writer thread (RecorderMode::writer_thread),
  // off the device's thread; false writes them inline. The trace is the
  // same either way (tests/replay/recorder_test.cpp).
  bool writer_thread = true;
  // false: no trace at all (no TraceWriter, no Recorder; |out| is ignored),
  // the device, guest and scenario run exactly the same. For measuring
  // what recording costs (bench/pipeline_bench.cpp).
  bool trace = true;
  // Called with (frames offered so far, frames in all) after each batch
  // (TX: each frame), at most every 4096 frames and once at the end with
  // done == total; null = none. For a terminal progress line.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Final counters of one mapped ring.
struct RecordRingCounters {
  uint16_t ring = 0;
  viona::RingStats rs;
  viona::TransferStats vts;
};

struct RecordSummary {
  std::vector<RecordRingCounters> rings;  // at the end, mapped rings in index order
  uint64_t frames = 0;    // frames offered (capture frames times repeat)
  uint64_t accepted = 0;  // RX frames the device delivered
  uint64_t dropped = 0;   // RX frames the device dropped
  uint64_t sent = 0;      // TX frames the guest posted
  uint64_t packets = 0;   // packets in the trace
  uint64_t ops = 0;       // ops in the trace
  // The simulated guest saw nothing wrong: every RX frame it received was,
  // byte for byte, the next frame offered (frames the device dropped are
  // skipped, counted in guest.rx_not_received, and are not a failure), no
  // used entry was bad (id, length, num_buffers) on either queue.
  bool guest_ok = false;
  bhyve_glue::GuestStats guest;  // the guest's counters at the end
};

// Records |spec| into spec.out. The capture is read whole before the trace
// is created, so a refused capture leaves no file. The config row stores
// the full --guest spec for custom profiles (so the trace can be
// re-recorded), and the config_scenario rows the options above (see
// TraceScenario). False with a one-line |*err| on any failure; |*sum| may be
// null.
bool record_session(const RecordSpec& spec, RecordSummary* sum, std::string* err);

}  // namespace viona_rr

#endif  // REPLAY_RECORD_SESSION_H_
