// SPDX-License-Identifier: MIT
// viona_io.h: the VNA_IOC_* control interface: command numbers and argument layouts.
#ifndef BHYVE_GLUE_VIONA_IO_H_
#define BHYVE_GLUE_VIONA_IO_H_

#include <cstddef>
#include <cstdint>

// Written from the table in viona-behaviour.md 6.2 (interface version 6, the
// gate at 187b781b). The argument structs keep viona_io.h's sizes and field
// offsets so a trace of real ioctls could be decoded with them; the padding
// viona leaves implicit is spelled out as named fields.

namespace bhyve_glue {

// Bumped only when the command set or an argument layout changes.
constexpr int VIONA_CURRENT_INTERFACE_VERSION = 6;

constexpr int VNA_IOC = ('V' << 16) | ('C' << 8);  // 0x564300

// Link-less commands (dispatched before the link-alive check).
constexpr int VNA_IOC_CREATE = VNA_IOC | 0x01;          // ptr vioc_create_t
constexpr int VNA_IOC_DELETE = VNA_IOC | 0x02;          // none
constexpr int VNA_IOC_VERSION = VNA_IOC | 0x03;         // returns the version
constexpr int VNA_IOC_DEFAULT_PARAMS = VNA_IOC | 0x04;  // ptr vioc_get_params_t

// Ring commands.
constexpr int VNA_IOC_RING_INIT = VNA_IOC | 0x10;         // ptr vioc_ring_init_t
constexpr int VNA_IOC_RING_RESET = VNA_IOC | 0x11;        // value: ring index
constexpr int VNA_IOC_RING_KICK = VNA_IOC | 0x12;         // value: ring index
constexpr int VNA_IOC_RING_SET_MSI = VNA_IOC | 0x13;      // ptr vioc_ring_msi_t
constexpr int VNA_IOC_RING_INTR_CLR = VNA_IOC | 0x14;     // value: ring index
constexpr int VNA_IOC_RING_SET_STATE = VNA_IOC | 0x15;    // ptr vioc_ring_state_t
constexpr int VNA_IOC_RING_GET_STATE = VNA_IOC | 0x16;    // ptr vioc_ring_state_t
constexpr int VNA_IOC_RING_PAUSE = VNA_IOC | 0x17;        // value: ring index
constexpr int VNA_IOC_RING_INIT_MODERN = VNA_IOC | 0x18;  // ptr vioc_ring_init_modern_t

// Link commands.
constexpr int VNA_IOC_INTR_POLL = VNA_IOC | 0x20;        // ptr vioc_intr_poll_t; returns count
constexpr int VNA_IOC_SET_FEATURES = VNA_IOC | 0x21;     // ptr uint64_t
constexpr int VNA_IOC_GET_FEATURES = VNA_IOC | 0x22;     // ptr uint64_t
constexpr int VNA_IOC_SET_NOTIFY_IOP = VNA_IOC | 0x23;   // value: I/O port, 0 unhooks
constexpr int VNA_IOC_SET_PROMISC = VNA_IOC | 0x24;      // value: viona_promisc_t
constexpr int VNA_IOC_GET_PARAMS = VNA_IOC | 0x25;       // ptr vioc_get_params_t
constexpr int VNA_IOC_SET_PARAMS = VNA_IOC | 0x26;       // ptr vioc_set_params_t
constexpr int VNA_IOC_GET_MTU = VNA_IOC | 0x27;          // returns the MTU
constexpr int VNA_IOC_SET_MTU = VNA_IOC | 0x28;          // value: 68..65535
constexpr int VNA_IOC_SET_NOTIFY_MMIO = VNA_IOC | 0x29;  // ptr vioc_notify_mmio_t, NULL unhooks
constexpr int VNA_IOC_INTR_POLL_MQ = VNA_IOC | 0x2a;     // ptr vioc_intr_poll_mq_t; returns count
constexpr int VNA_IOC_GET_PAIRS = VNA_IOC | 0x30;        // returns l_npairs
constexpr int VNA_IOC_SET_PAIRS = VNA_IOC | 0x31;        // value: 1..256, >= usepairs
constexpr int VNA_IOC_GET_USEPAIRS = VNA_IOC | 0x32;     // returns l_usepairs
constexpr int VNA_IOC_SET_USEPAIRS = VNA_IOC | 0x33;     // value: 1..npairs

// "VNA_IOC_RING_KICK" for its number; nullptr for an unknown command.
const char* vna_ioc_name(int cmd);

constexpr uint16_t VIONA_MIN_QPAIR = 1;
constexpr uint16_t VIONA_MAX_QPAIR = 0x100;
constexpr size_t VIONA_INTR_WORDS = (2 * VIONA_MAX_QPAIR + 31) / 32;  // 16
constexpr size_t VIONA_MAX_PARAM_NVLIST_SZ = 4096;  // bytes, params buffer limit

// VNA_IOC_CREATE: which datalink, which VM.
struct vioc_create_t {
  uint32_t c_linkid;  // datalink id (Registry::add_link)
  int32_t c_vmfd;     // VM "file descriptor" (Registry::add_vm)
};
static_assert(sizeof(vioc_create_t) == 8, "vioc_create_t is 8 bytes");
static_assert(offsetof(vioc_create_t, c_vmfd) == 4, "c_vmfd at 4");

// VNA_IOC_RING_INIT: legacy single-address ring.
struct vioc_ring_init_t {
  uint16_t ri_index;
  uint16_t ri_qsize;
  uint32_t ri_pad;
  uint64_t ri_qaddr;  // guest-physical, page aligned
};
static_assert(sizeof(vioc_ring_init_t) == 16, "vioc_ring_init_t is 16 bytes");
static_assert(offsetof(vioc_ring_init_t, ri_qsize) == 2 && offsetof(vioc_ring_init_t, ri_qaddr) == 8,
              "vioc_ring_init_t layout");

// VNA_IOC_RING_SET_MSI: in-kernel MSI target of one ring; rm_addr 0 disables.
struct vioc_ring_msi_t {
  uint16_t rm_index;
  uint16_t rm_pad[3];
  uint64_t rm_addr;
  uint64_t rm_msg;
};
static_assert(sizeof(vioc_ring_msi_t) == 24, "vioc_ring_msi_t is 24 bytes");
static_assert(offsetof(vioc_ring_msi_t, rm_addr) == 8 && offsetof(vioc_ring_msi_t, rm_msg) == 16,
              "vioc_ring_msi_t layout");

// VNA_IOC_RING_{SET,GET}_STATE: a ring's addresses and indices (migration).
struct vioc_ring_state_t {
  uint16_t vrs_index;
  uint16_t vrs_avail_idx;
  uint16_t vrs_used_idx;
  uint16_t vrs_qsize;
  uint64_t vrs_qaddr_desc;   // guest-physical
  uint64_t vrs_qaddr_avail;  // guest-physical
  uint64_t vrs_qaddr_used;   // guest-physical
};
static_assert(sizeof(vioc_ring_state_t) == 32, "vioc_ring_state_t is 32 bytes");
static_assert(offsetof(vioc_ring_state_t, vrs_avail_idx) == 2 && offsetof(vioc_ring_state_t, vrs_used_idx) == 4 &&
                  offsetof(vioc_ring_state_t, vrs_qsize) == 6 && offsetof(vioc_ring_state_t, vrs_qaddr_desc) == 8 &&
                  offsetof(vioc_ring_state_t, vrs_qaddr_avail) == 16 &&
                  offsetof(vioc_ring_state_t, vrs_qaddr_used) == 24,
              "vioc_ring_state_t layout");

// VNA_IOC_RING_INIT_MODERN: three independent addresses.
struct vioc_ring_init_modern_t {
  uint16_t rim_index;
  uint16_t rim_qsize;
  uint32_t rim_pad;
  uint64_t rim_qaddr_desc;   // guest-physical
  uint64_t rim_qaddr_avail;  // guest-physical
  uint64_t rim_qaddr_used;   // guest-physical
};
static_assert(sizeof(vioc_ring_init_modern_t) == 32, "vioc_ring_init_modern_t is 32 bytes");
static_assert(offsetof(vioc_ring_init_modern_t, rim_qaddr_desc) == 8 &&
                  offsetof(vioc_ring_init_modern_t, rim_qaddr_avail) == 16 &&
                  offsetof(vioc_ring_init_modern_t, rim_qaddr_used) == 24,
              "vioc_ring_init_modern_t layout");

// VNA_IOC_INTR_POLL: interrupt flags of rings 0 and 1.
struct vioc_intr_poll_t {
  uint32_t vip_status[2];
};
static_assert(sizeof(vioc_intr_poll_t) == 8, "vioc_intr_poll_t is 8 bytes");

// VNA_IOC_INTR_POLL_MQ: bit q of word q/32 set when ring q has an interrupt pending.
struct vioc_intr_poll_mq_t {
  uint16_t vipm_nrings;  // in: rings to report, 1..2*usepairs
  uint16_t vipm_pad;
  uint32_t vipm_status[VIONA_INTR_WORDS];
};
static_assert(sizeof(vioc_intr_poll_mq_t) == 68, "vioc_intr_poll_mq_t is 68 bytes");
static_assert(offsetof(vioc_intr_poll_mq_t, vipm_status) == 4, "vipm_status at 4");

// VNA_IOC_SET_NOTIFY_MMIO.
struct vioc_notify_mmio_t {
  uint64_t vim_address;  // guest-physical
  uint32_t vim_size;     // bytes
  uint32_t vim_pad;
};
static_assert(sizeof(vioc_notify_mmio_t) == 16, "vioc_notify_mmio_t is 16 bytes");

// VNA_IOC_{GET,DEFAULT}_PARAMS: the caller's buffer; vgp_param_sz is in:
// capacity, out: encoded size (also on E2BIG). See param_text.h for the encoding.
struct vioc_get_params_t {
  void* vgp_param;
  size_t vgp_param_sz;  // bytes
};
// VNA_IOC_SET_PARAMS: params in, per-key errors out (vsp_error_sz: in
// capacity, out size of the error list, 0 when there are no per-key errors).
struct vioc_set_params_t {
  void* vsp_param;
  size_t vsp_param_sz;  // bytes, 1..VIONA_MAX_PARAM_NVLIST_SZ
  void* vsp_error;
  size_t vsp_error_sz;  // bytes
};
static_assert(sizeof(void*) != 8 || (sizeof(vioc_get_params_t) == 16 && sizeof(vioc_set_params_t) == 32),
              "LP64 params layouts");
static_assert(offsetof(vioc_set_params_t, vsp_error) == 2 * sizeof(void*), "vsp_error after the param pair");

// viona_promisc_t values for VNA_IOC_SET_PROMISC.
constexpr int VIONA_PROMISC_NONE = 0;
constexpr int VIONA_PROMISC_MULTI = 1;
constexpr int VIONA_PROMISC_ALL = 2;
constexpr int VIONA_PROMISC_MAX = 3;

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_VIONA_IO_H_
