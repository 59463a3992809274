// SPDX-License-Identifier: MIT
// loopback.h: two backends joined back to back: what one guest sends, the other receives.
#ifndef BHYVE_GLUE_BACKEND_LOOPBACK_H_
#define BHYVE_GLUE_BACKEND_LOOPBACK_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "bhyve_glue/backend/backend.h"

namespace bhyve_glue {

class LoopbackWire;

// One end of a LoopbackWire. A TX packet is flattened (head + loaned bytes)
// and queued, in order, for the other end's rx_pull. No offloads are
// declared, so guests never ask for checksum or LSO work.
class LoopbackEnd : public Backend {
 public:
  const char* kind() const override { return "loopback"; }
  void transmit(viona::TxPacket&& pkt) override;
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override;
  size_t queued() const;  // frames waiting for this end's RX

 private:
  friend class LoopbackWire;
  LoopbackWire* wire_ = nullptr;
  LoopbackEnd* peer_ = nullptr;
  std::deque<BackendFrame> q_;  // protected by wire_->mu_
};

class LoopbackWire {
 public:
  LoopbackWire();
  LoopbackWire(const LoopbackWire&) = delete;
  LoopbackWire& operator=(const LoopbackWire&) = delete;
  LoopbackEnd& a() { return a_; }
  LoopbackEnd& b() { return b_; }

 private:
  friend class LoopbackEnd;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  LoopbackEnd a_, b_;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_BACKEND_LOOPBACK_H_
