// SPDX-License-Identifier: MIT
// live_backend.cpp: pcap_create/pcap_activate capture and pcap_inject transmit.
#include "bhyve_glue/backend/live_backend.h"

#include <pcap/pcap.h>
#include <poll.h>

#include "viona/tx_finish.h"

namespace bhyve_glue {

std::unique_ptr<LiveBackend> LiveBackend::open(const std::string& ifname, const std::string& filter,
                                               std::string* err) {
  std::unique_ptr<LiveBackend> b(new LiveBackend());
  char ebuf[PCAP_ERRBUF_SIZE] = {0};
  b->p_ = pcap_create(ifname.c_str(), ebuf);
  if (b->p_ == nullptr) {
    *err = ifname + ": " + ebuf;
    return nullptr;
  }
  pcap_set_snaplen(b->p_, 262144);
  pcap_set_promisc(b->p_, 1);
  pcap_set_immediate_mode(b->p_, 1);
  pcap_set_timeout(b->p_, 10);
  int r = pcap_activate(b->p_);
  if (r < 0) {
    *err = ifname + ": cannot capture: " + pcap_geterr(b->p_);
    return nullptr;
  }
  if (pcap_datalink(b->p_) != DLT_EN10MB) {
    *err = ifname + ": link type " + std::to_string(pcap_datalink(b->p_)) + " is not Ethernet";
    return nullptr;
  }
  (void)pcap_setdirection(b->p_, PCAP_D_IN);  // not everywhere; filter otherwise
  if (!filter.empty()) {
    bpf_program prog;
    if (pcap_compile(b->p_, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(b->p_, &prog) != 0) {
      *err = "filter \"" + filter + "\": " + pcap_geterr(b->p_);
      return nullptr;
    }
    pcap_freecode(&prog);
  }
  if (pcap_setnonblock(b->p_, 1, ebuf) != 0) {
    *err = ifname + ": " + ebuf;
    return nullptr;
  }
  return b;
}

LiveBackend::~LiveBackend() {
  if (p_ != nullptr) pcap_close(p_);
}

void LiveBackend::transmit(viona::TxPacket&& pkt) {
  for (const auto& f : viona::finish_for_wire(pkt)) {
    if (pcap_inject(p_, f.data(), f.size()) < 0) inject_errors_++;
  }
}

namespace {
struct Collect {
  std::vector<BackendFrame>* out;
  size_t n;
};
void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  Collect* c = reinterpret_cast<Collect*>(user);
  BackendFrame f;
  f.data.assign(bytes, bytes + h->caplen);
  c->out->push_back(std::move(f));
  c->n++;
}
}  // namespace

size_t LiveBackend::rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) {
  Collect c{out, 0};
  int r = pcap_dispatch(p_, static_cast<int>(max), on_packet, reinterpret_cast<u_char*>(&c));
  if (r == 0 && timeout_ms > 0) {
    const int fd = pcap_get_selectable_fd(p_);
    if (fd >= 0) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) > 0) {
        (void)pcap_dispatch(p_, static_cast<int>(max), on_packet, reinterpret_cast<u_char*>(&c));
      }
    }
  }
  return c.n;
}

}  // namespace bhyve_glue
