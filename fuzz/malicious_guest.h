// SPDX-License-Identifier: MIT
// malicious_guest.h: guest memory, one split queue and two indirect tables laid out from fuzz bytes (ring, rx, tx).
#ifndef FUZZ_MALICIOUS_GUEST_H_
#define FUZZ_MALICIOUS_GUEST_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "viona/guest_memory.h"
#include "viona/link.h"
#include "viona/virtio_defs.h"

namespace viona_fuzz {

// A broken invariant: print it and abort, so libFuzzer saves the input.
// Guest-physical layout. Two regions with holes below, between and above,
// so that addresses can be valid, straddle a region's end, or fall in a hole.
constexpr uint64_t kRegionA = 0x10000;      // rings, indirect tables, buffers
constexpr uint64_t kRegionASize = 0x10000;  // 16 pages
constexpr uint64_t kRegionB = 0x30000;      // buffers (TX packet template)
constexpr uint64_t kRegionBSize = 0x4000;   // 4 pages
constexpr uint64_t kTable0 = kRegionA + 0x8000;  // indirect table, page aligned
constexpr uint64_t kTable1 = kRegionA + 0xbfc8;  // indirect table whose 4th entry straddles a page
constexpr uint32_t kTableEntries = 16;
constexpr uint64_t kTemplate = kRegionB + 0x1000;  // a TX packet the guest half-corrupts

// Driver-side content of every byte before the guest writes its structures:
// position dependent and not periodic, so a wrong translation shows.
inline uint8_t fill_byte(uint64_t gpa) { return static_cast<uint8_t>((gpa * 2654435761u) >> 13); }

// The whole guest: memory, queue placement and contents, all from |fdp|.
// The device side is not touched here; harnesses map the queue themselves.
class MaliciousGuest {
 public:
  // |modern|: place the three parts anywhere suitably aligned (they may
  // overlap); otherwise the legacy layout at kRegionA.
  MaliciousGuest(FuzzedDataProvider& fdp, bool modern)
      : mem(fdp.ConsumeBool() ? viona::MemoryMode::contiguous : viona::MemoryMode::paged), fdp_(fdp) {
    (void)mem.add_region(kRegionA, kRegionASize);
    (void)mem.add_region(kRegionB, kRegionBSize);
    std::vector<uint8_t> fill(kRegionASize);
    for (uint64_t i = 0; i < kRegionASize; i++) fill[i] = fill_byte(kRegionA + i);
    (void)mem.write(kRegionA, fill.data(), kRegionASize);
    for (uint64_t i = 0; i < kRegionBSize; i++) fill[i] = fill_byte(kRegionB + i);
    (void)mem.write(kRegionB, fill.data(), kRegionBSize);

    qsz = static_cast<uint16_t>(1u << fdp.ConsumeIntegralInRange<uint32_t>(0, 8));  // 1..256
    legacy = !modern;
    if (legacy) {
      desc_pa = kRegionA;
      avail_pa = kRegionA + viona::vring_desc_size(qsz);
      used_pa = kRegionA + viona::vring_legacy_used_offset(qsz);
    } else {
      // Inside the first 0x7000 bytes; overlapping parts are the guest's business.
      desc_pa = kRegionA + 16 * fdp.ConsumeIntegralInRange<uint64_t>(0, 0x100);
      avail_pa = kRegionA + 2 * fdp.ConsumeIntegralInRange<uint64_t>(0, 0x1800);
      used_pa = kRegionA + 4 * fdp.ConsumeIntegralInRange<uint64_t>(0, 0x1000);
    }
    aidx0 = fdp.ConsumeBool() ? 0 : fdp.ConsumeIntegral<uint16_t>();
    uidx0 = fdp.ConsumeBool() ? aidx0 : fdp.ConsumeIntegral<uint16_t>();
    // Parts first, so that descriptors overwrite avail where they overlap.
    write_u16(used_pa, 0);
    write_u16(used_pa + 2, uidx0);
    write_u16(avail_pa, fdp.ConsumeBool() ? 0 : viona::VRING_AVAIL_F_NO_INTERRUPT);
    const uint16_t nposted = fdp.ConsumeIntegralInRange<uint16_t>(0, qsz);
    for (uint16_t k = 0; k < nposted; k++) {
      write_u16(avail_pa + 4 + 2ull * ((aidx0 + k) & (qsz - 1)), next_index());
    }
    write_u16(avail_pa + 2, static_cast<uint16_t>(aidx0 + nposted));
    const uint16_t ndesc = fdp.ConsumeIntegralInRange<uint16_t>(0, qsz);
    for (uint16_t i = 0; i < ndesc; i++) write_desc(desc_pa + 16ull * i, decode_desc(qsz));
    const uint32_t nt0 = fdp.ConsumeIntegralInRange<uint32_t>(0, kTableEntries);
    for (uint32_t i = 0; i < nt0; i++) write_desc(kTable0 + 16ull * i, decode_desc(kTableEntries));
    const uint32_t nt1 = fdp.ConsumeIntegralInRange<uint32_t>(0, kTableEntries);
    for (uint32_t i = 0; i < nt1; i++) write_desc(kTable1 + 16ull * i, decode_desc(kTableEntries));
  }

  // The guest acts between two device calls: posts more chains, rewrites a
  // descriptor or a table entry, or moves avail.idx anywhere.
  void act() {
    switch (fdp_.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {  // post one more head
        const uint16_t idx = read_u16(avail_pa + 2);
        write_u16(avail_pa + 4 + 2ull * (idx & (qsz - 1)), next_index());
        write_u16(avail_pa + 2, static_cast<uint16_t>(idx + 1));
        break;
      }
      case 1:
        write_desc(desc_pa + 16ull * fdp_.ConsumeIntegralInRange<uint16_t>(0, qsz - 1), decode_desc(qsz));
        break;
      case 2:
        write_desc((fdp_.ConsumeBool() ? kTable0 : kTable1) + 16ull * fdp_.ConsumeIntegralInRange<uint32_t>(0, 15),
                   decode_desc(kTableEntries));
        break;
      case 3:
        write_u16(avail_pa + 2, static_cast<uint16_t>(read_u16(avail_pa + 2) + fdp_.ConsumeIntegral<uint16_t>()));
        break;
      default: {  // a few bytes of the TX template
        const uint64_t at = kTemplate + fdp_.ConsumeIntegralInRange<uint64_t>(0, 160);
        const uint8_t v = fdp_.ConsumeIntegral<uint8_t>();
        (void)mem.write(at, &v, 1);
        break;
      }
    }
  }

  // Maps ring |index| of |link| where this guest placed its queue: legacy
  // RING_INIT, or SET_STATE with the fuzzed initial indices. Returns the errno.
  int map_ring(viona::Link& link, uint16_t index) const {
    if (legacy) return link.ring_init(index, qsz, desc_pa);
    viona::RingState st;
    st.index = index;
    st.qsize = qsz;
    st.desc = desc_pa;
    st.avail = avail_pa;
    st.used = used_pa;
    st.avail_idx = aidx0;
    st.used_idx = uidx0;
    return link.ring_set_state(st);
  }

  // Both regions' bytes, A then B.
  std::vector<uint8_t> snapshot() const {
    std::vector<uint8_t> s(kRegionASize + kRegionBSize);
    (void)mem.read(kRegionA, s.data(), kRegionASize);
    (void)mem.read(kRegionB, s.data() + kRegionASize, kRegionBSize);
    return s;
  }
  // Index of |gpa| in a snapshot, or -1 for a hole.
  static int64_t snap_index(uint64_t gpa) {
    if (gpa >= kRegionA && gpa < kRegionA + kRegionASize) return static_cast<int64_t>(gpa - kRegionA);
    if (gpa >= kRegionB && gpa < kRegionB + kRegionBSize) return static_cast<int64_t>(kRegionASize + gpa - kRegionB);
    return -1;
  }
  static uint64_t snap_gpa(size_t i) { return i < kRegionASize ? kRegionA + i : kRegionB + (i - kRegionASize); }
  // Bytes of the used ring (flags, idx, ring, avail_event).
  uint64_t used_bytes() const { return 6 + 8ull * qsz; }

  uint16_t read_u16(uint64_t gpa) const {
    uint16_t v = 0;
    (void)mem.read_obj(gpa, &v);
    return v;
  }
  void write_u16(uint64_t gpa, uint16_t v) { (void)mem.write_obj(gpa, v); }

  viona::GuestMemory mem;
  uint16_t qsz = 1;
  bool legacy = true;
  uint64_t desc_pa = 0, avail_pa = 0, used_pa = 0;
  uint16_t aidx0 = 0, uidx0 = 0;

 private:
  // Mostly in range of |entries|, sometimes just past it, sometimes anything.
  uint16_t next_index(uint32_t entries = 0) {
    const uint32_t n = entries == 0 ? qsz : entries;
    if (fdp_.ConsumeIntegralInRange<int>(0, 15) == 0) return fdp_.ConsumeIntegral<uint16_t>();
    return static_cast<uint16_t>(fdp_.ConsumeIntegralInRange<uint32_t>(0, n));
  }
  uint64_t decode_addr() {
    switch (fdp_.ConsumeIntegralInRange<int>(0, 8)) {
      case 0: return kRegionA + fdp_.ConsumeIntegralInRange<uint64_t>(0, kRegionASize + 0x1000);
      case 1: return kRegionB + fdp_.ConsumeIntegralInRange<uint64_t>(0, kRegionBSize + 0x1000);
      case 2: return kTable0;
      case 3: return kTable1;
      case 4:  // just before a page boundary
        return kRegionA + 0x1000 * fdp_.ConsumeIntegralInRange<uint64_t>(1, 16) -
               fdp_.ConsumeIntegralInRange<uint64_t>(0, 64);
      case 5: return kTemplate + fdp_.ConsumeIntegralInRange<uint64_t>(0, 16);
      case 6: return fdp_.ConsumeIntegral<uint64_t>();
      case 7: return ~0ull - fdp_.ConsumeIntegralInRange<uint64_t>(0, 0x10000);  // ranges that wrap 2^64
      default: return fdp_.ConsumeIntegralInRange<uint64_t>(0, kRegionA + 0x40);  // the low hole
    }
  }
  uint32_t decode_len() {
    switch (fdp_.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: return fdp_.ConsumeIntegralInRange<uint32_t>(0, 80);
      case 1: return fdp_.ConsumeIntegralInRange<uint32_t>(0, 3 * 4096);
      case 2: return 16 * fdp_.ConsumeIntegralInRange<uint32_t>(0, 20);  // indirect table sizes
      case 3: return 0xffffffffu - fdp_.ConsumeIntegralInRange<uint32_t>(0, 0x2000);  // overflow bait
      default: return fdp_.ConsumeIntegral<uint32_t>();
    }
  }
  viona::VringDesc decode_desc(uint32_t entries) {
    viona::VringDesc d{};
    d.addr = decode_addr();
    d.len = decode_len();
    d.flags = fdp_.ConsumeIntegralInRange<int>(0, 15) == 0 ? fdp_.ConsumeIntegral<uint16_t>()
                                                          : fdp_.ConsumeIntegralInRange<uint16_t>(0, 7);
    d.next = next_index(entries);
    return d;
  }
  void write_desc(uint64_t gpa, const viona::VringDesc& d) { (void)mem.write_obj(gpa, d); }

  FuzzedDataProvider& fdp_;
};

}  // namespace viona_fuzz

#endif  // FUZZ_MALICIOUS_GUEST_H_
