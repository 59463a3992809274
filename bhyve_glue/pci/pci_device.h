// SPDX-License-Identifier: MIT
// pci_device.h: the legacy virtio-net PCI function bhyve puts in front of viona.
#ifndef BHYVE_GLUE_PCI_PCI_DEVICE_H_
#define BHYVE_GLUE_PCI_PCI_DEVICE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "bhyve_glue/device.h"

namespace bhyve_glue {

// bhyve's "-s N,virtio-net-viona,OPTIONS" string (pci_viona_parse_opts):
// comma-separated; a bare first word is the vnic; keys vnic=NAME
// (required), feature_mask=N (strtoull base 0: bits removed from what is
// offered and accepted), vqsize=N (decimal, a power of two, 2 < N <= 32768,
// default 1024). Unknown keys and malformed values are errors.
struct PciOptions {
  std::string vnic;
  uint64_t feature_mask = 0;
  uint32_t vqsize = 1024;
};
// false and a one-line |*err| ("vqsize 48 is not a power of two") on error;
// |*out| untouched then.
bool parse_pci_options(const std::string& s, PciOptions* out, std::string* err);

// The VM's interrupt delivery: where MSIs (local APIC) and the INTx line
// go. Called from the device's threads; must not call back into the
// PciDevice or the Device (latch the interrupt and return, as an IRR does).
class InterruptController {
 public:
  virtual ~InterruptController() = default;
  virtual void msi(uint64_t addr, uint32_t data) = 0;
  virtual void intx(bool asserted) = 0;
};

// BAR0 of a legacy (0.9.5) virtio PCI device as pci_virtio_viona.c [2021]
// lays it out, with the MSI-X table of BAR1 and the interrupt poll loop.
// Register writes become VNA_IOC_* calls on the Device.
class PciDevice {
 public:
  // BAR0 offsets (bytes).
  static constexpr uint32_t VIRTIO_PCI_HOST_FEATURES = 0;   // R 32
  static constexpr uint32_t VIRTIO_PCI_GUEST_FEATURES = 4;  // R/W 32
  static constexpr uint32_t VIRTIO_PCI_QUEUE_PFN = 8;       // R/W 32
  static constexpr uint32_t VIRTIO_PCI_QUEUE_NUM = 12;      // R 16
  static constexpr uint32_t VIRTIO_PCI_QUEUE_SEL = 14;      // R/W 16
  static constexpr uint32_t VIRTIO_PCI_QUEUE_NOTIFY = 16;   // W 16
  static constexpr uint32_t VIRTIO_PCI_STATUS = 18;         // R/W 8
  static constexpr uint32_t VIRTIO_PCI_ISR = 19;            // R 8, read clears
  static constexpr uint32_t VIRTIO_MSI_CONFIG_VECTOR = 20;  // R/W 16, MSI-X only
  static constexpr uint32_t VIRTIO_MSI_QUEUE_VECTOR = 22;   // R/W 16, MSI-X only
  static constexpr uint32_t kConfigMsix = 24;   // device config with MSI-X enabled
  static constexpr uint32_t kConfigNoMsix = 20; // ... and without
  static constexpr uint32_t kBar0Size = 32;
  static constexpr uint16_t kBar0Port = 0xc000;  // I/O port base we assign BAR0
  // Device config (offsets from the config base): mac[6], status,
  // max_virtqueue_pairs, mtu (read by the guest only with VIRTIO_NET_F_MTU).
  static constexpr uint32_t kCfgMac = 0, kCfgStatus = 6, kCfgMaxPairs = 8, kCfgMtu = 10, kCfgSize = 12;
  static constexpr uint16_t VIRTIO_NET_S_LINK_UP = 0x0001;
  static constexpr uint16_t VIRTIO_MSI_NO_VECTOR = 0xffff;
  static constexpr uint32_t kMsixVectors = 3;  // config, RX, TX
  static constexpr uint32_t kMsixEntrySize = 16;
  static constexpr uint8_t VIRTIO_PCI_ISR_INTR = 1;
  // Queues: 0 RX, 1 TX, 2 control (advertised size 0, never implemented).
  static constexpr uint16_t kQueues = 3;

  PciDevice(Device* dev, Registry* reg);
  ~PciDevice();
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  // pci_viona_init: checks VNA_IOC_VERSION, looks the vnic up, CREATEs the
  // link on VM |vmfd| and hooks the notify port. false and |*err| on failure.
  bool init(const PciOptions& opts, int vmfd, std::string* err);
  void set_interrupt_controller(InterruptController* ic);

  // Port I/O on BAR0 (|size| 1, 2 or 4 bytes, little-endian).
  uint32_t bar0_read(uint32_t off, unsigned size);
  void bar0_write(uint32_t off, unsigned size, uint32_t val);
  // BAR1: the MSI-X table, 16 bytes per vector (addr lo, addr hi, data,
  // vector control with bit 0 = masked; masked after reset).
  uint32_t msix_table_read(uint32_t off, unsigned size);
  void msix_table_write(uint32_t off, unsigned size, uint32_t val);
  // PCI config space, MSI-X capability message control.
  void set_msix_control(bool enable, bool function_mask);
  bool msix_enabled() const;
  uint32_t config_offset() const { return msix_enabled() ? kConfigMsix : kConfigNoMsix; }

  // One pass of the poll thread: INTR_POLL, then for each flagged ring an
  // MSI-X message (MSI-X enabled) or the legacy ISR bit and INTx, and
  // RING_INTR_CLR. Returns the rings handled. Stepping mode calls it.
  int poll_interrupts();
  // Threaded mode: the "vionapoll" thread, which waits for POLLRDBAND.
  void start_poll_thread();
  void stop_poll_thread();

  bool intx_asserted() const;
  uint64_t host_features() const { return host_features_; }
  uint64_t negotiated_features() const;
  uint8_t status() const;
  // The errno (negative) of the last register write whose ioctl failed; 0 if none.
  int last_error() const { return last_error_.load(); }

 private:
  struct MsixEntry {
    uint64_t addr = 0;
    uint32_t data = 0;
    uint32_t ctrl = 1;  // masked
  };
  void reset_locked();
  void program_msi_locked(uint16_t ring);
  void generate_msix_locked(uint16_t vector);
  uint8_t config_byte_locked(uint32_t k) const;
  void config_write_locked(uint32_t k, unsigned size, uint32_t val);
  int call(int cmd, intptr_t arg);

  Device* dev_;
  Registry* reg_;
  mutable std::mutex mu_;  // the register file; taken before the Device's lock
  PciOptions opts_;
  InterruptController* ic_ = nullptr;
  uint64_t host_features_ = 0;   // what register 0 shows (low 32 bits)
  uint32_t guest_features_ = 0;  // last write to register 4, masked
  std::array<uint32_t, kQueues> pfn_{};
  std::array<uint16_t, kQueues> qvec_{};
  uint16_t cfg_vec_ = VIRTIO_MSI_NO_VECTOR;
  uint16_t queue_sel_ = 0;
  uint8_t status_ = 0;
  uint8_t isr_ = 0;
  bool intx_ = false;
  bool msix_enable_ = false;
  bool msix_fmask_ = false;
  std::array<MsixEntry, kMsixVectors> msix_{};
  std::array<uint8_t, 6> mac_{};
  uint16_t mtu_ = 1500;
  std::atomic<int> last_error_{0};
  std::thread poll_thread_;
  std::atomic<bool> poll_stop_{false};
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_PCI_PCI_DEVICE_H_
