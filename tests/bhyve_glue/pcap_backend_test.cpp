// SPDX-License-Identifier: MIT
// pcap_backend_test.cpp: capture-file RX (all 179 frames, filter, refusals) and TX to a file.
#include <doctest/doctest.h>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>

#include "bhyve_glue/backend/pcap_backend.h"
#include "tests/support/pcap_frames.h"

using namespace bhyve_glue;

namespace {

std::string tmp_path(const char* tag) {
  return "/tmp/viona_glue_" + std::to_string(getpid()) + "_" + tag + ".pcap";
}

// Writes a capture of link type |dlt| with one record whose caplen/len are given.
void write_capture(const std::string& path, int dlt, uint32_t caplen, uint32_t len) {
  pcap_t* dead = pcap_open_dead(dlt, 65535);
  REQUIRE(dead != nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  REQUIRE(d != nullptr);
  std::vector<uint8_t> bytes(caplen, 0xab);
  pcap_pkthdr h{};
  h.caplen = caplen;
  h.len = len;
  pcap_dump(reinterpret_cast<u_char*>(d), &h, bytes.data());
  pcap_dump_close(d);
  pcap_close(dead);
}

}  // namespace

TEST_CASE("pcap backend reads all 179 frames of tcpreplay__test.pcap, byte for byte") {
  const std::string path = viona::test::shared_pcap("tcpreplay__test.pcap");
  auto want = viona::test::read_pcap_frames(path);
  REQUIRE(want.size() == 179);
  std::string err;
  auto be = PcapBackend::open(path, "", "", &err);
  REQUIRE_MESSAGE(be, err);
  std::vector<BackendFrame> got;
  while (be->rx_pull(&got, 16, 0) != 0) {
  }
  CHECK(be->rx_exhausted());
  CHECK(be->rx_error().empty());
  REQUIRE(got.size() == 179);
  CHECK(be->frames_read() == 179);
  for (size_t i = 0; i < got.size(); i++) CHECK(got[i].data == want[i]);
}

TEST_CASE("pcap backend: a BPF filter compiled by libpcap selects frames") {
  const std::string path = viona::test::shared_pcap("tcpreplay__test.pcap");
  std::string err;
  auto all_arp = PcapBackend::open(path, "arp", "", &err);
  REQUIRE_MESSAGE(all_arp, err);
  std::vector<BackendFrame> got;
  while (all_arp->rx_pull(&got, 16, 0) != 0) {
  }
  // Count ARP frames independently (ethertype 0x0806, untagged).
  size_t arp = 0;
  for (const auto& f : viona::test::read_pcap_frames(path)) {
    if (f.size() >= 14 && f[12] == 0x08 && f[13] == 0x06) arp++;
  }
  CHECK(arp > 0);
  CHECK(got.size() == arp);
  CHECK_FALSE(PcapBackend::open(path, "not a ( filter", "", &err));
  CHECK(err.rfind("filter \"not a ( filter\": ", 0) == 0);
}

TEST_CASE("pcap backend refuses unreadable files, non-Ethernet link types, caplen < len") {
  std::string err;
  CHECK_FALSE(PcapBackend::open("/nonexistent/x.pcap", "", "", &err));
  CHECK(err.rfind("/nonexistent/x.pcap: cannot read capture: ", 0) == 0);
  CHECK(err.find('\n') == std::string::npos);

  const std::string raw = tmp_path("raw");
  write_capture(raw, DLT_RAW, 40, 40);
  CHECK_FALSE(PcapBackend::open(raw, "", "", &err));
  CHECK(err.find("is not Ethernet") != std::string::npos);
  std::remove(raw.c_str());

  const std::string cut = tmp_path("cut");
  write_capture(cut, DLT_EN10MB, 64, 1514);
  CHECK_FALSE(PcapBackend::open(cut, "", "", &err));
  CHECK(err == cut + ": frame 1 truncated: caplen 64 < len 1514");
  std::remove(cut.c_str());
}

TEST_CASE("pcap backend writes TX packets finished for the wire, deterministic timestamps") {
  const std::string out = tmp_path("tx");
  std::string err;
  {
    auto be = PcapBackend::open("", "", out, &err);
    REQUIRE_MESSAGE(be, err);
    CHECK(be->rx_exhausted());
    for (uint8_t i = 0; i < 3; i++) {
      viona::TxPacket pkt;
      pkt.head.assign(60 + i, i);
      pkt.len = 60 + i;
      be->transmit(std::move(pkt));
    }
    CHECK(be->frames_written() == 3);
  }
  auto frames = viona::test::read_pcap_frames(out);
  REQUIRE(frames.size() == 3);
  CHECK(frames[2] == std::vector<uint8_t>(62, 2));
  std::remove(out.c_str());
}
