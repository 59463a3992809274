// SPDX-License-Identifier: MIT
// record_scenario.h: what a recording does besides replaying a capture: malformed chains, offloads, LSO, migration, live capture.
#ifndef REPLAY_RECORD_SCENARIO_H_
#define REPLAY_RECORD_SCENARIO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "replay/record_session.h"
#include "viona/packet.h"

namespace bhyve_glue {
class Device;
}

namespace viona_rr {

// "none", "partial", "full" or "lso" (viona-rr-record(1) --backend-offload):
//   none     nothing (CSUM is not offered: viona ignores NEEDS_CSUM)
//   partial  HCKSUM_INET_PARTIAL + HCKSUM_IPHDRCKSUM
//   full     HCKSUM_INET_FULL_V4/V6 + HCKSUM_IPHDRCKSUM
//   lso      partial + LSO_TX_BASIC_TCP_IPV4 up to 65535 bytes (HOST_TSO4 offered)
bool offload_caps_from_name(const std::string& name, viona::OffloadCaps* out);

// "KIND@N" (--corrupt): a bhyve_glue::RxCorruptKind name and N >= 0.
bool parse_corrupt_spec(const std::string& spec, bhyve_glue::RxCorruptKind* kind, uint64_t* after, std::string* err);

// The scenario options of one RecordSpec (corrupt, tx_offload,
// backend_offload, rx_lso, migrate_at, iface, count, tx_pcap), applied at
// the points record_session() calls in this order:
//   open_source   the frames and the backend under the link
//   attach        once the guest has probed
//   batch_end     before each RX batch (one LSO frame per batch; batches
//                 end at the corrupt/migrate frame so it acts "after frame N")
//   after_frames  after each batch (RX) or frame (TX) has been serviced
// Everything the scenario does goes through GuestMemory writes or
// Device::ioctl, so the recorder logs it as ops like any guest action.
class RecordScenario {
 public:
  explicit RecordScenario(const RecordSpec& spec) : spec_(spec) {}

  // Checks the options and reads the frames: the capture file (--pcap), or
  // spec.count frames from a live interface (--iface, waiting up to
  // spec.capture_timeout seconds, 0 = forever). Frames longer than MTU + 14
  // get RxMeta{hw_lso, lso_mss} with --rx-lso. Returns the backend to put
  // under the link (declaring --backend-offload), or nullptr and |*err|.
  std::unique_ptr<bhyve_glue::Backend> open_source(std::vector<bhyve_glue::BackendFrame>* frames, std::string* err);
  void attach(bhyve_glue::Device* dev, bhyve_glue::GuestDriver* guest);
  // End (exclusive) of the batch starting at frames[i]; |end| is the
  // default end, |base| the number of frames offered in earlier repeats.
  size_t batch_end(const std::vector<bhyve_glue::BackendFrame>& frames, uint64_t base, size_t i, size_t end) const;
  // |done| frames have been offered and serviced. False and |*err| if a
  // migration ioctl failed.
  bool after_frames(uint64_t done, std::string* err);

  bool corrupted() const { return corrupted_; }
  bool migrated() const { return migrated_; }

 private:
  bool migrate(std::string* err);

  const RecordSpec& spec_;
  bhyve_glue::Device* dev_ = nullptr;
  bhyve_glue::GuestDriver* guest_ = nullptr;
  bool has_corrupt_ = false;
  bhyve_glue::RxCorruptKind corrupt_kind_ = bhyve_glue::RxCorruptKind::bad_idx;
  uint64_t corrupt_at_ = 0;
  bool corrupted_ = false, migrated_ = false;
};

}  // namespace viona_rr

#endif  // REPLAY_RECORD_SCENARIO_H_
