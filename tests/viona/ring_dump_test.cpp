// SPDX-License-Identifier: MIT
// ring_dump_test.cpp: the mdb-style ring dump, exact text.
#include "viona/ring_dump.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/support/guest_fixture.h"
#include "tests/support/mock_split_queue.h"

namespace viona {
namespace test {

TEST_CASE("ring_dump: the RX ring of illumos bug 14032, field for field") {
  // Same state and counters as the dump in the bug report (vr_size 0x400,
  // indices 0x579c, rs_no_space 0x14f86, rs_bad_rx_frame / rs_too_short 0xef8b7).
  GuestFixture g;
  Link link(&g.mem);
  MockSplitQueue q(g.mem, GuestFixture::kBase, 1024);
  q.set_avail_idx(0x579c);
  RingState st;
  st.index = 0;
  st.qsize = 1024;
  st.desc = q.desc_pa();
  st.avail = q.avail_pa();
  st.used = q.used_pa();
  st.avail_idx = 0x579c;
  st.used_idx = 0x579c;
  link.set_features(VIRTIO_F_VERSION_1);
  REQUIRE(link.ring_set_state(st) == 0);
  REQUIRE(link.ring_kick(0) == 0);
  REQUIRE(link.ring_set_msi(0, 0xfee00000, 0x4082) == 0);
  Ring& r = link.ring(0);
  r.rs.rs_no_space = 0x14f86;
  r.rs.rs_bad_rx_frame = 0xef8b7;
  r.rs.rs_rx_pad_short = 0x102;
  r.rs.rs_too_short = 0xef8b7;
  r.vts.vts_packets = 10;
  r.vts.vts_bytes = 15140;

  const std::string want =
      "{\n"
      "    vr_index = 0\n"
      "    vr_state = 0x3\n"
      "    vr_state_flags = 0\n"
      "    vr_xfer_outstanding = 0\n"
      "    vr_intr_enabled = 0\n"
      "    vr_msi_addr = 0xfee00000\n"
      "    vr_msi_msg = 0x4082\n"
      "    vr_pa = 0x100000\n"
      "    vr_size = 0x400\n"
      "    vr_mask = 0x3ff\n"
      "    vr_cur_aidx = 0x579c\n"
      "    vr_cur_uidx = 0x579c\n"
      "    vr_desc_pa = 0x100000\n"
      "    vr_avail_pa = 0x104000\n"
      "    vr_used_pa = 0x105000\n"
      "    vr_stats = {\n"
      "        rs_ndesc_too_high = 0\n"
      "        rs_bad_idx = 0\n"
      "        rs_indir_bad_len = 0\n"
      "        rs_indir_bad_nest = 0\n"
      "        rs_indir_bad_next = 0\n"
      "        rs_no_space = 0x14f86\n"
      "        rs_too_many_desc = 0\n"
      "        rs_desc_bad_len = 0\n"
      "        rs_len_overflow = 0\n"
      "        rs_bad_ring_addr = 0\n"
      "        rs_fail_hcksum = 0\n"
      "        rs_fail_hcksum6 = 0\n"
      "        rs_fail_hcksum_proto = 0\n"
      "        rs_bad_rx_frame = 0xef8b7\n"
      "        rs_rx_merge_overrun = 0\n"
      "        rs_rx_merge_underrun = 0\n"
      "        rs_rx_pad_short = 0x102\n"
      "        rs_rx_mcast_check = 0\n"
      "        rs_rx_drop_over_mtu = 0\n"
      "        rs_rx_gro_fallback = 0\n"
      "        rs_rx_gro_fallback_fail = 0\n"
      "        rs_too_short = 0xef8b7\n"
      "        rs_tx_absent = 0\n"
      "        rs_tx_gso_fail = 0\n"
      "        rs_rx_hookdrop = 0\n"
      "        rs_tx_hookdrop = 0\n"
      "    }\n"
      "    vr_transfer_stats = {\n"
      "        vts_packets = 0xa\n"
      "        vts_bytes = 0x3b24\n"
      "        vts_errors = 0\n"
      "        vts_drops = 0\n"
      "    }\n"
      "}\n";
  CHECK(dump_vring(r) == want);
  CHECK(dump_vring(r, &link) == want);  // RX ring: no vr_tx
}

TEST_CASE("ring_dump: a reset TX ring with its link parameters") {
  GuestFixture g;
  Link link(&g.mem);
  link.params.tx_copy_data = false;
  link.params.tx_header_pad = 32;
  Ring& r = link.ring(1);
  const std::string s = dump_vring(r, &link);
  CHECK(s.find("    vr_index = 0x1\n    vr_state = 0\n") != std::string::npos);
  CHECK(s.find("    vr_tx = {\n        vrt_iov_cnt = 0\n        vrt_header_pad = 0x20\n        vrt_copy_data = 0\n    }\n") !=
        std::string::npos);
  CHECK(s.find("    vr_size = 0\n    vr_mask = 0\n") != std::string::npos);
  CHECK(dump_vring(r).find("vr_tx") == std::string::npos);
  // Every counter appears once, and nothing looks like a host pointer.
  for (size_t i = 0; i < kRsCounterCount; i++) {
    const std::string name = std::string("        rs_") + rs_counter_name(static_cast<RsCounter>(i)) + " = 0\n";
    CHECK(s.find(name) != std::string::npos);
  }
  CHECK(s.find("0x7f") == std::string::npos);
  CHECK(s.find("0x5") == std::string::npos);
}

}  // namespace test
}  // namespace viona
