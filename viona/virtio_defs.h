// SPDX-License-Identifier: MIT
// virtio_defs.h: virtio-net wire layouts, feature bits and viona's constants.
#ifndef VIONA_VIRTIO_DEFS_H_
#define VIONA_VIRTIO_DEFS_H_

#include <cstddef>
#include <cstdint>

namespace viona {

// Guest page size: viona hard-codes 4096 for ring mapping and buffer splits.
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPageMask = kPageSize - 1;

// Feature bits (bit numbers as in the virtio spec and viona_impl.h).
constexpr uint64_t VIRTIO_NET_F_CSUM = 1ull << 0;
constexpr uint64_t VIRTIO_NET_F_GUEST_CSUM = 1ull << 1;
constexpr uint64_t VIRTIO_NET_F_MTU = 1ull << 3;
constexpr uint64_t VIRTIO_NET_F_MAC = 1ull << 5;
constexpr uint64_t VIRTIO_NET_F_GUEST_TSO4 = 1ull << 7;
constexpr uint64_t VIRTIO_NET_F_GUEST_TSO6 = 1ull << 8;
constexpr uint64_t VIRTIO_NET_F_HOST_TSO4 = 1ull << 11;
constexpr uint64_t VIRTIO_NET_F_MRG_RXBUF = 1ull << 15;
constexpr uint64_t VIRTIO_NET_F_STATUS = 1ull << 16;
constexpr uint64_t VIRTIO_NET_F_CTRL_VQ = 1ull << 17;
constexpr uint64_t VIRTIO_NET_F_CTRL_RX = 1ull << 18;
constexpr uint64_t VIRTIO_NET_F_MQ = 1ull << 22;
constexpr uint64_t VIRTIO_F_RING_NOTIFY_ON_EMPTY = 1ull << 24;
constexpr uint64_t VIRTIO_F_ANY_LAYOUT = 1ull << 27;
constexpr uint64_t VIRTIO_F_RING_INDIRECT_DESC = 1ull << 28;
constexpr uint64_t VIRTIO_F_RING_EVENT_IDX = 1ull << 29;
constexpr uint64_t VIRTIO_F_VERSION_1 = 1ull << 32;

// What the kernel offers by itself (VIONA_S_HOSTCAPS, newest gate); CSUM and
// HOST_TSO4 are added from the backend's offload declaration.
constexpr uint64_t kViona_S_HostCaps = VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
                                       VIRTIO_NET_F_MRG_RXBUF | VIRTIO_F_RING_NOTIFY_ON_EMPTY |
                                       VIRTIO_F_RING_INDIRECT_DESC;

// Descriptor flags.
constexpr uint16_t VRING_DESC_F_NEXT = 1;
constexpr uint16_t VRING_DESC_F_WRITE = 2;
constexpr uint16_t VRING_DESC_F_INDIRECT = 4;
// Ring flags.
constexpr uint16_t VRING_USED_F_NO_NOTIFY = 1;
constexpr uint16_t VRING_AVAIL_F_NO_INTERRUPT = 1;

// virtio-net header flags and GSO types.
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;

// viona constants (viona_impl.h / viona_rx.c / viona_tx.c).
constexpr uint16_t VRING_MAX_LEN = 32768;
constexpr uint32_t VTNET_MAXSEGS = 32;       // RX iovecs per chain, chains per merged frame
constexpr uint32_t MIN_BUF_SIZE = 60;        // minimum Ethernet frame without FCS
constexpr uint32_t NEED_VLAN_PAD_SIZE = 56;  // 60 less a 4-byte VLAN tag
constexpr uint32_t VIONA_GRO_MAX_PACKET_SIZE = 65550;
constexpr uint32_t VIONA_MIN_MTU = 68;
constexpr uint32_t VIONA_MAX_MTU = 65535;
constexpr uint32_t VIONA_DEFAULT_MTU = 1500;
constexpr uint32_t VIONA_MAX_PACKET_SIZE = 65535;  // TX packet length limit
constexpr uint32_t VIONA_MAX_HDRS_LEN = 18 + 60 + 60;
constexpr uint32_t VIONA_MAX_HEADER_PAD = 256;
constexpr uint32_t TX_BURST_THRESH = 32;
constexpr uint32_t kEtherHeaderLen = 14;

// Sizes of the virtio-net header: without num_buffers, and with it.
constexpr uint32_t kNetHdrLen = 10;
constexpr uint32_t kNetHdrMrgLen = 12;

#pragma pack(push, 1)
// One split-ring descriptor, little-endian in guest memory.
struct VringDesc {
  uint64_t addr;   // guest-physical
  uint32_t len;    // bytes
  uint16_t flags;  // VRING_DESC_F_*
  uint16_t next;   // index of the next descriptor when F_NEXT
};
struct VringUsedElem {
  uint32_t id;   // head descriptor index
  uint32_t len;  // bytes written by the device (RX) / chain length (TX)
};
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;  // present only with MRG_RXBUF or VERSION_1
};
#pragma pack(pop)
static_assert(sizeof(VringDesc) == 16, "descriptor is 16 bytes");
static_assert(offsetof(VringDesc, len) == 8 && offsetof(VringDesc, flags) == 12 &&
                  offsetof(VringDesc, next) == 14,
              "descriptor layout");
static_assert(sizeof(VringUsedElem) == 8, "used element is 8 bytes");
static_assert(sizeof(VirtioNetHdr) == kNetHdrMrgLen, "virtio-net header with num_buffers");
static_assert(offsetof(VirtioNetHdr, num_buffers) == kNetHdrLen, "num_buffers follows the 10-byte header");

// Split-ring part sizes for a queue of |qsz| entries.
constexpr uint64_t vring_desc_size(uint32_t qsz) { return 16ull * qsz; }
constexpr uint64_t vring_avail_size(uint32_t qsz) { return 2ull * (qsz + 3); }
constexpr uint64_t vring_used_size(uint32_t qsz) { return 8ull * qsz + 6; }
constexpr uint64_t round_up_page(uint64_t v) { return (v + kPageMask) & ~kPageMask; }
// Legacy single-address layout: desc at PA, avail after it, used at the next page.
constexpr uint64_t vring_legacy_used_offset(uint32_t qsz) {
  return round_up_page(vring_desc_size(qsz) + vring_avail_size(qsz));
}
constexpr uint64_t vring_legacy_total_size(uint32_t qsz) {
  return vring_legacy_used_offset(qsz) + round_up_page(vring_used_size(qsz));
}

}  // namespace viona

#endif  // VIONA_VIRTIO_DEFS_H_
