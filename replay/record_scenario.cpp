// SPDX-License-Identifier: MIT
// record_scenario.cpp: the scenario hooks of record_session(): sources, LSO metadata, corruption, migration.
#include "replay/record_scenario.h"

#include <chrono>
#include <cstdlib>

#include "bhyve_glue/backend/live_backend.h"
#include "bhyve_glue/backend/pcap_backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/viona_io.h"

namespace viona_rr {

using bhyve_glue::BackendFrame;

bool offload_caps_from_name(const std::string& name, viona::OffloadCaps* out) {
  viona::OffloadCaps c;
  if (name == "none") {
  } else if (name == "partial") {
    c.cksum_partial = c.cksum_ipv4_hdr = true;
  } else if (name == "full") {
    c.cksum_full_v4 = c.cksum_full_v6 = c.cksum_ipv4_hdr = true;
  } else if (name == "lso") {
    c.cksum_partial = c.cksum_ipv4_hdr = true;
    c.lso_tcpv4 = true;
    c.lso_max = 65535;  // what viona requires before it offers HOST_TSO4
  } else {
    return false;
  }
  *out = c;
  return true;
}

bool parse_corrupt_spec(const std::string& spec, bhyve_glue::RxCorruptKind* kind, uint64_t* after, std::string* err) {
  const size_t at = spec.find('@');
  const std::string name = spec.substr(0, at);
  if (!bhyve_glue::rx_corrupt_kind_from_name(name, kind)) {
    *err = "--corrupt " + spec +
           ": expected KIND@N with KIND one of bad_idx, indir_bad_next, indir_bad_nest, indir_bad_len, "
           "desc_bad_len, bad_ring_addr, too_many_desc, len_overflow, ndesc_too_high";
    return false;
  }
  const std::string n = at == std::string::npos ? "" : spec.substr(at + 1);
  char* end = nullptr;
  const unsigned long long v = n.empty() || n[0] == '-' || n[0] == '+' ? 0 : std::strtoull(n.c_str(), &end, 10);
  if (n.empty() || end == nullptr || *end != '\0') {
    *err = "--corrupt " + spec + ": N after '@' must be a frame count (0 = before the first frame)";
    return false;
  }
  *after = v;
  return true;
}

std::unique_ptr<bhyve_glue::Backend> RecordScenario::open_source(std::vector<BackendFrame>* frames, std::string* err) {
  const RecordSpec& a = spec_;
  const bool rx = a.direction == "rx" || a.direction == "both";
  const bool tx = a.direction == "tx" || a.direction == "both";
  if (a.pcap.empty() == a.iface.empty()) {
    *err = a.pcap.empty() ? "give a capture (--pcap FILE) or a live interface (--iface IF -c COUNT)"
                          : "--pcap and --iface exclude each other";
    return nullptr;
  }
  if (!a.iface.empty() && a.count == 0) {
    *err = "--iface " + a.iface + " needs -c COUNT (frames to capture before recording)";
    return nullptr;
  }
  if (!a.corrupt.empty()) {
    if (!parse_corrupt_spec(a.corrupt, &corrupt_kind_, &corrupt_at_, err)) return nullptr;
    if (!rx) {
      *err = "--corrupt malforms an RX chain: it needs --direction rx or both";
      return nullptr;
    }
    has_corrupt_ = true;
  }
  if (a.tx_offload && !tx) {
    *err = "--tx-offload needs --direction tx or both";
    return nullptr;
  }
  if (a.rx_lso != 0 && (!rx || a.rx_lso > 65535)) {
    *err = a.rx_lso > 65535 ? "--rx-lso " + std::to_string(a.rx_lso) + ": the MSS is at most 65535"
                            : "--rx-lso needs --direction rx or both";
    return nullptr;
  }
  viona::OffloadCaps caps;
  if (!offload_caps_from_name(a.backend_offload, &caps)) {
    *err = "--backend-offload " + a.backend_offload + ": expected none, partial, full or lso";
    return nullptr;
  }

  std::unique_ptr<bhyve_glue::Backend> be;
  if (!a.pcap.empty()) {
    std::unique_ptr<bhyve_glue::PcapBackend> pb = bhyve_glue::PcapBackend::open(a.pcap, a.filter, a.tx_pcap, err);
    if (!pb) return nullptr;
    pb->set_offload_caps(caps);
    // Read the whole capture first: a refusal (bad link type, truncated
    // frame) must come before the trace exists.
    while (pb->rx_pull(frames, 64, 0) != 0) {
    }
    if (!pb->rx_error().empty()) {
      *err = pb->rx_error();
      return nullptr;
    }
    if (a.count != 0 && frames->size() > a.count) frames->resize(a.count);
    be = std::move(pb);
  } else {
    if (a.backend_offload != "none" || !a.tx_pcap.empty()) {
      *err = "--iface: the live backend declares no offloads and transmits on the interface "
             "(no --backend-offload, no --tx-pcap)";
      return nullptr;
    }
    std::unique_ptr<bhyve_glue::LiveBackend> lb = bhyve_glue::LiveBackend::open(a.iface, a.filter, err);
    if (!lb) {
      *err = "--iface " + a.iface + ": " + *err;
      return nullptr;
    }
    // The capture comes first, the recording after: a live frame would
    // otherwise reach the guest at a moment no replay can reproduce.
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(a.capture_timeout);
    while (frames->size() < a.count) {
      (void)lb->rx_pull(frames, a.count - frames->size(), 100);
      if (a.capture_timeout != 0 && Clock::now() >= deadline) break;
    }
    if (frames->empty()) {
      *err = "--iface " + a.iface + ": no frame arrived in " + std::to_string(a.capture_timeout) + " s";
      return nullptr;
    }
    be = std::move(lb);
  }
  if (a.rx_lso != 0) {
    // What a NIC doing LRO hands MAC: frames over the MTU marked HW_LSO
    // with the MSS of the segments they were made of.
    const uint32_t mtu = a.mtu != 0 ? a.mtu : viona::VIONA_DEFAULT_MTU;
    for (BackendFrame& f : *frames) {
      if (f.data.size() <= mtu + viona::kEtherHeaderLen) continue;
      f.meta.hw_lso = true;
      f.meta.lso_mss = static_cast<uint16_t>(a.rx_lso);
    }
  }
  return be;
}

void RecordScenario::attach(bhyve_glue::Device* dev, bhyve_glue::GuestDriver* guest) {
  dev_ = dev;
  guest_ = guest;
  guest_->set_tx_offload(spec_.tx_offload);
  // KIND@0: malformed before the first frame arrives.
  if (has_corrupt_ && corrupt_at_ == 0) {
    (void)guest_->corrupt_rx_head(corrupt_kind_);
    corrupted_ = true;
  }
}

size_t RecordScenario::batch_end(const std::vector<BackendFrame>& frames, uint64_t base, size_t i, size_t end) const {
  // An rx_batch op carries one RxMeta (its first frame's): an LSO frame
  // goes alone, and no other frame joins a batch with one.
  if (frames[i].meta.hw_lso) return i + 1;
  for (size_t j = i + 1; j < end; j++) {
    if (frames[j].meta.hw_lso) return j;
  }
  // Stop at the frame after which the scenario acts.
  for (uint64_t n : {has_corrupt_ ? corrupt_at_ : 0, spec_.migrate_at}) {
    if (n > base + i && n < base + end) end = static_cast<size_t>(n - base);
  }
  return end;
}

bool RecordScenario::after_frames(uint64_t done, std::string* err) {
  if (has_corrupt_ && !corrupted_ && done >= corrupt_at_) {
    (void)guest_->corrupt_rx_head(corrupt_kind_);
    corrupted_ = true;
  }
  if (spec_.migrate_at != 0 && !migrated_ && done >= spec_.migrate_at) {
    migrated_ = true;
    if (!migrate(err)) return false;
  }
  return true;
}

bool RecordScenario::migrate(std::string* err) {
  using namespace bhyve_glue;
  // What bhyve does around a live migration (viona-behaviour.md 1.4, 6.2):
  // pause every ring, read its state, and on the destination set the same
  // state on fresh rings, route their MSIs again (ring init zeroes them)
  // and kick them. Here source and destination are the same device, with
  // a reset in between.
  struct Saved {
    uint16_t ring;
    vioc_ring_state_t st;
    uint64_t msi_addr, msi_msg;
  };
  std::vector<Saved> rings;
  dev_->with_link([&](viona::Link* l) {
    for (uint16_t i = 0; l != nullptr && i < 2; i++) {
      if (!l->ring(i).mapped()) continue;
      Saved s{};
      s.ring = i;
      s.msi_addr = l->ring(i).msi_addr();
      s.msi_msg = l->ring(i).msi_msg();
      rings.push_back(s);
    }
    return 0;
  });
  auto call = [&](int cmd, intptr_t arg, const char* what, uint16_t ring) {
    const int rc = dev_->ioctl(cmd, arg);
    if (rc < 0) *err = std::string("--migrate-at: ") + what + " of ring " + std::to_string(ring) +
                       " failed with errno " + std::to_string(-rc);
    return rc >= 0;
  };
  for (Saved& s : rings) {
    if (!call(VNA_IOC_RING_PAUSE, s.ring, "VNA_IOC_RING_PAUSE", s.ring)) return false;
  }
  for (Saved& s : rings) {
    s.st.vrs_index = s.ring;
    if (!call(VNA_IOC_RING_GET_STATE, reinterpret_cast<intptr_t>(&s.st), "VNA_IOC_RING_GET_STATE", s.ring)) {
      return false;
    }
  }
  for (Saved& s : rings) {
    if (!call(VNA_IOC_RING_RESET, s.ring, "VNA_IOC_RING_RESET", s.ring)) return false;
  }
  for (Saved& s : rings) {
    vioc_ring_state_t st = s.st;
    if (!call(VNA_IOC_RING_SET_STATE, reinterpret_cast<intptr_t>(&st), "VNA_IOC_RING_SET_STATE", s.ring)) {
      // Newest viona wants every part page aligned on a non-modern link;
      // the legacy layout puts avail at desc + 16 * qsize.
      if (st.vrs_qsize < 256) *err += " (a legacy ring's parts are page aligned only from queue size 256)";
      return false;
    }
    if (s.msi_addr != 0) {
      vioc_ring_msi_t m{s.ring, {0, 0, 0}, s.msi_addr, s.msi_msg};
      if (!call(VNA_IOC_RING_SET_MSI, reinterpret_cast<intptr_t>(&m), "VNA_IOC_RING_SET_MSI", s.ring)) return false;
    }
  }
  for (Saved& s : rings) {
    if (!call(VNA_IOC_RING_KICK, s.ring, "VNA_IOC_RING_KICK", s.ring)) return false;
  }
  return true;
}

}  // namespace viona_rr
