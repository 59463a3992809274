// SPDX-License-Identifier: MIT
// pcap_backend.cpp: capture-file RX and TX through libpcap.
#include "bhyve_glue/backend/pcap_backend.h"

#include <pcap/pcap.h>

#include "viona/tx_finish.h"

namespace bhyve_glue {

std::unique_ptr<PcapBackend> PcapBackend::open(const std::string& rx_path, const std::string& filter,
                                               const std::string& tx_path, std::string* err) {
  std::unique_ptr<PcapBackend> b(new PcapBackend());
  char ebuf[PCAP_ERRBUF_SIZE] = {0};
  if (!rx_path.empty()) {
    b->rx_path_ = rx_path;
    b->rx_ = pcap_open_offline_with_tstamp_precision(rx_path.c_str(), PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (b->rx_ == nullptr) {
      *err = rx_path + ": cannot read capture: " + ebuf;
      return nullptr;
    }
    // A truncated record anywhere refuses the whole file, before any frame
    // reaches a guest (the scan ignores the filter).
    {
      pcap* scan = pcap_open_offline_with_tstamp_precision(rx_path.c_str(), PCAP_TSTAMP_PRECISION_NANO, ebuf);
      pcap_pkthdr* h = nullptr;
      const u_char* data = nullptr;
      uint64_t k = 0;
      int r = 0;
      while (scan != nullptr && (r = pcap_next_ex(scan, &h, &data)) == 1) {
        k++;
        if (h->caplen < h->len) {
          *err = rx_path + ": frame " + std::to_string(k) + " truncated: caplen " + std::to_string(h->caplen) +
                 " < len " + std::to_string(h->len);
          pcap_close(scan);
          return nullptr;
        }
      }
      if (scan != nullptr && r == PCAP_ERROR) {
        *err = rx_path + ": cannot read capture: " + pcap_geterr(scan);
        pcap_close(scan);
        return nullptr;
      }
      if (scan != nullptr) pcap_close(scan);
    }
    const int dlt = pcap_datalink(b->rx_);
    if (dlt != DLT_EN10MB) {
      const char* name = pcap_datalink_val_to_name(dlt);
      *err = rx_path + ": link type " + std::to_string(dlt) + " (" + (name ? name : "unknown") +
             ") is not Ethernet";
      return nullptr;
    }
    if (!filter.empty()) {
      bpf_program prog;
      if (pcap_compile(b->rx_, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        *err = "filter \"" + filter + "\": " + pcap_geterr(b->rx_);
        return nullptr;
      }
      int r = pcap_setfilter(b->rx_, &prog);
      pcap_freecode(&prog);
      if (r != 0) {
        *err = "filter \"" + filter + "\": " + pcap_geterr(b->rx_);
        return nullptr;
      }
    }
  }
  if (!tx_path.empty()) {
    b->dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_MICRO);
    b->dump_ = b->dead_ ? pcap_dump_open(b->dead_, tx_path.c_str()) : nullptr;
    if (b->dump_ == nullptr) {
      *err = tx_path + ": cannot write capture: " + (b->dead_ ? pcap_geterr(b->dead_) : "pcap_open_dead failed");
      return nullptr;
    }
  }
  return b;
}

PcapBackend::~PcapBackend() {
  if (dump_ != nullptr) pcap_dump_close(dump_);
  if (dead_ != nullptr) pcap_close(dead_);
  if (rx_ != nullptr) pcap_close(rx_);
}

void PcapBackend::transmit(viona::TxPacket&& pkt) {
  if (dump_ == nullptr) return;
  for (const auto& f : viona::finish_for_wire(pkt)) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(written_ / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(written_ % 1000000);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dump_), &h, f.data());
    written_++;
  }
  pcap_dump_flush(dump_);
}

size_t PcapBackend::rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) {
  size_t n = 0;
  while (n < max && rx_ != nullptr && !eof_) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int r = pcap_next_ex(rx_, &h, &data);
    if (r == 0) continue;  // filtered out (offline never times out)
    if (r != 1) {
      if (r != PCAP_ERROR_BREAK) rx_error_ = rx_path_ + ": " + pcap_geterr(rx_);
      eof_ = true;
      break;
    }
    read_++;
    if (h->caplen < h->len) {
      rx_error_ = rx_path_ + ": frame " + std::to_string(read_) + " truncated: caplen " + std::to_string(h->caplen) +
                  " < len " + std::to_string(h->len);
      eof_ = true;
      break;
    }
    BackendFrame f;
    f.data.assign(data, data + h->caplen);
    out->push_back(std::move(f));
    n++;
  }
  return n;
}

}  // namespace bhyve_glue
