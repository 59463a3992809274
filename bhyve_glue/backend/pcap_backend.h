// SPDX-License-Identifier: MIT
// pcap_backend.h: RX frames from a capture file, TX frames to a capture file (libpcap).
#ifndef BHYVE_GLUE_BACKEND_PCAP_BACKEND_H_
#define BHYVE_GLUE_BACKEND_PCAP_BACKEND_H_

#include <memory>
#include <string>

#include "bhyve_glue/backend/backend.h"

struct pcap;
struct pcap_dumper;

namespace bhyve_glue {

// Reads pcap and pcapng through libpcap (nanosecond precision requested,
// so any file precision is accepted) with an optional BPF filter compiled
// by libpcap. Refuses, with a one-line message, a file it cannot open, a
// link type other than Ethernet, and a frame whose caplen < len (a
// truncated capture would deliver frames that never existed).
// TX packets are finished for the wire (viona::finish_for_wire: checksums,
// segmentation) and written with pcap_dump, timestamps 0.000001 s apart
// from 0 so the output is the same on every run.
class PcapBackend : public Backend {
 public:
  // |rx_path| may be empty (no RX), |tx_path| empty (TX discarded).
  static std::unique_ptr<PcapBackend> open(const std::string& rx_path, const std::string& filter,
                                           const std::string& tx_path, std::string* err);
  ~PcapBackend() override;

  const char* kind() const override { return "pcap"; }
  // The offloads this backend declares (none unless set): what a NIC under
  // the link would offer. TX output is finished for the wire either way.
  viona::OffloadCaps offload_caps() const override { return caps_; }
  void set_offload_caps(const viona::OffloadCaps& caps) { caps_ = caps; }
  void transmit(viona::TxPacket&& pkt) override;
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override;
  bool rx_exhausted() const override { return rx_ == nullptr || eof_; }
  // Set when reading stopped on a bad record; rx_exhausted() is then true.
  const std::string& rx_error() const { return rx_error_; }
  uint64_t frames_read() const { return read_; }
  uint64_t frames_written() const { return written_; }

 private:
  PcapBackend() = default;
  pcap* rx_ = nullptr;
  pcap* dead_ = nullptr;
  pcap_dumper* dump_ = nullptr;
  std::string rx_path_;
  bool eof_ = false;
  std::string rx_error_;
  uint64_t read_ = 0;
  uint64_t written_ = 0;
  viona::OffloadCaps caps_;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_BACKEND_PCAP_BACKEND_H_
