// SPDX-License-Identifier: MIT
// tap_backend.h: a Linux TAP device (/dev/net/tun) under the link.
#ifndef BHYVE_GLUE_BACKEND_TAP_BACKEND_H_
#define BHYVE_GLUE_BACKEND_TAP_BACKEND_H_

#include <memory>
#include <string>

#include "bhyve_glue/backend/backend.h"

namespace bhyve_glue {

// IFF_TAP | IFF_NO_PI: one read = one Ethernet frame from the host stack,
// one write = one frame to it. TX packets are finished for the wire first.
// Linux only: open() fails with "tap backend needs Linux" elsewhere.
class TapBackend : public Backend {
 public:
  // |ifname| empty: the kernel picks the name (see name()).
  static std::unique_ptr<TapBackend> open(const std::string& ifname, std::string* err);
  ~TapBackend() override;

  const char* kind() const override { return "tap"; }
  const std::string& name() const { return name_; }
  void transmit(viona::TxPacket&& pkt) override;
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override;
  uint64_t write_errors() const { return write_errors_; }

 private:
  TapBackend() = default;
  int fd_ = -1;
  std::string name_;
  uint64_t write_errors_ = 0;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_BACKEND_TAP_BACKEND_H_
