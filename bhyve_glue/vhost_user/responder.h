// SPDX-License-Identifier: MIT
// responder.h: a backend that plays one IPv4 host: answers ARP and ICMP echo for its address.
#ifndef BHYVE_GLUE_VHOST_USER_RESPONDER_H_
#define BHYVE_GLUE_VHOST_USER_RESPONDER_H_

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "bhyve_glue/backend/backend.h"

namespace bhyve_glue {

// The far end of a ping test. Every frame the guest transmits is looked at:
// an ARP request for |ip| gets an ARP reply from |mac|, an ICMP echo request
// to |ip| gets the echo reply (addresses swapped, checksums recomputed);
// anything else is counted and ignored. Replies wait in a queue until the
// device pulls them for RX. Single-threaded: transmit() and rx_pull() are
// called from the same thread (the vhost-user server's).
class Responder : public Backend {
 public:
  static constexpr std::array<uint8_t, 4> kDefaultIp{{10, 0, 0, 1}};
  static constexpr std::array<uint8_t, 6> kDefaultMac{{0x02, 0x76, 0x68, 0x6f, 0x73, 0x74}};
  explicit Responder(std::array<uint8_t, 4> ip = kDefaultIp, std::array<uint8_t, 6> mac = kDefaultMac);

  const char* kind() const override { return "responder"; }
  void transmit(viona::TxPacket&& pkt) override;
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override;

  struct Stats {
    uint64_t tx_frames = 0;     // frames the guest sent
    uint64_t arp_replies = 0;
    uint64_t echo_replies = 0;
    uint64_t ignored = 0;       // neither an ARP request nor an echo request for us
  };
  const Stats& stats() const { return stats_; }

  // The reply to one frame, or an empty vector (exposed for tests).
  std::vector<uint8_t> answer(const uint8_t* frame, size_t len);

 private:
  std::array<uint8_t, 4> ip_;
  std::array<uint8_t, 6> mac_;
  std::deque<std::vector<uint8_t>> pending_;
  Stats stats_;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_VHOST_USER_RESPONDER_H_
