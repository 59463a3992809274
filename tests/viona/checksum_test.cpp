// SPDX-License-Identifier: MIT
// checksum_test.cpp: RFC 1071 sums, frame parsing (mac_ether_offload_info's
// job) and finish_checksums against the shared captures and an independent
// verifier.
#include "viona/checksum.h"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "tests/support/independent_checksum.h"
#include "tests/support/pcap_frames.h"

namespace viona {
namespace {

using Bytes = std::vector<uint8_t>;

std::vector<Bytes> capture(const char* name) {
  return test::read_pcap_frames(test::shared_pcap(name));
}

uint16_t get16(const Bytes& f, size_t off) { return uint16_t((f[off] << 8) | f[off + 1]); }
void set16(Bytes* f, size_t off, uint16_t v) {
  (*f)[off] = uint8_t(v >> 8);
  (*f)[off + 1] = uint8_t(v);
}

// A byte-at-a-time reference sum, unlike both implementations under test.
uint32_t reference_sum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) s += (i % 2 == 0) ? uint64_t(p[i]) << 8 : p[i];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint32_t(s);
}

// A minimal IPv6/UDP frame: Ethernet, IPv6 (optionally a hop-by-hop
// extension header of 8 bytes), UDP with |payload| bytes.
Bytes make_ipv6(uint8_t l4proto, size_t l4len, bool hop_by_hop) {
  size_t ext = hop_by_hop ? 8 : 0;
  Bytes f(14 + 40 + ext + l4len, 0);
  set16(&f, 12, 0x86dd);
  f[14] = 0x60;
  set16(&f, 18, uint16_t(ext + l4len));
  f[20] = hop_by_hop ? 0 : l4proto;
  f[21] = 64;
  for (int i = 0; i < 16; i++) f[22 + i] = uint8_t(0x20 + i);  // source
  for (int i = 0; i < 16; i++) f[38 + i] = uint8_t(0x90 + i);  // destination
  if (hop_by_hop) {
    f[54] = l4proto;
    f[55] = 0;  // 8 bytes: (0 + 1) * 8
    f[56] = 1;  // PadN option filling the rest
    f[57] = 4;
  }
  size_t l4 = 54 + ext;
  for (size_t i = 0; i < l4len; i++) f[l4 + i] = uint8_t(i * 7 + 3);
  if (l4proto == 17) {
    set16(&f, l4, 5000);
    set16(&f, l4 + 2, 53);
    set16(&f, l4 + 4, uint16_t(l4len));
    set16(&f, l4 + 6, 0);
  } else {
    f[l4 + 12] = 0x50;  // data offset 5, no options
    set16(&f, l4 + 16, 0);
  }
  return f;
}

// RFC 1071 section 3: the example bytes sum to ddf2 (checksum 220d).
TEST_CASE("csum_partial: RFC 1071 numerical example") {
  const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(csum_partial(ex, sizeof ex) == 0xddf2);
  CHECK(inet_checksum(ex, sizeof ex) == 0x220d);
  // Split at an even offset, the sum continues from |initial|.
  CHECK(csum_partial(ex + 4, 4, csum_partial(ex, 4)) == 0xddf2);
  CHECK(csum_partial(nullptr, 0) == 0);
  CHECK(csum_partial(nullptr, 0, 0x1234) == 0x1234);
}

TEST_CASE("csum_partial: odd lengths pad the last byte as a high half") {
  const uint8_t one[] = {0xab};
  CHECK(csum_partial(one, 1) == 0xab00);
  const uint8_t three[] = {0x01, 0x02, 0x03};
  CHECK(csum_partial(three, 3) == 0x0402);
  // Every length 0..80 at an aligned and an unaligned start matches the
  // byte-at-a-time reference (covers the 8-byte, 2-byte and 1-byte tails).
  uint8_t buf[96];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = uint8_t(0xff - i * 13);
  for (size_t start = 0; start < 2; start++) {
    for (size_t n = 0; n <= 80; n++) {
      CAPTURE(start);
      CAPTURE(n);
      CHECK(csum_partial(buf + start, n) == reference_sum(buf + start, n));
    }
  }
}

TEST_CASE("csum_partial: all-ones data and a large initial fold to 16 bits") {
  Bytes ones(4096, 0xff);
  CHECK(csum_partial(ones.data(), ones.size()) == 0xffff);
  CHECK(inet_checksum(ones.data(), ones.size()) == 0x0000);
  CHECK(csum_partial(nullptr, 0, 0xffffffffu) == 0xffff);
  CHECK(csum_partial(nullptr, 0, 0x00012345u) == 0x2346);
}

TEST_CASE("csum_fold: end-around carry until 16 bits") {
  CHECK(csum_fold(0) == 0);
  CHECK(csum_fold(0x12345678) == 0x68ac);
  CHECK(csum_fold(0x0001fffe) == 0xffff);
  CHECK(csum_fold(0xffffffffu) == 0xffff);
  CHECK(csum_fold(0x0000ffff) == 0xffff);
}

TEST_CASE("parse_packet: 802.1ad + 802.1Q (QinQ) ARP frames") {
  std::vector<Bytes> frames = capture("tcpdump__802.1ad_QinQ.pcap");
  REQUIRE(frames.size() == 2);
  for (const Bytes& f : frames) {
    REQUIRE(f.size() == 64);
    PacketInfo pi = parse_packet(f.data(), f.size());
    CHECK(pi.l2_ok);
    CHECK(pi.l2hlen == 22);  // 14 + S-tag 4 + C-tag 4
    CHECK(pi.ethertype == 0x0806);
    CHECK_FALSE(pi.l3_ok);
    CHECK(pi.l3hlen == 0);
    CHECK(pi.l4proto == 0);
    CHECK_FALSE(pi.l4_ok);
    CHECK(pi.l4hlen == 0);
  }
}

TEST_CASE("parse_packet: ldp session, untagged TCP, 802.1Q UDP, TCP options") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  struct Expect {
    size_t index;
    uint32_t l2, l3;
    uint8_t proto;
    uint32_t l4;
  };
  const Expect expects[] = {
      {0, 14, 20, 6, 20},  // LDP over TCP
      {2, 18, 20, 17, 8},  // 802.1Q-tagged LDP hello over UDP
      {4, 14, 20, 17, 8},  // untagged hello
      {6, 14, 20, 6, 28},  // TCP with 8 bytes of options
      {12, 14, 20, 6, 20},
  };
  for (const Expect& e : expects) {
    CAPTURE(e.index);
    const Bytes& f = frames[e.index];
    PacketInfo pi = parse_packet(f.data(), f.size());
    CHECK(pi.l2_ok);
    CHECK(pi.l3_ok);
    CHECK(pi.l4_ok);
    CHECK(pi.l2hlen == e.l2);
    CHECK(pi.ethertype == 0x0800);
    CHECK(pi.l3hlen == e.l3);
    CHECK(pi.l4proto == e.proto);
    CHECK(pi.l4hlen == e.l4);
  }
}

TEST_CASE("parse_packet: IPv4 options and IPv6 extension headers") {
  // IPv4 with 8 bytes of options (ihl 7) from the GSO capture's headers.
  std::vector<Bytes> gso = capture("tcpdump__gso-ipv4.pcap");
  REQUIRE(gso.size() == 1);
  Bytes f(gso[0].begin(), gso[0].begin() + 14 + 20 + 32);
  f.insert(f.begin() + 34, 8, 0x01);  // eight NOP options
  f[14] = 0x47;
  PacketInfo pi = parse_packet(f.data(), f.size());
  CHECK(pi.l3_ok);
  CHECK(pi.l3hlen == 28);
  CHECK(pi.l4proto == 6);
  CHECK(pi.l4_ok);
  CHECK(pi.l4hlen == 32);

  Bytes v6 = make_ipv6(6, 20, false);
  pi = parse_packet(v6.data(), v6.size());
  CHECK(pi.ethertype == 0x86dd);
  CHECK(pi.l3_ok);
  CHECK(pi.l3hlen == 40);
  CHECK(pi.l4proto == 6);
  CHECK(pi.l4hlen == 20);

  Bytes hbh = make_ipv6(17, 12, true);
  pi = parse_packet(hbh.data(), hbh.size());
  CHECK(pi.l3_ok);
  CHECK(pi.l3hlen == 48);  // fixed header + one 8-byte hop-by-hop header
  CHECK(pi.l4proto == 17);
  CHECK(pi.l4_ok);
  CHECK(pi.l4hlen == 8);
}

TEST_CASE("parse_packet: truncated headers stop the parse at the last whole layer") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  const Bytes& tcp = frames[6];  // 14 + 20 + 28-byte TCP header
  PacketInfo pi = parse_packet(tcp.data(), 13);
  CHECK_FALSE(pi.l2_ok);
  CHECK(pi.l2hlen == 0);
  pi = parse_packet(tcp.data(), 33);  // IPv4 header one byte short
  CHECK(pi.l2_ok);
  CHECK_FALSE(pi.l3_ok);
  CHECK(pi.l3hlen == 0);
  pi = parse_packet(tcp.data(), 34 + 27);  // TCP options one byte short
  CHECK(pi.l3_ok);
  CHECK(pi.l4proto == 6);
  CHECK_FALSE(pi.l4_ok);
  CHECK(pi.l4hlen == 0);
  pi = parse_packet(tcp.data(), 34 + 28);
  CHECK(pi.l4_ok);
  CHECK(pi.l4hlen == 28);

  const Bytes& tagged = frames[2];  // 802.1Q: the tag's inner type cut off
  pi = parse_packet(tagged.data(), 17);
  CHECK_FALSE(pi.l2_ok);
  pi = parse_packet(tagged.data(), 18);
  CHECK(pi.l2_ok);
  CHECK(pi.l2hlen == 18);
  CHECK_FALSE(pi.l3_ok);

  // Every prefix of every frame parses without reading past it (the copy is
  // exactly the prefix length, so the sanitizer build would catch a read).
  for (const Bytes& f : frames) {
    for (size_t n = 0; n <= f.size(); n++) {
      Bytes prefix(f.begin(), f.begin() + n);
      PacketInfo p = parse_packet(prefix.data(), prefix.size());
      CHECK(p.l2hlen + p.l3hlen + p.l4hlen <= n);
    }
  }
}

TEST_CASE("independent verifier accepts the captured checksums as sent") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  for (size_t i = 0; i < frames.size(); i++) {
    CAPTURE(i);
    const Bytes& f = frames[i];
    CHECK(test::ipv4_header_checksum_ok(f));
    PacketInfo pi = parse_packet(f.data(), f.size());
    if (pi.l4proto == 6) CHECK(test::tcp_checksum_ok(f));
    else CHECK(test::udp_checksum_ok(f));
  }
  // A single flipped bit is noticed.
  Bytes bad = frames[0];
  bad[60] ^= 0x04;
  CHECK_FALSE(test::tcp_checksum_ok(bad));
  CHECK(test::ipv4_header_checksum_ok(bad));
  bad[15] ^= 0x04;
  CHECK_FALSE(test::ipv4_header_checksum_ok(bad));
}

TEST_CASE("finish_checksums: full recomputes the captured TCP/UDP/IPv4 checksums exactly") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  TxOffload full;
  full.csum_full = true;
  for (size_t i = 0; i < frames.size(); i++) {
    CAPTURE(i);
    const Bytes& orig = frames[i];
    PacketInfo pi = parse_packet(orig.data(), orig.size());
    size_t l4 = pi.l2hlen + pi.l3hlen;
    Bytes f = orig;
    set16(&f, pi.l2hlen + 10, 0xdead);  // garbage in both fields
    set16(&f, l4 + (pi.l4proto == 6 ? 16 : 6), 0xbeef);
    REQUIRE(finish_checksums(f.data(), f.size(), full));
    CHECK(f == orig);
  }
}

TEST_CASE("finish_checksums: partial sums [start, end) seeded by the pseudo-header in the field") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  for (size_t i : {size_t(0), size_t(2), size_t(6), size_t(12)}) {
    CAPTURE(i);
    const Bytes& orig = frames[i];
    PacketInfo pi = parse_packet(orig.data(), orig.size());
    uint32_t l2 = pi.l2hlen, l3 = pi.l3hlen;
    uint16_t ip_total = get16(orig, l2 + 2);
    uint16_t l4len = uint16_t(ip_total - l3);
    uint16_t field = uint16_t(l3 + (pi.l4proto == 6 ? 16 : 6));
    // What a Linux guest leaves in the field: the folded, uninverted
    // pseudo-header sum including the L4 length.
    uint32_t pseudo = csum_partial(orig.data() + l2 + 12, 8) + pi.l4proto + l4len;
    Bytes f = orig;
    set16(&f, l2 + field, csum_fold(pseudo));
    TxOffload o;
    o.csum_partial = true;
    o.start = uint16_t(l3);
    o.stuff = field;
    o.end = ip_total;  // excludes the Ethernet padding of short frames
    REQUIRE(finish_checksums(f.data(), f.size(), o));
    CHECK(f == orig);
  }
}

TEST_CASE("finish_checksums: the GSO capture's partial checksum, partial and full agree") {
  std::vector<Bytes> gso = capture("tcpdump__gso-ipv4.pcap");
  REQUIRE(gso.size() == 1);
  REQUIRE(gso[0].size() == 7306);
  CHECK_FALSE(test::tcp_checksum_ok(gso[0]));  // left partial by Linux
  CHECK(test::ipv4_header_checksum_ok(gso[0]));

  Bytes partial = gso[0];
  TxOffload o;
  o.csum_partial = true;
  o.ipv4_hdr = true;
  o.start = 20;
  o.stuff = 20 + 16;
  o.end = 7306 - 14;
  REQUIRE(finish_checksums(partial.data(), partial.size(), o));
  CHECK(test::tcp_checksum_ok(partial));
  CHECK(test::ipv4_header_checksum_ok(partial));

  Bytes full = gso[0];
  set16(&full, 14 + 20 + 16, 0);
  TxOffload of;
  of.csum_full = true;
  REQUIRE(finish_checksums(full.data(), full.size(), of));
  CHECK(test::tcp_checksum_ok(full));
  CHECK(full == partial);
}

TEST_CASE("finish_checksums: IPv6 TCP and UDP full, through an extension header") {
  for (bool hbh : {false, true}) {
    CAPTURE(hbh);
    Bytes tcp = make_ipv6(6, 20 + 33, hbh);
    TxOffload full;
    full.csum_full = true;
    REQUIRE(finish_checksums(tcp.data(), tcp.size(), full));
    if (!hbh) CHECK(test::tcp_checksum_ok(tcp));  // verifier has no ext headers

    Bytes udp = make_ipv6(17, 8 + 17, hbh);
    REQUIRE(finish_checksums(udp.data(), udp.size(), full));
    if (!hbh) CHECK(test::udp_checksum_ok(udp));
    // Check the hop-by-hop case by hand: pseudo-header + UDP sums to ffff.
    size_t l4 = 54 + (hbh ? 8 : 0);
    uint32_t pseudo = csum_partial(udp.data() + 22, 32) + 17 + 25;
    CHECK(csum_partial(udp.data() + l4, 25, pseudo) == 0xffff);
  }
}

TEST_CASE("finish_checksums: a UDP checksum computing to 0 is sent as 0xffff") {
  Bytes udp = make_ipv6(17, 8 + 16, false);
  size_t l4 = 54;
  set16(&udp, l4 + 8, 0);  // the adjustable payload word
  uint32_t pseudo = csum_partial(udp.data() + 22, 32) + 17 + 24;
  uint16_t s = uint16_t(csum_partial(udp.data() + l4, 24, pseudo));
  REQUIRE(s != 0xffff);
  set16(&udp, l4 + 8, uint16_t(0xffff - s));  // the sum is now 0xffff
  TxOffload full;
  full.csum_full = true;
  REQUIRE(finish_checksums(udp.data(), udp.size(), full));
  CHECK(get16(udp, l4 + 6) == 0xffff);
  CHECK(test::udp_checksum_ok(udp));
}

TEST_CASE("finish_checksums: IPv4 header checksum only") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  REQUIRE(frames.size() == 22);
  Bytes f = frames[7];
  set16(&f, 14 + 10, 0);
  set16(&f, 14 + 20 + 16, 0x1111);  // L4 left alone
  TxOffload o;
  o.ipv4_hdr = true;
  REQUIRE(finish_checksums(f.data(), f.size(), o));
  CHECK(get16(f, 24) == get16(frames[7], 24));
  CHECK(get16(f, 50) == 0x1111);
}

TEST_CASE("finish_checksums: refusals leave the frame untouched") {
  std::vector<Bytes> frames = capture("tcpdump__ldp-common-session.pcap");
  std::vector<Bytes> qinq = capture("tcpdump__802.1ad_QinQ.pcap");
  REQUIRE(frames.size() == 22);
  REQUIRE(qinq.size() == 2);
  TxOffload full;
  full.csum_full = true;
  TxOffload hdr;
  hdr.ipv4_hdr = true;
  TxOffload partial;
  partial.csum_partial = true;
  partial.start = 20;
  partial.stuff = 36;

  Bytes arp = qinq[0];
  CHECK_FALSE(finish_checksums(arp.data(), arp.size(), full));
  CHECK_FALSE(finish_checksums(arp.data(), arp.size(), hdr));
  CHECK(arp == qinq[0]);

  Bytes f = frames[0];  // 86 bytes, L3 at 14
  partial.end = uint16_t(f.size() - 14 + 1);  // one past the frame
  CHECK_FALSE(finish_checksums(f.data(), f.size(), partial));
  partial.end = 20;
  partial.start = 21;  // start after end
  CHECK_FALSE(finish_checksums(f.data(), f.size(), partial));
  partial.start = 20;
  partial.end = 72;
  partial.stuff = uint16_t(f.size() - 14 - 1);  // field straddles the end
  CHECK_FALSE(finish_checksums(f.data(), f.size(), partial));
  CHECK(f == frames[0]);

  Bytes v6 = make_ipv6(6, 20, false);
  Bytes v6_orig = v6;
  CHECK_FALSE(finish_checksums(v6.data(), v6.size(), hdr));
  CHECK(v6 == v6_orig);

  // Truncated: the IPv4 total length claims more than the frame holds.
  Bytes cut(frames[9].begin(), frames[9].begin() + 100);
  Bytes cut_orig = cut;
  CHECK_FALSE(finish_checksums(cut.data(), cut.size(), full));
  CHECK(cut == cut_orig);

  TxOffload none;
  CHECK(finish_checksums(f.data(), f.size(), none));
  CHECK(f == frames[0]);

  // Every prefix: no crash, no read past the prefix (sanitizer build).
  for (size_t n = 0; n <= frames[6].size(); n++) {
    Bytes p(frames[6].begin(), frames[6].begin() + n);
    (void)finish_checksums(p.data(), p.size(), full);
  }
}

}  // namespace
}  // namespace viona
