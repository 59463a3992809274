// SPDX-License-Identifier: MIT
// pci_device.cpp: BAR0 registers, MSI-X routing and the interrupt poll loop.
#include "bhyve_glue/pci/pci_device.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "viona/virtio_defs.h"

namespace bhyve_glue {

namespace {

bool parse_number(const std::string& v, int base, uint64_t* out) {
  if (v.empty() || v[0] == '-' || v[0] == '+' || v[0] == ' ') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v.c_str(), &end, base);
  if (errno != 0 || end == v.c_str() || *end != '\0') return false;
  *out = x;
  return true;
}

}  // namespace

bool parse_pci_options(const std::string& s, PciOptions* out, std::string* err) {
  PciOptions o;
  size_t pos = 0;
  bool first = true;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    std::string tok = s.substr(pos, comma - pos);
    pos = comma + 1;
    if (tok.empty()) {
      if (comma == s.size() && !first) break;
      *err = "empty option in \"" + s + "\"";
      return false;
    }
    size_t eq = tok.find('=');
    std::string key = eq == std::string::npos ? tok : tok.substr(0, eq);
    std::string val = eq == std::string::npos ? "" : tok.substr(eq + 1);
    if (eq == std::string::npos) {
      if (!first) {
        *err = "option \"" + tok + "\" has no value";
        return false;
      }
      o.vnic = tok;  // a bare first word is the vnic
    } else if (key == "vnic") {
      if (val.empty()) {
        *err = "vnic= needs a name";
        return false;
      }
      o.vnic = val;
    } else if (key == "feature_mask") {
      uint64_t m;
      if (!parse_number(val, 0, &m)) {
        *err = "feature_mask \"" + val + "\" is not a number";
        return false;
      }
      o.feature_mask = m;
    } else if (key == "vqsize") {
      uint64_t n;
      if (!parse_number(val, 10, &n)) {
        *err = "vqsize \"" + val + "\" is not a decimal number";
        return false;
      }
      if (n <= 2 || n > viona::VRING_MAX_LEN) {
        *err = "vqsize " + val + " out of range (2 < vqsize <= 32768)";
        return false;
      }
      if ((n & (n - 1)) != 0) {
        *err = "vqsize " + val + " is not a power of two";
        return false;
      }
      o.vqsize = static_cast<uint32_t>(n);
    } else {
      *err = "unknown option \"" + key + "\"";
      return false;
    }
    first = false;
    if (comma == s.size()) break;
  }
  if (o.vnic.empty()) {
    *err = "vnic is required";
    return false;
  }
  *out = o;
  return true;
}

PciDevice::PciDevice(Device* dev, Registry* reg) : dev_(dev), reg_(reg) {
  qvec_.fill(VIRTIO_MSI_NO_VECTOR);
}

PciDevice::~PciDevice() {
  stop_poll_thread();
  dev_->set_msi_handler(nullptr);
}

int PciDevice::call(int cmd, intptr_t arg) {
  int r = dev_->ioctl(cmd, arg);
  if (r < 0) last_error_.store(r);
  return r;
}

bool PciDevice::init(const PciOptions& opts, int vmfd, std::string* err) {
  int v = dev_->ioctl(VNA_IOC_VERSION, 0);
  if (v != VIONA_CURRENT_INTERFACE_VERSION) {
    *err = "viona interface version " + std::to_string(v) + ", expected " +
           std::to_string(VIONA_CURRENT_INTERFACE_VERSION);
    return false;
  }
  uint32_t linkid = reg_->link_id(opts.vnic);
  if (linkid == 0) {
    *err = "vnic \"" + opts.vnic + "\" not found";
    return false;
  }
  vioc_create_t c{linkid, vmfd};
  int r = dev_->ioctl(VNA_IOC_CREATE, reinterpret_cast<intptr_t>(&c));
  if (r < 0) {
    *err = "VNA_IOC_CREATE failed: " + std::string(std::strerror(-r));
    return false;
  }
  uint64_t f = 0;
  r = dev_->ioctl(VNA_IOC_GET_FEATURES, reinterpret_cast<intptr_t>(&f));
  if (r < 0) {
    *err = "VNA_IOC_GET_FEATURES failed: " + std::string(std::strerror(-r));
    return false;
  }
  (void)dev_->ioctl(VNA_IOC_SET_NOTIFY_IOP, kBar0Port + VIRTIO_PCI_QUEUE_NOTIFY);
  int mtu = dev_->ioctl(VNA_IOC_GET_MTU, 0);
  std::lock_guard<std::mutex> g(mu_);
  opts_ = opts;
  // The kernel's caps plus what the glue itself provides (MAC, link
  // status, MTU), less the mask; the legacy register shows 32 bits.
  host_features_ = (f | viona::VIRTIO_NET_F_MAC | viona::VIRTIO_NET_F_STATUS | viona::VIRTIO_NET_F_MTU) &
                   ~opts.feature_mask & 0xffffffffull;
  mac_ = reg_->link_mac(linkid);
  mtu_ = static_cast<uint16_t>(mtu > 0 ? mtu : 1500);
  dev_->set_msi_handler([this](uint64_t addr, uint64_t msg) {
    InterruptController* ic = ic_;
    if (ic != nullptr) ic->msi(addr, static_cast<uint32_t>(msg));
  });
  return true;
}

void PciDevice::set_interrupt_controller(InterruptController* ic) {
  std::lock_guard<std::mutex> g(mu_);
  ic_ = ic;
}

bool PciDevice::msix_enabled() const {
  return msix_enable_;
}

bool PciDevice::intx_asserted() const {
  std::lock_guard<std::mutex> g(mu_);
  return intx_;
}

uint64_t PciDevice::negotiated_features() const {
  std::lock_guard<std::mutex> g(mu_);
  return guest_features_;
}

uint8_t PciDevice::status() const {
  std::lock_guard<std::mutex> g(mu_);
  return status_;
}

uint8_t PciDevice::config_byte_locked(uint32_t k) const {
  if (k < 6) return mac_[k];
  uint16_t v;
  switch (k & ~1u) {
    case kCfgStatus: v = VIRTIO_NET_S_LINK_UP; break;
    case kCfgMaxPairs: v = 1; break;
    case kCfgMtu: v = mtu_; break;
    default: return 0;
  }
  return static_cast<uint8_t>((k & 1) ? v >> 8 : v);
}

void PciDevice::config_write_locked(uint32_t k, unsigned size, uint32_t val) {
  // Only the MAC is writable; it stays in the glue (not pushed to viona).
  for (unsigned b = 0; b < size; b++) {
    if (k + b < 6) mac_[k + b] = static_cast<uint8_t>(val >> (8 * b));
  }
}

uint32_t PciDevice::bar0_read(uint32_t off, unsigned size) {
  std::lock_guard<std::mutex> g(mu_);
  const uint32_t cfg = config_offset();
  if (off >= cfg) {
    uint32_t v = 0;
    for (unsigned b = 0; b < size; b++) v |= static_cast<uint32_t>(config_byte_locked(off - cfg + b)) << (8 * b);
    return v;
  }
  switch (off) {
    case VIRTIO_PCI_HOST_FEATURES: return static_cast<uint32_t>(host_features_);
    case VIRTIO_PCI_GUEST_FEATURES: return guest_features_;
    case VIRTIO_PCI_QUEUE_PFN: return queue_sel_ < kQueues ? pfn_[queue_sel_] : 0;
    case VIRTIO_PCI_QUEUE_NUM: return queue_sel_ < 2 ? opts_.vqsize : 0;
    case VIRTIO_PCI_QUEUE_SEL: return queue_sel_;
    case VIRTIO_PCI_QUEUE_NOTIFY: return 0;
    case VIRTIO_PCI_STATUS: return status_;
    case VIRTIO_PCI_ISR: {
      // Read to clear, and the INTx line drops with it.
      uint8_t v = isr_;
      isr_ = 0;
      if (intx_) {
        intx_ = false;
        if (ic_ != nullptr) ic_->intx(false);
      }
      return v;
    }
    case VIRTIO_MSI_CONFIG_VECTOR: return cfg_vec_;
    case VIRTIO_MSI_QUEUE_VECTOR: return queue_sel_ < kQueues ? qvec_[queue_sel_] : VIRTIO_MSI_NO_VECTOR;
    default: return 0;
  }
}

void PciDevice::bar0_write(uint32_t off, unsigned size, uint32_t val) {
  std::lock_guard<std::mutex> g(mu_);
  const uint32_t cfg = config_offset();
  if (off >= cfg) {
    config_write_locked(off - cfg, size, val);
    return;
  }
  switch (off) {
    case VIRTIO_PCI_GUEST_FEATURES: {
      uint64_t f = val & ~opts_.feature_mask;
      guest_features_ = static_cast<uint32_t>(f & host_features_);
      (void)call(VNA_IOC_SET_FEATURES, reinterpret_cast<intptr_t>(&f));
      break;
    }
    case VIRTIO_PCI_QUEUE_PFN:
      if (queue_sel_ >= 2) break;  // control queue: never implemented
      pfn_[queue_sel_] = val;
      if (val == 0) {
        // A zero PFN tears the queue down (viona would refuse PA 0).
        (void)call(VNA_IOC_RING_RESET, queue_sel_);
      } else {
        vioc_ring_init_t ri{queue_sel_, static_cast<uint16_t>(opts_.vqsize), 0,
                            static_cast<uint64_t>(val) << 12};
        // RING_INIT zeroes the ring's MSI target: route it again.
        if (call(VNA_IOC_RING_INIT, reinterpret_cast<intptr_t>(&ri)) == 0) program_msi_locked(queue_sel_);
      }
      break;
    case VIRTIO_PCI_QUEUE_SEL:
      queue_sel_ = static_cast<uint16_t>(val);
      break;
    case VIRTIO_PCI_QUEUE_NOTIFY:
      if ((val & 0xffff) < 2) (void)call(VNA_IOC_RING_KICK, static_cast<intptr_t>(val & 0xffff));
      break;
    case VIRTIO_PCI_STATUS:
      status_ = static_cast<uint8_t>(val);
      if (status_ == 0) reset_locked();
      break;
    case VIRTIO_MSI_CONFIG_VECTOR:
      cfg_vec_ = static_cast<uint16_t>(val);
      break;
    case VIRTIO_MSI_QUEUE_VECTOR:
      if (queue_sel_ >= kQueues) break;
      qvec_[queue_sel_] = static_cast<uint16_t>(val);
      if (queue_sel_ < 2) program_msi_locked(queue_sel_);
      break;
    default:
      break;  // read-only registers
  }
}

void PciDevice::reset_locked() {
  for (uint16_t i = 0; i < 2; i++) {
    int r;
    do {
      r = call(VNA_IOC_RING_RESET, i);
    } while (r == -EINTR);
  }
  guest_features_ = 0;
  pfn_.fill(0);
  qvec_.fill(VIRTIO_MSI_NO_VECTOR);
  cfg_vec_ = VIRTIO_MSI_NO_VECTOR;
  queue_sel_ = 0;
  isr_ = 0;
  if (intx_) {
    intx_ = false;
    if (ic_ != nullptr) ic_->intx(false);
  }
  for (uint16_t i = 0; i < 2; i++) program_msi_locked(i);
}

void PciDevice::program_msi_locked(uint16_t ring) {
  vioc_ring_msi_t m{ring, {0, 0, 0}, 0, 0};
  const uint16_t vec = qvec_[ring];
  if (msix_enable_ && !msix_fmask_ && vec < kMsixVectors && (msix_[vec].ctrl & 1) == 0) {
    m.rm_addr = msix_[vec].addr;
    m.rm_msg = msix_[vec].data;
  }
  (void)call(VNA_IOC_RING_SET_MSI, reinterpret_cast<intptr_t>(&m));
}

uint32_t PciDevice::msix_table_read(uint32_t off, unsigned size) {
  std::lock_guard<std::mutex> g(mu_);
  const uint32_t e = off / kMsixEntrySize;
  if (e >= kMsixVectors) return 0;
  const MsixEntry& m = msix_[e];
  switch (off % kMsixEntrySize) {
    case 0: return size == 4 ? static_cast<uint32_t>(m.addr) : 0;
    case 4: return static_cast<uint32_t>(m.addr >> 32);
    case 8: return m.data;
    case 12: return m.ctrl;
    default: return 0;
  }
}

void PciDevice::msix_table_write(uint32_t off, unsigned size, uint32_t val) {
  std::lock_guard<std::mutex> g(mu_);
  const uint32_t e = off / kMsixEntrySize;
  if (e >= kMsixVectors || size != 4) return;  // dword accesses only
  MsixEntry& m = msix_[e];
  switch (off % kMsixEntrySize) {
    case 0: m.addr = (m.addr & ~0xffffffffull) | val; break;
    case 4: m.addr = (m.addr & 0xffffffffull) | (static_cast<uint64_t>(val) << 32); break;
    case 8: m.data = val; break;
    case 12: m.ctrl = val & 1; break;
    default: return;
  }
  // Only the rings routed through this entry are reprogrammed.
  for (uint16_t i = 0; i < 2; i++) {
    if (qvec_[i] == e) program_msi_locked(i);
  }
}

void PciDevice::set_msix_control(bool enable, bool function_mask) {
  std::lock_guard<std::mutex> g(mu_);
  msix_enable_ = enable;
  msix_fmask_ = function_mask;
  for (uint16_t i = 0; i < 2; i++) program_msi_locked(i);
}

void PciDevice::generate_msix_locked(uint16_t vector) {
  // pci_generate_msix: nothing while disabled or function-masked, and a
  // masked entry's message is dropped.
  if (!msix_enable_ || msix_fmask_ || vector >= kMsixVectors) return;
  const MsixEntry& m = msix_[vector];
  if ((m.ctrl & 1) != 0) return;
  if (ic_ != nullptr) ic_->msi(m.addr, m.data);
}

int PciDevice::poll_interrupts() {
  std::lock_guard<std::mutex> g(mu_);
  vioc_intr_poll_t ip{};
  int n = dev_->ioctl(VNA_IOC_INTR_POLL, reinterpret_cast<intptr_t>(&ip));
  if (n <= 0) return 0;
  bool legacy = false;
  int handled = 0;
  for (uint16_t i = 0; i < 2; i++) {
    if (ip.vip_status[i] == 0) continue;
    if (msix_enable_) {
      generate_msix_locked(qvec_[i]);
    } else {
      legacy = true;
    }
    (void)call(VNA_IOC_RING_INTR_CLR, i);
    handled++;
  }
  if (legacy) {
    isr_ |= VIRTIO_PCI_ISR_INTR;
    if (!intx_) {
      intx_ = true;
      if (ic_ != nullptr) ic_->intx(true);
    }
  }
  return handled;
}

void PciDevice::start_poll_thread() {
  if (poll_thread_.joinable()) return;
  poll_stop_.store(false);
  poll_thread_ = std::thread([this] {
    while (!poll_stop_.load()) {
      if (dev_->wait_poll(20)) poll_interrupts();
    }
  });
}

void PciDevice::stop_poll_thread() {
  poll_stop_.store(true);
  if (poll_thread_.joinable()) poll_thread_.join();
}

}  // namespace bhyve_glue
