// SPDX-License-Identifier: MIT
// loopback.cpp: the in-process wire between two devices.
#include "bhyve_glue/backend/loopback.h"

#include <chrono>

namespace bhyve_glue {

LoopbackWire::LoopbackWire() {
  a_.wire_ = this;
  a_.peer_ = &b_;
  b_.wire_ = this;
  b_.peer_ = &a_;
}

void LoopbackEnd::transmit(viona::TxPacket&& pkt) {
  BackendFrame f;
  f.data = pkt.flatten();
  {
    std::lock_guard<std::mutex> g(wire_->mu_);
    peer_->q_.push_back(std::move(f));
  }
  wire_->cv_.notify_all();
}

size_t LoopbackEnd::rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) {
  std::unique_lock<std::mutex> g(wire_->mu_);
  if (q_.empty() && timeout_ms > 0) {
    wire_->cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [this] { return !q_.empty(); });
  }
  size_t n = 0;
  while (n < max && !q_.empty()) {
    out->push_back(std::move(q_.front()));
    q_.pop_front();
    n++;
  }
  return n;
}

size_t LoopbackEnd::queued() const {
  std::lock_guard<std::mutex> g(wire_->mu_);
  return q_.size();
}

}  // namespace bhyve_glue
