// SPDX-License-Identifier: MIT
// guest_driver.h: a simulated virtio-net guest driver that checks what it receives.
#ifndef BHYVE_GLUE_GUEST_GUEST_DRIVER_H_
#define BHYVE_GLUE_GUEST_GUEST_DRIVER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "bhyve_glue/guest/guest_profile.h"
#include "bhyve_glue/pci/pci_device.h"
#include "viona/guest_memory.h"

namespace bhyve_glue {

// The ways a guest can make the chain at the head of its RX avail ring
// malformed, one per viona guest-error counter of the chain walk (the
// counter of the same name, viona-behaviour.md sections 3.1-3.4).
enum class RxCorruptKind : uint8_t {
  bad_idx = 0,         // head descriptor has NEXT with next = queue size
  indir_bad_next = 1,  // head descriptor has INDIRECT and NEXT
  indir_bad_nest = 2,  // indirect table entry 1 is itself INDIRECT
  indir_bad_len = 3,   // indirect table of 24 bytes (not a multiple of 16)
  desc_bad_len = 4,    // head descriptor of length 0
  bad_ring_addr = 5,   // buffer in the guest-physical hole after the scratch area
  too_many_desc = 6,   // indirect table of 33 entries (RX pops into 32 iovecs)
  len_overflow = 7,    // indirect entries of 4096 and 0xffffffff bytes (sum > 2^32 - 1)
  ndesc_too_high = 8,  // avail.idx published queue size + 1 ahead of what was posted
};
const char* rx_corrupt_kind_name(RxCorruptKind k);
bool rx_corrupt_kind_from_name(const std::string& name, RxCorruptKind* out);

// What the guest observed. Counts are frames unless named otherwise.
struct GuestStats {
  uint64_t rx_frames = 0;      // frames reassembled from the RX used ring
  uint64_t rx_verified = 0;    // equal, byte for byte, to the next expected frame
  uint64_t rx_mismatch = 0;    // received but different from the expected one
  uint64_t rx_unexpected = 0;  // received with nothing expected
  // Expected but never received, in lossy mode only (set_lossy_expect):
  // skipped over by a later frame that matched, or left when settled.
  uint64_t rx_not_received = 0;
  uint64_t rx_bad_used = 0;    // used entries with a bad id, length or num_buffers
  uint64_t rx_used_entries = 0;
  uint64_t tx_posted = 0;
  uint64_t tx_completed = 0;
  uint64_t tx_bad_used = 0;    // TX used entry with a bad id or a length != header + frame
  uint64_t irq_msix = 0;       // MSI-X messages taken
  uint64_t irq_intx = 0;       // INTx interrupts whose ISR read showed the queue bit
  std::string first_mismatch;  // a line describing the first failure
  bool ok() const { return rx_mismatch == 0 && rx_unexpected == 0 && rx_bad_used == 0 && tx_bad_used == 0; }
};

// The guest-physical layout: every area is a region of its own at a fixed
// address, allocated upwards from kGuestBase with a one-page hole after
// each (a stray device access hits a hole, not a neighbour). No host
// address and no randomness enters it.
constexpr uint64_t kGuestBase = 0x00100000;

// A legacy virtio-net driver. It touches the device only through PciDevice
// register reads/writes (and MSI-X table writes, and the MSI-X capability
// bit), and its buffers only through GuestMemory.
//
// Threading: in stepping mode everything runs on the caller's thread. In
// threaded mode one guest thread calls send/service/poll/wait_interrupt;
// interrupts arrive on device threads and are only latched there.
class GuestDriver : public InterruptController {
 public:
  // Adds the guest's regions to |mem| (before the device is created).
  GuestDriver(PciDevice* pci, viona::GuestMemory* mem, const GuestProfile& profile);
  ~GuestDriver() override;
  GuestDriver(const GuestDriver&) = delete;
  GuestDriver& operator=(const GuestDriver&) = delete;

  // Reset, ACK|DRIVER, feature negotiation, config read, both queues at
  // page-aligned PFNs, MSI-X vectors, DRIVER_OK, RX buffers posted and
  // the RX queue kicked. false and |*err| on failure.
  bool probe(std::string* err);
  // Writes 0 to the status register (the device resets both rings).
  void reset();

  // Posts |frame| as one TX chain and kicks unless the device suppressed
  // notifications. false when every TX slot is in flight (after reclaiming).
  bool send(const uint8_t* frame, size_t len);
  // With |on|, send() asks for offloads as a Linux guest with CSUM and
  // HOST_TSO4 would, whatever was negotiated (so the device's refusals show):
  // NEEDS_CSUM for TCP/UDP over IPv4/IPv6 (csum_start at L4, csum_offset 16
  // or 6, the pseudo-header sum with the L4 length in the checksum field),
  // and GSO TCPV4 with gso_size kTxGsoMss for TCP/IPv4 frames longer than
  // MTU + 14. Other frames go with a zero header.
  void set_tx_offload(bool on) { tx_offload_ = on; }
  static constexpr uint16_t kTxGsoMss = 1448;

  // Makes the chain the device pops next from the RX ring malformed (the
  // one at avail slot used.idx: the device returns every chain it pops, so
  // it has consumed as many avail entries as it wrote used ones). Written
  // through guest memory only, into a scratch area allocated on first use.
  // The device then fails that pop on every later frame: the chain is never
  // consumed. ndesc_too_high instead jumps the published avail.idx (and the
  // driver's own shadow) by queue size + 1; the ring keeps working.
  // Returns the head id rewritten (for ndesc_too_high, the new avail.idx).
  uint16_t corrupt_rx_head(RxCorruptKind k);

  // The next frame this guest should receive (padded to 60 bytes as
  // viona pads short frames). Received frames are checked in order.
  void expect(const uint8_t* frame, size_t len);
  // The same without copying: |frame| must stay valid until the frame has
  // been received or settled (a recording's capture outlives its guest).
  void expect_view(const uint8_t* frame, size_t len);
  size_t expected_pending() const;
  // Lossy expectations, for a guest behind a device that may legitimately
  // drop frames (over MTU, no space, a malformed chain): a received frame
  // that is not the front expected one is looked for among the next
  // |window| expected frames; if found there, the ones before it are
  // counted as rx_not_received and it is verified, otherwise it is a
  // mismatch (and consumes the front, as in strict mode). 0 (the default)
  // is strict: every expected frame must arrive, in order.
  void set_lossy_expect(size_t window) { lossy_window_ = window; }
  // Counts every pending expectation as not received and forgets it, e.g.
  // once everything a stepping device accepted has been serviced. Returns
  // how many there were.
  size_t settle_expected();
  // false: short frames are expected unpadded (a device with the
  // pre-OS-6815 quirk does not pad them).
  void set_expect_padding(bool on) { expect_pad_ = on; }

  // Interrupt handler: services the queues whose interrupt was taken
  // (MSI-X vector, or INTx after reading ISR). Returns frames received.
  size_t service();
  // NAPI-style poll: services both queues whatever the interrupts said.
  size_t poll();
  // Threaded mode: waits until an interrupt is latched or |timeout_ms|.
  bool wait_interrupt(int timeout_ms);

  // Called for every frame received (verified or not), e.g. to reflect it.
  void set_rx_callback(std::function<void(const std::vector<uint8_t>&)> cb) { rx_cb_ = std::move(cb); }

  const GuestStats& stats() const { return stats_; }
  uint64_t features() const { return features_; }
  const GuestProfile& profile() const { return profile_; }
  const uint8_t* mac() const { return mac_; }
  uint16_t mtu() const { return mtu_; }
  uint32_t rx_header_len() const { return rx_hdr_; }
  uint32_t tx_header_len() const { return tx_hdr_; }
  uint32_t rx_chains_posted() const { return static_cast<uint32_t>(rx_chain_.size()); }
  // Guest-physical address of RX data buffer |k| (profile formula).
  uint64_t rx_buffer_gpa(uint32_t k) const;
  uint64_t ring_gpa(uint16_t q) const { return q < 2 ? vq_[q].pa : 0; }

  // InterruptController (device side; latches only).
  void msi(uint64_t addr, uint32_t data) override;
  void intx(bool asserted) override;

  // MSI-X message data the driver programs for vector |v| (0 config, 1 RX, 2 TX).
  static constexpr uint32_t kMsiAddr = 0xfee00000;
  static constexpr uint32_t kMsiVectorBase = 0x40;

 private:
  struct Buf {
    uint64_t gpa;
    uint32_t len;
  };
  struct RxChain {
    uint16_t head;
    std::vector<Buf> bufs;  // header descriptor first when separate
    uint32_t capacity;      // bytes
    bool posted;
  };
  struct TxSlot {
    uint16_t head;
    uint64_t hdr_gpa, data_gpa, table_gpa;
    uint32_t expect_len;  // used length: header + frame
    bool busy;
  };
  struct Vq {
    uint16_t size = 0;
    uint64_t pa = 0, desc = 0, avail = 0, used = 0;
    uint16_t avail_idx = 0;  // shadow of avail.idx
    uint16_t last_used = 0;
  };

  uint64_t alloc(uint64_t size, uint64_t align);
  void write_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
  void avail_push(Vq& q, uint16_t head);
  void avail_publish(Vq& q);
  void kick(uint16_t q);
  uint16_t used_idx(const Vq& q) const;
  bool read_chain(const RxChain& c, uint32_t skip, uint32_t n, std::vector<uint8_t>* out) const;
  void setup_rx();
  void setup_tx();
  size_t service_rx();
  void service_tx();
  // One expected frame: |own| holds the bytes (expect) or |view| points
  // at the caller's (expect_view). Never padded: padding is applied when
  // comparing.
  struct Expected {
    std::vector<uint8_t> own;
    const uint8_t* view = nullptr;
    size_t len = 0;
    const uint8_t* bytes() const { return view != nullptr ? view : own.data(); }
  };
  size_t expected_len(const Expected& e) const;
  bool matches(const Expected& e, const std::vector<uint8_t>& f) const;
  void check_frame(const std::vector<uint8_t>& f);
  // Keeps the first failure's description; |describe| (returning a
  // std::string) is only called while none is kept, so a stream of
  // failures costs no formatting.
  template <class Describe>
  void mismatch(Describe&& describe) {
    if (stats_.first_mismatch.empty()) stats_.first_mismatch = describe();
  }
  void tx_offload_header(std::vector<uint8_t>* frame, uint8_t* hdr) const;

  PciDevice* pci_;
  viona::GuestMemory* mem_;
  GuestProfile profile_;
  uint64_t next_gpa_ = kGuestBase;
  uint64_t features_ = 0;
  uint8_t mac_[6] = {0, 0, 0, 0, 0, 0};
  uint16_t mtu_ = 0;
  uint32_t rx_hdr_ = viona::kNetHdrLen, tx_hdr_ = viona::kNetHdrLen;
  Vq vq_[2];
  uint64_t rx_buf_base_ = 0;
  uint64_t rx_table_base_ = 0;  // RX indirect tables, 16 bytes x entries per chain
  bool rx_indirect_ = false, tx_indirect_ = false;  // as negotiated
  std::vector<RxChain> rx_chain_;
  std::vector<int32_t> rx_by_head_;  // head id -> index in rx_chain_, -1 none
  std::vector<TxSlot> tx_slot_;
  std::vector<int32_t> tx_by_head_;
  std::vector<uint32_t> tx_free_;  // LIFO of free slot indices
  std::deque<Expected> expected_;
  size_t lossy_window_ = 0;
  bool expect_pad_ = true;
  std::function<void(const std::vector<uint8_t>&)> rx_cb_;
  GuestStats stats_;
  uint64_t frame_no_ = 0;
  bool tx_offload_ = false;
  uint64_t scratch_ = 0;  // corrupt_rx_head's tables and buffers, 0 until first used
  // Latched interrupts (device threads write, guest thread reads).
  std::mutex irq_mu_;
  std::condition_variable irq_cv_;
  uint32_t irq_vectors_ = 0;  // bit v: MSI-X vector v taken
  bool irq_line_ = false;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_GUEST_GUEST_DRIVER_H_
