// SPDX-License-Identifier: MIT
// tx.cpp: libFuzzer target for Link::tx_drain with guest-controlled descriptors and virtio-net headers.
//
// Invariants checked, for every drain (copy and loan mode, any features
// and NIC offload capabilities, a half-corrupted TCP/IPv4 template):
//  * TX never writes guest memory outside the used ring;
//  * every popped chain gets exactly one used entry with its head id and
//    len == the chain's total descriptor length (header included), once
//    the backend has released every loan;
//  * packets handed to the backend == TxDrainResult::sent == vts_packets
//    delta; each has 14 <= len <= 65535 and len == chain length - virtio
//    header; vts_drops moves by popped - sent;
//  * the drain stops only when avail is empty or the head chain is
//    malformed (a pop then fails);
//  * no page hold and no outstanding loan survives the release.
#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "fuzz/malicious_guest.h"
#include "viona/link.h"
#include "viona/packet.h"
#include "viona/probes.h"
#include "viona/ring.h"

namespace viona_fuzz {
namespace {

struct TxWatch : viona::ProbeListener {
  std::vector<viona::VringUsedElem> popped;  // {cookie, total_len}
  std::vector<viona::VringUsedElem> used;
  void on_chain(const viona::Ring& r, const viona::Chain& c) override {
    popped.push_back(viona::VringUsedElem{c.cookie, c.total_len});
  }
  void on_used(const viona::Ring& r, uint16_t slot, uint32_t id, uint32_t len) override {
    used.push_back(viona::VringUsedElem{id, len});
  }
};

// Checks each packet as the backend gets it and keeps only what the
// harness needs afterwards (a drain may send 65535 packets of 64 KiB).
struct CheckSink : viona::TxSink {
  struct Sent {
    uint16_t cookie;
    uint32_t len;
  };
  std::vector<Sent> sent;
  std::vector<viona::TxLoan*> loans;  // released after the drain, as a backend would later
  void transmit(viona::TxPacket&& p) override {
    FUZZ_CHECK(p.len >= viona::kEtherHeaderLen && p.len <= viona::VIONA_MAX_PACKET_SIZE);
    FUZZ_CHECK(p.flatten().size() == p.len);
    sent.push_back(Sent{p.cookie, p.len});
    if (p.loan != nullptr) loans.push_back(p.loan);
  }
};

// Ethernet + IPv4 + TCP behind a 12-byte virtio-net header asking for
// checksum offload and TSO: the guest then corrupts bytes of it (act()).
void write_template(MaliciousGuest& g, FuzzedDataProvider& fdp) {
  std::vector<uint8_t> t(12 + 14 + 20 + 20 + 64, 0);
  t[0] = viona::VIRTIO_NET_HDR_F_NEEDS_CSUM;
  t[1] = fdp.ConsumeBool() ? viona::VIRTIO_NET_HDR_GSO_TCPV4 : 0;
  t[4] = 0xa8, t[5] = 0x05;         // gso_size 1448
  t[6] = 14 + 20, t[8] = 16;        // csum_start, csum_offset (TCP)
  uint8_t* e = &t[12];
  for (int i = 0; i < 6; i++) e[i] = 0xff;
  e[6] = 0x02;
  e[12] = 0x08;  // IPv4
  uint8_t* ip = e + 14;
  ip[0] = 0x45;
  ip[2] = 0, ip[3] = 20 + 20 + 64;
  ip[8] = 64, ip[9] = 6;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  uint8_t* tcp = ip + 20;
  tcp[12] = 0x50;
  (void)g.mem.write(kTemplate, t.data(), t.size());
}

bool same_multiset(std::vector<viona::VringUsedElem> a, std::vector<viona::VringUsedElem> b) {
  auto less = [](const viona::VringUsedElem& x, const viona::VringUsedElem& y) {
    return x.id != y.id ? x.id < y.id : x.len < y.len;
  };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); k++) {
    if (a[k].id != b[k].id || a[k].len != b[k].len) return false;
  }
  return true;
}

}  // namespace
}  // namespace viona_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace viona_fuzz;
  FuzzedDataProvider fdp(data, size);
  viona::OffloadCaps caps;
  caps.cksum_partial = fdp.ConsumeBool();
  caps.cksum_full_v4 = fdp.ConsumeBool();
  caps.cksum_full_v6 = fdp.ConsumeBool();
  caps.cksum_ipv4_hdr = fdp.ConsumeBool();
  caps.lso_tcpv4 = fdp.ConsumeBool();
  caps.lso_max = caps.lso_tcpv4 ? 65535 : 0;
  uint64_t want = 0;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_CSUM;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_HOST_TSO4;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_NET_F_MRG_RXBUF;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_F_VERSION_1;
  if (fdp.ConsumeBool()) want |= viona::VIRTIO_F_RING_NOTIFY_ON_EMPTY;
  const bool modern_place = (want & viona::VIRTIO_F_VERSION_1) != 0 && fdp.ConsumeBool();
  MaliciousGuest g(fdp, modern_place);
  write_template(g, fdp);
  viona::Link link(&g.mem);
  link.set_offload_caps(caps);
  link.set_features(want);
  link.params.tx_copy_data = fdp.ConsumeBool();
  link.params.tx_header_pad = fdp.ConsumeIntegralInRange<uint16_t>(0, viona::VIONA_MAX_HEADER_PAD);
  TxWatch watch;
  link.set_listener(&watch);
  const uint64_t holds0 = g.mem.holds_outstanding();
  constexpr uint16_t kTx = 1;
  const int err = g.map_ring(link, kTx);
  FUZZ_CHECK(err == 0);
  FUZZ_CHECK(link.ring_kick(kTx) == 0);
  viona::Ring& ring = link.ring(kTx);
  const uint64_t base_holds = g.mem.holds_outstanding();
  const uint32_t hdr = link.tx_header_len();
  auto overlap = [](uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; };
  const bool used_overlaps = overlap(g.used_pa, g.used_bytes(), g.desc_pa, viona::vring_desc_size(g.qsz)) ||
                             overlap(g.used_pa, g.used_bytes(), g.avail_pa, viona::vring_avail_size(g.qsz));

  for (int round = 0; round < 4 && fdp.remaining_bytes() > 0; round++) {
    const std::vector<uint8_t> before = g.snapshot();
    const viona::TransferStats vts0 = ring.vts;
    watch.popped.clear();
    watch.used.clear();
    CheckSink sink;
    const viona::TxDrainResult res = link.tx_drain(kTx, sink);
    FUZZ_CHECK(!res.bailed);
    // The drain ended at an empty ring or a malformed head. Only when the
    // used ring overlaps neither avail nor the descriptor table: there
    // the device's own used.flags and used-entry writes rewrite the head
    // (disable_notify can break it for the drain, enable_notify mend it).
    if (!used_overlaps && static_cast<uint16_t>(ring.read_avail_idx() - ring.cur_aidx()) != 0) {
      viona::Chain c;
      const viona::RingStats rs0 = ring.rs;
      FUZZ_CHECK(ring.pop_chain(c, g.qsz) == viona::PopResult::error);
      ring.rs = rs0;  // the probe pop is the harness's, not the device's
    }
    FUZZ_CHECK(res.sent == sink.sent.size());
    FUZZ_CHECK(ring.vts.vts_packets - vts0.vts_packets == res.sent);
    FUZZ_CHECK(ring.vts.vts_drops - vts0.vts_drops == watch.popped.size() - res.sent);
    // Each packet is one popped chain less its virtio header (a guest
    // that runs avail.idx far ahead makes a drain pop up to 65535 chains:
    // keep this linear).
    std::multiset<std::pair<uint32_t, uint32_t>> chains;
    for (const viona::VringUsedElem& c : watch.popped) chains.insert({c.id, c.len});
    for (const CheckSink::Sent& p : sink.sent) {
      auto it = chains.find({p.cookie, p.len + hdr});
      FUZZ_CHECK(it != chains.end());
      chains.erase(it);
    }
    // Only the used ring may change while loans are out...
    std::vector<uint8_t> after = g.snapshot();
    const int64_t u0 = MaliciousGuest::snap_index(g.used_pa);
    const int64_t u1 = u0 + static_cast<int64_t>(g.used_bytes());
    for (size_t i = 0; i < after.size(); i++) {
      if (static_cast<int64_t>(i) >= u0 && static_cast<int64_t>(i) < u1) continue;
      if (after[i] != before[i]) {
        std::fprintf(stderr, "tx: device wrote gpa %#llx\n", static_cast<unsigned long long>(MaliciousGuest::snap_gpa(i)));
        FUZZ_CHECK(false);
      }
    }
    // ... and after the backend releases them: one used entry per chain,
    // with the whole chain's length.
    for (viona::TxLoan* loan : sink.loans) link.tx_release(loan);
    sink.loans.clear();
    FUZZ_CHECK(ring.xfer_outstanding == 0);
    FUZZ_CHECK(g.mem.holds_outstanding() == base_holds);
    FUZZ_CHECK(same_multiset(watch.popped, watch.used));
    after = g.snapshot();
    for (size_t i = 0; i < after.size(); i++) {
      if (static_cast<int64_t>(i) >= u0 && static_cast<int64_t>(i) < u1) continue;
      FUZZ_CHECK(after[i] == before[i]);
    }
    const uint32_t nact = fdp.ConsumeIntegralInRange<uint32_t>(0, 4);
    for (uint32_t k = 0; k < nact; k++) g.act();
  }
  FUZZ_CHECK(link.ring_reset(kTx) == 0);
  FUZZ_CHECK(g.mem.holds_outstanding() == holds0);
  return 0;
}
