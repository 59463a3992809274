// SPDX-License-Identifier: MIT
// pcap_frames.cpp: reading the shared captures with libpcap for tests.
#include "tests/support/pcap_frames.h"

#include <pcap/pcap.h>

#include <cstdlib>
#include <fstream>

namespace viona {
namespace test {

std::vector<std::vector<uint8_t>> read_pcap_frames(const std::string& path) {
  std::vector<std::vector<uint8_t>> frames;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (p == nullptr) return frames;
  struct pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  // pcap_next_ex: 1 = a frame, -2 = end of file, -1 = error (a truncated
  // file ends the list; the caller's frame count catches it).
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    frames.emplace_back(data, data + hdr->caplen);
  }
  pcap_close(p);
  return frames;
}

static bool file_exists(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

std::string shared_pcap(const std::string& name) {
  std::string candidate = "../shared/pcaps/" + name;
  if (file_exists(candidate)) return candidate;
  if (const char* dir = std::getenv("VIONA_SHARED_DIR")) {
    candidate = std::string(dir) + "/pcaps/" + name;
    if (file_exists(candidate)) return candidate;
  }
  return "/work/shared/pcaps/" + name;
}

}  // namespace test
}  // namespace viona
