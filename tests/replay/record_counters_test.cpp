// SPDX-License-Identifier: MIT
// record_counters_test.cpp: issue 6's rule: recording each shared capture
// with linux-mrg and linux-small at MTU 1500 and 9000 gives a trace whose
// final counters (what inspect prints) are the ones the port reported.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "replay/record_session.h"
#include "replay/trace_reader.h"
#include "tests/support/pcap_frames.h"
#include "tests/support/temp_dir.h"

using viona_rr::RecordSpec;
using viona_rr::RecordSummary;

TEST_CASE("record: every shared capture x {linux-mrg, linux-small} x {1500, 9000}: the trace holds the port's counters") {
  viona::test::TempDir dir("record_counters_test");
  const char* captures[] = {"tcpreplay__test.pcap", "tcpdump__gso-ipv4.pcap", "tcpdump__bigtcp-ipv4.pcap",
                            "tcpdump__802.1ad_QinQ.pcap", "tcpdump__ldp-common-session.pcap"};
  const std::map<std::string, uint64_t> frames = {{"tcpreplay__test.pcap", 179},
                                                  {"tcpdump__gso-ipv4.pcap", 1},
                                                  {"tcpdump__bigtcp-ipv4.pcap", 1},
                                                  {"tcpdump__802.1ad_QinQ.pcap", 2},
                                                  {"tcpdump__ldp-common-session.pcap", 22}};
  int n = 0;
  for (const char* cap : captures) {
    for (const char* guest : {"linux-mrg", "linux-small"}) {
      for (unsigned mtu : {1500u, 9000u}) {
        RecordSpec spec;
        spec.pcap = viona::test::shared_pcap(cap);
        spec.guest = guest;
        spec.mtu = mtu;
        spec.ring_size = 256;
        spec.out = dir.file(std::to_string(n++) + ".trace");
        CAPTURE(spec.pcap);
        CAPTURE(spec.guest);
        CAPTURE(mtu);
        RecordSummary sum;
        std::string err;
        REQUIRE_MESSAGE(viona_rr::record_session(spec, &sum, &err), err);
        CHECK(sum.frames == frames.at(cap));
        CHECK(sum.accepted + sum.dropped == sum.frames);
        // The jumbo frames go through only where the MTU lets them in.
        // linux-small's one 1518-byte buffer cannot take the 7306-byte frame
        // at MTU 9000: viona copies what fits and flags the frame.
        const bool mrg = std::string(guest) == "linux-mrg";
        const bool jumbo_short = std::string(cap) == "tcpdump__gso-ipv4.pcap" && mtu == 9000 && !mrg;
        if (std::string(cap) == "tcpdump__gso-ipv4.pcap") CHECK(sum.accepted == (mtu == 9000 && mrg ? 1u : 0u));
        if (jumbo_short) {
          CHECK(sum.rings[0].rs.rs_too_short == 1);
          CHECK(sum.rings[0].rs.rs_bad_rx_frame == 1);
          CHECK(sum.rings[0].vts.vts_errors == 1);
        }
        if (std::string(cap) == "tcpdump__bigtcp-ipv4.pcap") CHECK(sum.dropped == 1);

        viona_rr::TraceError terr;
        auto r = viona_rr::TraceReader::open(spec.out, &terr);
        REQUIRE_MESSAGE(r, terr.message);
        CHECK(r->complete());
        std::vector<viona_rr::TraceCounterSnapshot> snaps;
        REQUIRE(r->read_counters(&snaps).ok());
        std::map<uint16_t, const viona_rr::TraceCounterSnapshot*> last;
        for (const auto& s : snaps) last[s.ring] = &s;
        REQUIRE(last.size() == sum.rings.size());
        for (const auto& ring : sum.rings) {
          CAPTURE(ring.ring);
          REQUIRE(last.count(ring.ring) == 1);
          CHECK(last[ring.ring]->rs == ring.rs);
          CHECK(last[ring.ring]->vts == ring.vts);
        }
        // RX: every frame is counted as accepted or dropped on ring 0.
        CHECK(sum.rings[0].vts.vts_packets == sum.accepted);
        CHECK(sum.rings[0].rs.rs_rx_drop_over_mtu + (jumbo_short ? 1 : 0) == sum.dropped);
        uint64_t packets = 0;
        REQUIRE(r->count_rows("packets", &packets).ok());
        CHECK(packets == sum.frames);
      }
    }
  }
}
