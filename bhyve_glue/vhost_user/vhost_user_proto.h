// SPDX-License-Identifier: MIT
// vhost_user_proto.h: the vhost-user wire protocol (front end <-> back end) for one net device.
#ifndef BHYVE_GLUE_VHOST_USER_VHOST_USER_PROTO_H_
#define BHYVE_GLUE_VHOST_USER_VHOST_USER_PROTO_H_

#include <cstddef>
#include <cstdint>

namespace bhyve_glue {

// Front-end requests (QEMU's numbering, the vhost-user specification's).
enum class VhostUserRequest : uint32_t {
  GET_FEATURES = 1,
  SET_FEATURES = 2,
  SET_OWNER = 3,
  RESET_OWNER = 4,
  SET_MEM_TABLE = 5,
  SET_LOG_BASE = 6,
  SET_LOG_FD = 7,
  SET_VRING_NUM = 8,
  SET_VRING_ADDR = 9,
  SET_VRING_BASE = 10,
  GET_VRING_BASE = 11,
  SET_VRING_KICK = 12,
  SET_VRING_CALL = 13,
  SET_VRING_ERR = 14,
  GET_PROTOCOL_FEATURES = 15,
  SET_PROTOCOL_FEATURES = 16,
  GET_QUEUE_NUM = 17,
  SET_VRING_ENABLE = 18,
  SEND_RARP = 19,
  NET_SET_MTU = 20,
  SET_SLAVE_REQ_FD = 21,
  SET_STATUS = 39,
  GET_STATUS = 40,
};
const char* vhost_user_request_name(uint32_t req);  // "UNKNOWN" for others

// Header flags.
constexpr uint32_t VHOST_USER_VERSION = 0x1;         // bits 0-1: protocol version
constexpr uint32_t VHOST_USER_VERSION_MASK = 0x3;
constexpr uint32_t VHOST_USER_REPLY_MASK = 1u << 2;  // this message is a reply
constexpr uint32_t VHOST_USER_NEED_REPLY = 1u << 3;  // sender wants an ack (REPLY_ACK)

// Feature bit the back end offers so that protocol features are negotiated.
constexpr uint64_t VHOST_USER_F_PROTOCOL_FEATURES = 1ull << 30;
// Protocol feature bits.
constexpr uint64_t VHOST_USER_PROTOCOL_F_MQ = 1ull << 0;
constexpr uint64_t VHOST_USER_PROTOCOL_F_REPLY_ACK = 1ull << 3;
constexpr uint64_t VHOST_USER_PROTOCOL_F_STATUS = 1ull << 16;

// The u64 of SET_VRING_KICK/CALL/ERR: ring index, and "no fd sent" flag.
constexpr uint64_t VHOST_USER_VRING_IDX_MASK = 0xff;
constexpr uint64_t VHOST_USER_VRING_NOFD_MASK = 1ull << 8;

constexpr size_t kVhostUserHeaderSize = 12;
constexpr size_t kVhostUserMaxRegions = 8;
constexpr size_t kVhostUserMaxFds = 8;
// The largest payload of a request this back end handles (the memory table).
constexpr size_t kVhostUserMaxPayload = 8 + kVhostUserMaxRegions * 32;

struct VhostUserHeader {
  uint32_t request;
  uint32_t flags;
  uint32_t size;  // payload bytes that follow
};
static_assert(sizeof(VhostUserHeader) == kVhostUserHeaderSize, "wire layout");

struct VhostVringState {
  uint32_t index;
  uint32_t num;
};

struct VhostVringAddr {
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;   // front-end (QEMU) virtual addresses
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};
static_assert(sizeof(VhostVringAddr) == 40, "wire layout");

struct VhostMemoryRegion {
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;  // front-end virtual address of the region
  uint64_t mmap_offset;     // offset of the region in its fd
};
static_assert(sizeof(VhostMemoryRegion) == 32, "wire layout");

struct VhostMemoryHeader {
  uint32_t nregions;
  uint32_t padding;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_VHOST_USER_VHOST_USER_PROTO_H_
