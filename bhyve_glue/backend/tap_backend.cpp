// SPDX-License-Identifier: MIT
// tap_backend.cpp: /dev/net/tun in TAP mode, non-blocking reads with poll(2).
#include "bhyve_glue/backend/tap_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifdef __linux__
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#endif

#include "viona/tx_finish.h"

namespace bhyve_glue {

std::unique_ptr<TapBackend> TapBackend::open(const std::string& ifname, std::string* err) {
#ifdef __linux__
  std::unique_ptr<TapBackend> b(new TapBackend());
  b->fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (b->fd_ < 0) {
    *err = std::string("/dev/net/tun: ") + std::strerror(errno);
    return nullptr;
  }
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ifname.size() >= IFNAMSIZ) {
    *err = "tap name \"" + ifname + "\" is too long";
    return nullptr;
  }
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (::ioctl(b->fd_, TUNSETIFF, &ifr) != 0) {
    *err = "TUNSETIFF " + ifname + ": " + std::strerror(errno);
    return nullptr;
  }
  b->name_ = ifr.ifr_name;
  return b;
#else
  *err = "tap backend needs Linux";
  return nullptr;
#endif
}

TapBackend::~TapBackend() {
  if (fd_ >= 0) ::close(fd_);
}

void TapBackend::transmit(viona::TxPacket&& pkt) {
  for (const auto& f : viona::finish_for_wire(pkt)) {
    if (::write(fd_, f.data(), f.size()) != static_cast<ssize_t>(f.size())) write_errors_++;
  }
}

size_t TapBackend::rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) {
  size_t n = 0;
  std::vector<uint8_t> buf(65536 + 18);
  while (n < max) {
    ssize_t r = ::read(fd_, buf.data(), buf.size());
    if (r > 0) {
      BackendFrame f;
      f.data.assign(buf.data(), buf.data() + r);
      out->push_back(std::move(f));
      n++;
      continue;
    }
    if (n == 0 && timeout_ms > 0 && r < 0 && errno == EAGAIN) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) > 0) {
        timeout_ms = 0;
        continue;
      }
    }
    break;
  }
  return n;
}

}  // namespace bhyve_glue
