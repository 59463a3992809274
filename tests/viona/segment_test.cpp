// SPDX-License-Identifier: MIT
// segment_test.cpp: software TSO (mac_hw_emul's LSO emulation) on the shared
// Linux GSO and BIG TCP captures.
#include "viona/segment.h"

#include <doctest/doctest.h>

#include <vector>

#include "tests/support/independent_checksum.h"
#include "tests/support/pcap_frames.h"

namespace viona {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes only_frame(const char* name) {
  std::vector<Bytes> frames = test::read_pcap_frames(test::shared_pcap(name));
  REQUIRE(frames.size() == 1);
  return frames[0];
}

uint16_t get16(const Bytes& f, size_t off) { return uint16_t((f[off] << 8) | f[off + 1]); }
uint32_t get32(const Bytes& f, size_t off) {
  return (uint32_t(get16(f, off)) << 16) | get16(f, off + 2);
}
void set16(Bytes* f, size_t off, uint16_t v) {
  (*f)[off] = uint8_t(v >> 8);
  (*f)[off + 1] = uint8_t(v);
}

constexpr uint8_t kFin = 0x01, kPsh = 0x08, kCwr = 0x80;

// Checks every rule of tso_segment for a frame with headers of |l2|, |l3|,
// |l4| bytes and |payload| payload bytes.
void check_segments(const Bytes& orig, size_t l2, size_t l3, size_t l4, size_t payload, uint16_t mss,
                    const std::vector<Bytes>& segs) {
  const size_t hdrs = l2 + l3 + l4;
  const size_t want = (payload + mss - 1) / mss;
  REQUIRE(segs.size() == want);
  const uint16_t id0 = get16(orig, l2 + 4);
  const uint32_t seq0 = get32(orig, l2 + l3 + 4);
  const uint8_t flags0 = orig[l2 + l3 + 13];
  Bytes joined;
  for (size_t k = 0; k < segs.size(); k++) {
    CAPTURE(k);
    const Bytes& s = segs[k];
    const size_t n = k + 1 < segs.size() ? mss : payload - mss * (segs.size() - 1);
    REQUIRE(s.size() == hdrs + n);
    CHECK(get16(s, l2 + 2) == l3 + l4 + n);
    CHECK(get16(s, l2 + 4) == uint16_t(id0 + k));
    CHECK(get32(s, l2 + l3 + 4) == seq0 + uint32_t(k * mss));
    uint8_t want_flags = flags0;
    if (k + 1 < segs.size()) want_flags &= uint8_t(~(kFin | kPsh));
    if (k > 0) want_flags &= uint8_t(~kCwr);
    CHECK(s[l2 + l3 + 13] == want_flags);
    CHECK(test::ipv4_header_checksum_ok(s));
    CHECK(test::tcp_checksum_ok(s));
    // Everything else in the headers is the original's, byte for byte.
    for (size_t i = 0; i < hdrs; i++) {
      size_t ip = i - l2, tcp = i - l2 - l3;
      bool patched = (i >= l2 && i < l2 + l3 && (ip == 2 || ip == 3 || ip == 4 || ip == 5 || ip == 10 || ip == 11)) ||
                     (i >= l2 + l3 && ((tcp >= 4 && tcp < 8) || tcp == 13 || tcp == 16 || tcp == 17));
      if (!patched && s[i] != orig[i]) {
        CAPTURE(i);
        FAIL("header byte changed");
      }
    }
    joined.insert(joined.end(), s.begin() + hdrs, s.end());
  }
  CHECK(joined.size() == payload);
  CHECK(joined == Bytes(orig.begin() + hdrs, orig.begin() + hdrs + payload));
}

TEST_CASE("tso_segment: Linux GSO TCP/IPv4 capture at MSS 1448") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  REQUIRE(f.size() == 7306);
  REQUIRE(get16(f, 16) == 7292);
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1448, &segs));
  // 7292 - 20 - 32 = 7240 payload bytes = exactly 5 * 1448.
  check_segments(f, 14, 20, 32, 7240, 1448, segs);
  CHECK(segs.size() == 5);
  CHECK(segs.back().size() == 14 + 20 + 32 + 1448);
  CHECK(segs[0][14 + 20 + 13] == 0x10);  // ACK only: PSH moved to the last
  CHECK(segs[4][14 + 20 + 13] == 0x18);
}

TEST_CASE("tso_segment: Linux GSO capture at an MSS leaving a short last segment") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1000, &segs));
  check_segments(f, 14, 20, 32, 7240, 1000, segs);
  CHECK(segs.size() == 8);
  CHECK(segs.back().size() == 66 + 240);
}

TEST_CASE("tso_segment: BIG TCP (IPv4 total length 0) at MSS 1448 and 8948") {
  Bytes f = only_frame("tcpdump__bigtcp-ipv4.pcap");
  REQUIRE(f.size() == 80066);
  REQUIRE(get16(f, 16) == 0);
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1448, &segs));
  check_segments(f, 14, 20, 32, 80000, 1448, segs);
  CHECK(segs.size() == 56);
  CHECK(segs.back().size() == 66 + 360);

  REQUIRE(tso_segment(f.data(), f.size(), 8948, &segs));
  check_segments(f, 14, 20, 32, 80000, 8948, segs);
  CHECK(segs.size() == 9);
  CHECK(segs.back().size() == 66 + 8416);
}

TEST_CASE("tso_segment: FIN and PSH only on the last segment, CWR only on the first") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  f[14 + 20 + 13] = 0x10 | kFin | kPsh | kCwr;
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1448, &segs));
  check_segments(f, 14, 20, 32, 7240, 1448, segs);
  REQUIRE(segs.size() == 5);
  CHECK(segs[0][47] == (0x10 | kCwr));
  CHECK(segs[1][47] == 0x10);
  CHECK(segs[3][47] == 0x10);
  CHECK(segs[4][47] == (0x10 | kFin | kPsh));
}

TEST_CASE("tso_segment: IPv4 ID and TCP sequence wrap around") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  set16(&f, 14 + 4, 0xfffe);
  set16(&f, 14 + 20 + 4, 0xffff);  // seq 0xfffffxxx
  set16(&f, 14 + 20 + 6, 0xf000);
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1448, &segs));
  check_segments(f, 14, 20, 32, 7240, 1448, segs);
  CHECK(get16(segs[2], 18) == 0x0000);
  CHECK(get32(segs[3], 38) == 0x000000f8u);  // 0xfffff000 + 3 * 1448 mod 2^32
}

TEST_CASE("tso_segment: 802.1Q-tagged frame keeps its tag in every segment") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  const uint8_t tag[] = {0x81, 0x00, 0x00, 0x64};
  f.insert(f.begin() + 12, tag, tag + 4);
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 1448, &segs));
  check_segments(f, 18, 20, 32, 7240, 1448, segs);
}

TEST_CASE("tso_segment: payload within the MSS gives one finished segment") {
  Bytes f = only_frame("tcpdump__gso-ipv4.pcap");
  std::vector<Bytes> segs;
  REQUIRE(tso_segment(f.data(), f.size(), 7240, &segs));
  check_segments(f, 14, 20, 32, 7240, 7240, segs);
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].size() == f.size());
  REQUIRE(tso_segment(f.data(), f.size(), 65000, &segs));
  CHECK(segs.size() == 1);
  // Ethernet padding past the IPv4 total length is not payload.
  Bytes padded = f;
  set16(&padded, 16, 20 + 32 + 100);
  REQUIRE(tso_segment(padded.data(), padded.size(), 1448, &segs));
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].size() == 66 + 100);
  CHECK(test::tcp_checksum_ok(segs[0]));
}

TEST_CASE("tso_segment: refusals leave out empty") {
  Bytes gso = only_frame("tcpdump__gso-ipv4.pcap");
  std::vector<Bytes> ldp = test::read_pcap_frames(test::shared_pcap("tcpdump__ldp-common-session.pcap"));
  std::vector<Bytes> qinq = test::read_pcap_frames(test::shared_pcap("tcpdump__802.1ad_QinQ.pcap"));
  REQUIRE(ldp.size() == 22);
  REQUIRE(qinq.size() == 2);
  const std::vector<Bytes> junk = {Bytes{1, 2, 3}};
  std::vector<Bytes> out = junk;

  CHECK_FALSE(tso_segment(gso.data(), gso.size(), 0, &out));  // mss 0
  CHECK(out.empty());
  out = junk;
  CHECK_FALSE(tso_segment(ldp[2].data(), ldp[2].size(), 1448, &out));  // UDP
  CHECK(out.empty());
  out = junk;
  CHECK_FALSE(tso_segment(qinq[0].data(), qinq[0].size(), 1448, &out));  // ARP
  CHECK(out.empty());
  out = junk;
  CHECK_FALSE(tso_segment(gso.data(), 14 + 20 + 31, 1448, &out));  // TCP header cut
  CHECK(out.empty());
  out = junk;
  CHECK_FALSE(tso_segment(gso.data(), 5000, 1448, &out));  // total length > frame
  CHECK(out.empty());
  out = junk;
  CHECK_FALSE(tso_segment(nullptr, 0, 1448, &out));
  CHECK(out.empty());
  CHECK_FALSE(tso_segment(gso.data(), gso.size(), 1448, nullptr));

  Bytes frag = gso;
  frag[14 + 6] = 0x20;  // MF set: a first fragment
  out = junk;
  CHECK_FALSE(tso_segment(frag.data(), frag.size(), 1448, &out));
  CHECK(out.empty());

  // A segment would exceed IP_MAXPACKET: 20 + 32 + 65500 > 65535.
  Bytes big = only_frame("tcpdump__bigtcp-ipv4.pcap");
  out = junk;
  CHECK_FALSE(tso_segment(big.data(), big.size(), 65500, &out));
  CHECK(out.empty());
  REQUIRE(tso_segment(big.data(), big.size(), 65483, &out));  // exactly 65535
  CHECK(out.size() == 2);

  // Every prefix of the headers: refused or segmented, never a crash.
  for (size_t n = 0; n <= 80; n++) {
    Bytes p(gso.begin(), gso.begin() + n);
    out = junk;
    CHECK_FALSE(tso_segment(p.data(), p.size(), 1448, &out));
    CHECK(out.empty());
  }
}

}  // namespace
}  // namespace viona
