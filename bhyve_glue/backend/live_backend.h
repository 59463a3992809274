// SPDX-License-Identifier: MIT
// live_backend.h: a real interface under the link: libpcap capture and inject (Linux, illumos).
#ifndef BHYVE_GLUE_BACKEND_LIVE_BACKEND_H_
#define BHYVE_GLUE_BACKEND_LIVE_BACKEND_H_

#include <memory>
#include <string>

#include "bhyve_glue/backend/backend.h"

struct pcap;

namespace bhyve_glue {

// RX: frames captured on |ifname| (promiscuous, immediate mode, inbound
// only where the platform supports it, so our own injections do not loop
// back), optionally through a BPF filter. TX: each packet finished for the
// wire (viona::finish_for_wire) and sent with pcap_inject. Declares no
// offloads: the guest's checksums are completed here.
class LiveBackend : public Backend {
 public:
  static std::unique_ptr<LiveBackend> open(const std::string& ifname, const std::string& filter, std::string* err);
  ~LiveBackend() override;

  const char* kind() const override { return "live"; }
  void transmit(viona::TxPacket&& pkt) override;
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override;
  uint64_t inject_errors() const { return inject_errors_; }

 private:
  LiveBackend() = default;
  pcap* p_ = nullptr;
  uint64_t inject_errors_ = 0;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_BACKEND_LIVE_BACKEND_H_
