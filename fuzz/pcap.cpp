// SPDX-License-Identifier: MIT
// pcap.cpp: libFuzzer target for PcapBackend (what record --pcap reads) on arbitrary bytes as a pcap/pcapng file.
//
// Invariants: open either succeeds or fails with a non-empty one-line
// message; once open, rx_pull hands out whole frames (never one whose
// caplen < len: open refuses those files up front) until the file is
// exhausted, frames_read() counts exactly the frames handed out, and a bad
// record mid-file stops reading with a one-line rx_error(). The first
// input byte picks a BPF filter so the filtered path is exercised too.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bhyve_glue/backend/pcap_backend.h"
#include "fuzz/fuzz_check.h"

namespace {

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/viona-fuzz-pcap-" + std::to_string(getpid()) + ".pcap";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kFilters[] = {"", "", "", "tcp", "vlan", "ether proto 0x88cc"};
  const std::string filter = kFilters[data[0] % (sizeof kFilters / sizeof kFilters[0])];
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(size == 1 || std::fwrite(data + 1, 1, size - 1, f) == size - 1);
  std::fclose(f);
  std::string err;
  std::unique_ptr<bhyve_glue::PcapBackend> b = bhyve_glue::PcapBackend::open(path, filter, "", &err);
  if (b == nullptr) {
    FUZZ_CHECK(one_line(err));
  } else {
    uint64_t got = 0;
    std::vector<bhyve_glue::BackendFrame> frames;
    for (int round = 0; round < 100000 && !b->rx_exhausted(); round++) {
      frames.clear();
      const size_t n = b->rx_pull(&frames, 16, 0);
      FUZZ_CHECK(n == frames.size() && n <= 16);
      got += n;
      if (n == 0) break;
    }
    FUZZ_CHECK(b->rx_exhausted());
    FUZZ_CHECK(b->frames_read() == got);
    FUZZ_CHECK(b->rx_error().empty() || one_line(b->rx_error()));
  }
  std::remove(path.c_str());
  return 0;
}
