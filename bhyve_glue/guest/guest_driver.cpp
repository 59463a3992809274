// SPDX-License-Identifier: MIT
// guest_driver.cpp: probing, queue setup, RX reassembly and verification, TX posting.
#include "bhyve_glue/guest/guest_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "viona/checksum.h"

namespace bhyve_glue {

using namespace viona;

namespace {

// Legacy virtio device status bits.
constexpr uint8_t VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
constexpr uint8_t VIRTIO_CONFIG_S_DRIVER = 2;
constexpr uint8_t VIRTIO_CONFIG_S_DRIVER_OK = 4;

constexpr uint32_t kRxVector = 1, kTxVector = 2;

uint32_t rx_slots_per_chain(const GuestProfile& p) {
  return p.rx_indirect ? 1 : p.rx_descs + (p.rx_hdr_desc != 0 ? 1 : 0);
}

uint32_t rx_chain_count(const GuestProfile& p) {
  uint32_t n = p.ring_size / rx_slots_per_chain(p);
  if (p.rx_chains != 0) n = std::min(n, p.rx_chains);
  return n;
}

uint32_t tx_slot_count(const GuestProfile& p) {
  uint32_t n = p.tx_indirect ? p.ring_size : p.ring_size / 2u;
  return std::min(n, p.tx_slots);
}

}  // namespace

GuestDriver::GuestDriver(PciDevice* pci, GuestMemory* mem, const GuestProfile& profile)
    : pci_(pci), mem_(mem), profile_(profile) {
  const uint16_t qsz = profile_.ring_size;
  for (auto& q : vq_) {
    q.size = qsz;
    q.pa = alloc(vring_legacy_total_size(qsz), kPageSize);
    q.desc = q.pa;
    q.avail = q.pa + vring_desc_size(qsz);
    q.used = q.pa + vring_legacy_used_offset(qsz);
  }
  const uint32_t nchains = rx_chain_count(profile_);
  const uint32_t ndata = nchains * profile_.rx_descs;
  const uint32_t per_chain = profile_.rx_descs + (profile_.rx_hdr_desc != 0 ? 1 : 0);
  uint64_t tables = 0, hdrs = 0;
  if (profile_.rx_indirect) tables = alloc(uint64_t{nchains} * 16 * per_chain, kPageSize);
  if (profile_.rx_hdr_desc != 0) hdrs = alloc(uint64_t{nchains} * 16, kPageSize);
  uint64_t data_size;
  if (profile_.rx_block != 0) {
    const uint32_t per_block = (profile_.rx_block - profile_.rx_offset) / profile_.rx_stride;
    data_size = uint64_t{(ndata + per_block - 1) / per_block} * profile_.rx_block;
    rx_buf_base_ = alloc(data_size, profile_.rx_block);
  } else {
    data_size = profile_.rx_offset + uint64_t{ndata} * profile_.rx_stride;
    rx_buf_base_ = alloc(data_size, 32768);
  }
  for (uint32_t c = 0; c < nchains; c++) {
    RxChain ch;
    ch.head = 0;
    ch.capacity = 0;
    ch.posted = false;
    if (profile_.rx_hdr_desc != 0) ch.bufs.push_back(Buf{hdrs + uint64_t{c} * 16, profile_.rx_hdr_desc});
    for (uint32_t d = 0; d < profile_.rx_descs; d++) {
      ch.bufs.push_back(Buf{rx_buffer_gpa(c * profile_.rx_descs + d), profile_.rx_buf});
    }
    for (const Buf& b : ch.bufs) ch.capacity += b.len;
    rx_chain_.push_back(std::move(ch));
  }
  rx_table_base_ = tables;
  const uint32_t ntx = tx_slot_count(profile_);
  const uint64_t tx_hdrs = alloc(uint64_t{ntx} * 16, kPageSize);
  const uint64_t tx_tables = profile_.tx_indirect ? alloc(uint64_t{ntx} * 32, kPageSize) : 0;
  const uint64_t tx_data = alloc(uint64_t{ntx} * profile_.tx_buf, kPageSize);
  for (uint32_t s = 0; s < ntx; s++) {
    TxSlot t;
    t.head = 0;
    t.hdr_gpa = tx_hdrs + uint64_t{s} * 16;
    t.table_gpa = profile_.tx_indirect ? tx_tables + uint64_t{s} * 32 : 0;
    t.data_gpa = tx_data + uint64_t{s} * profile_.tx_buf;
    t.expect_len = 0;
    t.busy = false;
    tx_slot_.push_back(t);
  }
}

GuestDriver::~GuestDriver() = default;

uint64_t GuestDriver::alloc(uint64_t size, uint64_t align) {
  uint64_t a = (next_gpa_ + align - 1) & ~(align - 1);
  uint64_t sz = round_up_page(std::max<uint64_t>(size, 1));
  bool added = mem_->add_region(a, sz);
  (void)added;  // fixed, non-overlapping addresses: only a full memory could refuse
  next_gpa_ = a + sz + kPageSize;  // one-page hole after every area
  return a;
}

uint64_t GuestDriver::rx_buffer_gpa(uint32_t k) const {
  if (profile_.rx_block != 0) {
    const uint32_t per_block = (profile_.rx_block - profile_.rx_offset) / profile_.rx_stride;
    return rx_buf_base_ + uint64_t{k / per_block} * profile_.rx_block + profile_.rx_offset +
           uint64_t{k % per_block} * profile_.rx_stride;
  }
  return rx_buf_base_ + profile_.rx_offset + uint64_t{k} * profile_.rx_stride;
}

void GuestDriver::write_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                             uint16_t next) {
  VringDesc d{addr, len, flags, next};
  mem_->write_obj(table + 16ull * i, d);
}

void GuestDriver::avail_push(Vq& q, uint16_t head) {
  mem_->write_obj<uint16_t>(q.avail + 4 + 2ull * (q.avail_idx & (q.size - 1)), head);
  q.avail_idx++;
}

void GuestDriver::avail_publish(Vq& q) {
  std::atomic_thread_fence(std::memory_order_release);  // entries before the index
  mem_->write_obj<uint16_t>(q.avail + 2, q.avail_idx);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // index before reading used.flags
}

void GuestDriver::kick(uint16_t q) {
  uint16_t flags = 0;
  mem_->read_obj(vq_[q].used, &flags);
  if ((flags & VRING_USED_F_NO_NOTIFY) == 0) pci_->bar0_write(PciDevice::VIRTIO_PCI_QUEUE_NOTIFY, 2, q);
}

uint16_t GuestDriver::used_idx(const Vq& q) const {
  uint16_t v = 0;
  mem_->read_obj(q.used + 2, &v);
  std::atomic_thread_fence(std::memory_order_acquire);
  return v;
}

void GuestDriver::reset() { pci_->bar0_write(PciDevice::VIRTIO_PCI_STATUS, 1, 0); }

bool GuestDriver::probe(std::string* err) {
  reset();
  pci_->bar0_write(PciDevice::VIRTIO_PCI_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
  pci_->bar0_write(PciDevice::VIRTIO_PCI_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  const uint64_t host = pci_->bar0_read(PciDevice::VIRTIO_PCI_HOST_FEATURES, 4);
  features_ = host & profile_.want_features;
  // Linux's dependencies: no TSO without the checksum it relies on.
  if ((features_ & VIRTIO_NET_F_GUEST_CSUM) == 0) features_ &= ~VIRTIO_NET_F_GUEST_TSO4;
  if ((features_ & VIRTIO_NET_F_CSUM) == 0) features_ &= ~VIRTIO_NET_F_HOST_TSO4;
  pci_->bar0_write(PciDevice::VIRTIO_PCI_GUEST_FEATURES, 4, static_cast<uint32_t>(features_));
  const bool mrg = (features_ & VIRTIO_NET_F_MRG_RXBUF) != 0;
  rx_hdr_ = mrg ? kNetHdrMrgLen : kNetHdrLen;
  tx_hdr_ = rx_hdr_;  // legacy: num_buffers is in TX headers too with MRG_RXBUF
  if (profile_.rx_hdr_desc != 0 && profile_.rx_hdr_desc < rx_hdr_) {
    // A separate header buffer is sized for the header actually used.
    for (auto& c : rx_chain_) {
      c.capacity += rx_hdr_ - c.bufs[0].len;
      c.bufs[0].len = rx_hdr_;
    }
  }
  const bool indirect = (features_ & VIRTIO_F_RING_INDIRECT_DESC) != 0;
  if (!indirect) {
    // Without indirect descriptors a chain takes its slots in the table.
    const uint32_t per = profile_.rx_descs + (profile_.rx_hdr_desc != 0 ? 1 : 0);
    if (rx_chain_.size() > profile_.ring_size / per) rx_chain_.resize(profile_.ring_size / per);
    if (tx_slot_.size() > profile_.ring_size / 2u) tx_slot_.resize(profile_.ring_size / 2u);
  }
  rx_indirect_ = indirect && profile_.rx_indirect;
  tx_indirect_ = indirect && profile_.tx_indirect;

  if (profile_.msix) {
    for (uint32_t v = 0; v < PciDevice::kMsixVectors; v++) {
      pci_->msix_table_write(v * 16 + 0, 4, kMsiAddr);
      pci_->msix_table_write(v * 16 + 4, 4, 0);
      pci_->msix_table_write(v * 16 + 8, 4, kMsiVectorBase + v);
      pci_->msix_table_write(v * 16 + 12, 4, 0);  // unmask
    }
    pci_->set_msix_control(true, false);
    pci_->bar0_write(PciDevice::VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
  } else {
    pci_->set_msix_control(false, false);
  }
  const uint32_t cfg = pci_->config_offset();
  for (uint32_t k = 0; k < 6; k++) mac_[k] = static_cast<uint8_t>(pci_->bar0_read(cfg + k, 1));
  if (features_ & VIRTIO_NET_F_MTU) mtu_ = static_cast<uint16_t>(pci_->bar0_read(cfg + PciDevice::kCfgMtu, 2));

  for (uint16_t q = 0; q < 2; q++) {
    pci_->bar0_write(PciDevice::VIRTIO_PCI_QUEUE_SEL, 2, q);
    const uint32_t num = pci_->bar0_read(PciDevice::VIRTIO_PCI_QUEUE_NUM, 2);
    if (num != vq_[q].size) {
      *err = "queue " + std::to_string(q) + " has size " + std::to_string(num) + ", profile expects " +
             std::to_string(vq_[q].size);
      return false;
    }
    // Fresh ring memory: zero flags and indices.
    std::vector<uint8_t> zero(vring_legacy_total_size(num), 0);
    mem_->write(vq_[q].pa, zero.data(), zero.size());
    vq_[q].avail_idx = 0;
    vq_[q].last_used = 0;
    if (profile_.msix) pci_->bar0_write(PciDevice::VIRTIO_MSI_QUEUE_VECTOR, 2, q == 0 ? kRxVector : kTxVector);
    const int before = pci_->last_error();
    pci_->bar0_write(PciDevice::VIRTIO_PCI_QUEUE_PFN, 4, static_cast<uint32_t>(vq_[q].pa >> 12));
    if (pci_->last_error() != before && pci_->last_error() != 0) {
      *err = "queue " + std::to_string(q) + " PFN write failed: errno " + std::to_string(-pci_->last_error());
      return false;
    }
  }
  pci_->bar0_write(PciDevice::VIRTIO_PCI_STATUS, 1,
                   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
  setup_tx();
  setup_rx();
  return true;
}

void GuestDriver::setup_rx() {
  Vq& q = vq_[0];
  rx_by_head_.assign(q.size, -1);
  uint16_t slot = 0;
  for (size_t c = 0; c < rx_chain_.size(); c++) {
    RxChain& ch = rx_chain_[c];
    const uint16_t n = static_cast<uint16_t>(ch.bufs.size());
    if (rx_indirect_) {
      const uint64_t table = rx_table_base_ + uint64_t{c} * 16 * n;
      for (uint16_t i = 0; i < n; i++) {
        write_desc(table, i, ch.bufs[i].gpa, ch.bufs[i].len,
                   static_cast<uint16_t>(VRING_DESC_F_WRITE | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                   static_cast<uint16_t>(i + 1 < n ? i + 1 : 0));
      }
      ch.head = slot;
      write_desc(q.desc, slot, table, 16u * n, VRING_DESC_F_INDIRECT, 0);
      slot++;
    } else {
      ch.head = slot;
      for (uint16_t i = 0; i < n; i++) {
        const uint16_t d = static_cast<uint16_t>(slot + i);
        write_desc(q.desc, d, ch.bufs[i].gpa, ch.bufs[i].len,
                   static_cast<uint16_t>(VRING_DESC_F_WRITE | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                   static_cast<uint16_t>(i + 1 < n ? d + 1 : 0));
      }
      slot = static_cast<uint16_t>(slot + n);
    }
    rx_by_head_[ch.head] = static_cast<int32_t>(c);
    ch.posted = true;
    avail_push(q, ch.head);
  }
  avail_publish(q);
  kick(0);
}

void GuestDriver::setup_tx() {
  Vq& q = vq_[1];
  tx_by_head_.assign(q.size, -1);
  tx_free_.clear();
  for (size_t s = 0; s < tx_slot_.size(); s++) {
    TxSlot& t = tx_slot_[s];
    t.head = static_cast<uint16_t>(tx_indirect_ ? s : 2 * s);
    t.busy = false;
    tx_by_head_[t.head] = static_cast<int32_t>(s);
  }
  // LIFO, lowest slot on top: allocation order is 0, 1, 2, ...
  for (size_t s = tx_slot_.size(); s > 0; s--) tx_free_.push_back(static_cast<uint32_t>(s - 1));
}

bool GuestDriver::send(const uint8_t* frame, size_t len) {
  if (len == 0 || len > profile_.tx_buf) return false;
  if (tx_free_.empty()) service_tx();
  if (tx_free_.empty()) return false;
  const uint32_t s = tx_free_.back();
  tx_free_.pop_back();
  TxSlot& t = tx_slot_[s];
  Vq& q = vq_[1];
  std::vector<uint8_t> hdr(tx_hdr_, 0);  // no offload requested
  std::vector<uint8_t> body;
  if (tx_offload_) {
    body.assign(frame, frame + len);
    tx_offload_header(&body, hdr.data());
    frame = body.data();
  }
  mem_->write(t.hdr_gpa, hdr.data(), hdr.size());
  mem_->write(t.data_gpa, frame, len);
  if (tx_indirect_) {
    write_desc(t.table_gpa, 0, t.hdr_gpa, tx_hdr_, VRING_DESC_F_NEXT, 1);
    write_desc(t.table_gpa, 1, t.data_gpa, static_cast<uint32_t>(len), 0, 0);
    write_desc(q.desc, t.head, t.table_gpa, 32, VRING_DESC_F_INDIRECT, 0);
  } else {
    write_desc(q.desc, t.head, t.hdr_gpa, tx_hdr_, VRING_DESC_F_NEXT, static_cast<uint16_t>(t.head + 1));
    write_desc(q.desc, static_cast<uint16_t>(t.head + 1), t.data_gpa, static_cast<uint32_t>(len), 0, 0);
  }
  t.expect_len = tx_hdr_ + static_cast<uint32_t>(len);
  t.busy = true;
  avail_push(q, t.head);
  avail_publish(q);
  stats_.tx_posted++;
  kick(1);
  return true;
}

void GuestDriver::tx_offload_header(std::vector<uint8_t>* frame, uint8_t* hdr) const {
  uint8_t* f = frame->data();
  const size_t len = frame->size();
  const PacketInfo info = parse_packet(f, len);
  const bool v4 = info.ethertype == 0x0800, v6 = info.ethertype == 0x86dd;
  const bool tcp = info.l4proto == 6, udp = info.l4proto == 17;
  if (!info.l4_ok || !(v4 || v6) || !(tcp || udp)) return;
  const uint32_t start = info.l2hlen + info.l3hlen;
  const uint32_t offset = tcp ? 16 : 6;
  if (start + offset + 2 > len) return;
  // The pseudo-header sum Linux leaves in the checksum field for the
  // device to finish: addresses, protocol and the L4 length, not inverted.
  const uint32_t l4len = static_cast<uint32_t>(len - start);
  const uint32_t ip = info.l2hlen;
  uint32_t sum = info.l4proto + (l4len >> 16) + (l4len & 0xffff);
  sum = v4 ? csum_partial(f + ip + 12, 8, sum) : csum_partial(f + ip + 8, 32, sum);
  const uint16_t ph = csum_fold(sum);
  f[start + offset] = static_cast<uint8_t>(ph >> 8);
  f[start + offset + 1] = static_cast<uint8_t>(ph);
  auto le16 = [&](size_t at, uint32_t v) {
    hdr[at] = static_cast<uint8_t>(v);
    hdr[at + 1] = static_cast<uint8_t>(v >> 8);
  };
  hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  const uint32_t mtu = mtu_ != 0 ? mtu_ : VIONA_DEFAULT_MTU;
  if (tcp && v4 && len > mtu + kEtherHeaderLen) {
    hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    le16(2, start + info.l4hlen);  // hdr_len (viona ignores it)
    le16(4, kTxGsoMss);
  }
  le16(6, start);
  le16(8, offset);
}

const char* rx_corrupt_kind_name(RxCorruptKind k) {
  switch (k) {
    case RxCorruptKind::bad_idx: return "bad_idx";
    case RxCorruptKind::indir_bad_next: return "indir_bad_next";
    case RxCorruptKind::indir_bad_nest: return "indir_bad_nest";
    case RxCorruptKind::indir_bad_len: return "indir_bad_len";
    case RxCorruptKind::desc_bad_len: return "desc_bad_len";
    case RxCorruptKind::bad_ring_addr: return "bad_ring_addr";
    case RxCorruptKind::too_many_desc: return "too_many_desc";
    case RxCorruptKind::len_overflow: return "len_overflow";
    case RxCorruptKind::ndesc_too_high: return "ndesc_too_high";
  }
  return "?";
}

bool rx_corrupt_kind_from_name(const std::string& name, RxCorruptKind* out) {
  for (uint8_t v = 0; v <= static_cast<uint8_t>(RxCorruptKind::ndesc_too_high); v++) {
    const RxCorruptKind k = static_cast<RxCorruptKind>(v);
    if (name == rx_corrupt_kind_name(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

uint16_t GuestDriver::corrupt_rx_head(RxCorruptKind k) {
  Vq& q = vq_[0];
  if (k == RxCorruptKind::ndesc_too_high) {
    // A driver bug: it believes it posted a whole ring and one more.
    q.avail_idx = static_cast<uint16_t>(q.avail_idx + q.size + 1);
    avail_publish(q);
    return q.avail_idx;
  }
  // Scratch: page 0 for indirect tables, page 1 for buffers; alloc leaves
  // the page after them a hole (the bad_ring_addr target).
  if (scratch_ == 0) scratch_ = alloc(2 * kPageSize, kPageSize);
  const uint64_t table = scratch_, buf = scratch_ + kPageSize, hole = scratch_ + 2 * kPageSize;
  uint16_t head = 0;
  mem_->read_obj(q.avail + 4 + 2ull * (used_idx(q) & (q.size - 1)), &head);
  constexpr uint16_t W = VRING_DESC_F_WRITE, N = VRING_DESC_F_NEXT, I = VRING_DESC_F_INDIRECT;
  switch (k) {
    case RxCorruptKind::bad_idx:
      write_desc(q.desc, head, buf, 64, W | N, q.size);
      break;
    case RxCorruptKind::indir_bad_next:
      write_desc(table, 0, buf, 64, W, 0);
      write_desc(q.desc, head, table, 16, I | N, static_cast<uint16_t>((head + 1) & (q.size - 1)));
      break;
    case RxCorruptKind::indir_bad_nest:
      write_desc(table, 0, buf, 64, W | N, 1);
      write_desc(table, 1, table, 32, I, 0);  // a table naming itself
      write_desc(q.desc, head, table, 32, I, 0);
      break;
    case RxCorruptKind::indir_bad_len:
      write_desc(table, 0, buf, 64, W, 0);
      write_desc(table, 1, buf + 64, 64, W, 0);
      write_desc(q.desc, head, table, 24, I, 0);
      break;
    case RxCorruptKind::desc_bad_len:
      write_desc(q.desc, head, buf, 0, W, 0);
      break;
    case RxCorruptKind::bad_ring_addr:
      write_desc(q.desc, head, hole, 1536, W, 0);
      break;
    case RxCorruptKind::too_many_desc:
      // 33 one-piece entries: the 32-iovec budget runs out with NEXT set.
      // (A queue smaller than 33 refuses the table length: indir_bad_len.)
      for (uint16_t i = 0; i < 33; i++) {
        write_desc(table, i, buf + 32ull * i, 32, static_cast<uint16_t>(W | (i < 32 ? N : 0)),
                   static_cast<uint16_t>(i < 32 ? i + 1 : 0));
      }
      write_desc(q.desc, head, table, 33 * 16, I, 0);
      break;
    case RxCorruptKind::len_overflow:
      write_desc(table, 0, buf, 4096, W | N, 1);
      write_desc(table, 1, buf, 0xffffffffu, W, 0);
      write_desc(q.desc, head, table, 32, I, 0);
      break;
    case RxCorruptKind::ndesc_too_high:
      break;
  }
  return head;
}

void GuestDriver::expect(const uint8_t* frame, size_t len) {
  Expected e;
  e.own.assign(frame, frame + len);
  e.len = len;
  expected_.push_back(std::move(e));
}

void GuestDriver::expect_view(const uint8_t* frame, size_t len) {
  Expected e;
  e.view = frame;
  e.len = len;
  expected_.push_back(std::move(e));
}

size_t GuestDriver::expected_pending() const { return expected_.size(); }

size_t GuestDriver::settle_expected() {
  const size_t n = expected_.size();
  stats_.rx_not_received += n;
  expected_.clear();
  return n;
}

void GuestDriver::msi(uint64_t addr, uint32_t data) {
  {
    std::lock_guard<std::mutex> g(irq_mu_);
    if (addr == kMsiAddr && data >= kMsiVectorBase && data < kMsiVectorBase + 32) {
      irq_vectors_ |= 1u << (data - kMsiVectorBase);
    }
  }
  irq_cv_.notify_all();
}

void GuestDriver::intx(bool asserted) {
  {
    std::lock_guard<std::mutex> g(irq_mu_);
    if (asserted) irq_line_ = true;
  }
  if (asserted) irq_cv_.notify_all();
}

bool GuestDriver::wait_interrupt(int timeout_ms) {
  std::unique_lock<std::mutex> g(irq_mu_);
  return irq_cv_.wait_for(g, std::chrono::milliseconds(timeout_ms),
                          [this] { return irq_vectors_ != 0 || irq_line_; });
}

size_t GuestDriver::service() {
  uint32_t vecs;
  bool line;
  {
    std::lock_guard<std::mutex> g(irq_mu_);
    vecs = irq_vectors_;
    line = irq_line_;
    irq_vectors_ = 0;
    irq_line_ = false;
  }
  bool do_rx = false, do_tx = false;
  if (vecs & (1u << kRxVector)) {
    stats_.irq_msix++;
    do_rx = true;
  }
  if (vecs & (1u << kTxVector)) {
    stats_.irq_msix++;
    do_tx = true;
  }
  if (line) {
    // The legacy handler: reading ISR acknowledges and lowers INTx.
    const uint32_t isr = pci_->bar0_read(PciDevice::VIRTIO_PCI_ISR, 1);
    if (isr & PciDevice::VIRTIO_PCI_ISR_INTR) {
      stats_.irq_intx++;
      do_rx = do_tx = true;
    }
  }
  size_t got = 0;
  if (do_tx) service_tx();
  if (do_rx) got = service_rx();
  return got;
}

size_t GuestDriver::poll() {
  service_tx();
  return service_rx();
}

void GuestDriver::service_tx() {
  Vq& q = vq_[1];
  const uint16_t end = used_idx(q);
  while (q.last_used != end) {
    VringUsedElem e{};
    mem_->read_obj(q.used + 4 + 8ull * (q.last_used & (q.size - 1)), &e);
    q.last_used++;
    if (e.id >= q.size || tx_by_head_[e.id] < 0 || !tx_slot_[tx_by_head_[e.id]].busy) {
      stats_.tx_bad_used++;
      mismatch([&] { return "tx used entry with id " + std::to_string(e.id) + " not in flight"; });
      continue;
    }
    const uint32_t s = static_cast<uint32_t>(tx_by_head_[e.id]);
    TxSlot& t = tx_slot_[s];
    if (e.len != t.expect_len) {
      stats_.tx_bad_used++;
      mismatch([&] {
        return "tx used length " + std::to_string(e.len) + " for id " + std::to_string(e.id) + ", expected " +
               std::to_string(t.expect_len);
      });
    }
    t.busy = false;
    tx_free_.push_back(s);
    stats_.tx_completed++;
  }
}

bool GuestDriver::read_chain(const RxChain& c, uint32_t skip, uint32_t n, std::vector<uint8_t>* out) const {
  for (const Buf& b : c.bufs) {
    if (n == 0) break;
    if (skip >= b.len) {
      skip -= b.len;
      continue;
    }
    const uint32_t take = std::min(b.len - skip, n);
    const size_t at = out->size();
    out->resize(at + take);
    if (!mem_->read(b.gpa + skip, out->data() + at, take)) return false;
    skip = 0;
    n -= take;
  }
  return n == 0;
}

size_t GuestDriver::service_rx() {
  Vq& q = vq_[0];
  const bool mrg = (features_ & VIRTIO_NET_F_MRG_RXBUF) != 0;
  size_t frames = 0;
  bool reposted = false;
  uint16_t end = used_idx(q);
  while (q.last_used != end) {
    VringUsedElem e{};
    mem_->read_obj(q.used + 4 + 8ull * (q.last_used & (q.size - 1)), &e);
    auto chain_of = [&](const VringUsedElem& u) -> RxChain* {
      if (u.id >= q.size || rx_by_head_[u.id] < 0) return nullptr;
      RxChain* c = &rx_chain_[rx_by_head_[u.id]];
      return c->posted ? c : nullptr;
    };
    RxChain* c0 = chain_of(e);
    if (c0 == nullptr || e.len < rx_hdr_ || e.len > c0->capacity) {
      stats_.rx_bad_used++;
      stats_.rx_used_entries++;
      mismatch([&] { return "rx used entry id " + std::to_string(e.id) + " len " + std::to_string(e.len) + " is invalid"; });
      q.last_used++;
      if (c0 != nullptr) {
        avail_push(q, c0->head);
        reposted = true;
      }
      continue;
    }
    std::vector<uint8_t> hdr;
    (void)read_chain(*c0, 0, rx_hdr_, &hdr);
    uint16_t nbuf = 1;
    if (mrg) std::memcpy(&nbuf, hdr.data() + kNetHdrLen, 2);
    if (nbuf == 0 || nbuf > VTNET_MAXSEGS) {
      stats_.rx_bad_used++;
      mismatch([&] { return "num_buffers " + std::to_string(nbuf) + " in frame " + std::to_string(frame_no_); });
      nbuf = 1;
    }
    if (static_cast<uint16_t>(end - q.last_used) < nbuf) {
      end = used_idx(q);  // the rest of the frame may be published by now
      if (static_cast<uint16_t>(end - q.last_used) < nbuf) break;
    }
    std::vector<uint8_t> frame;
    bool ok = read_chain(*c0, rx_hdr_, e.len - rx_hdr_, &frame);
    c0->posted = false;
    std::vector<RxChain*> done{c0};
    for (uint16_t k = 1; k < nbuf; k++) {
      VringUsedElem ek{};
      mem_->read_obj(q.used + 4 + 8ull * (static_cast<uint16_t>(q.last_used + k) & (q.size - 1)), &ek);
      RxChain* ck = chain_of(ek);
      if (ck == nullptr || ek.len > ck->capacity) {
        stats_.rx_bad_used++;
        ok = false;
        continue;
      }
      ok = read_chain(*ck, 0, ek.len, &frame) && ok;
      ck->posted = false;
      done.push_back(ck);
    }
    q.last_used = static_cast<uint16_t>(q.last_used + nbuf);
    stats_.rx_used_entries += nbuf;
    stats_.rx_frames++;
    frames++;
    if (!ok) mismatch([&] { return "frame " + std::to_string(frame_no_) + " could not be read"; });
    check_frame(frame);
    frame_no_++;
    if (rx_cb_) rx_cb_(frame);
    // Refill: the same chains go straight back (their descriptors are unchanged).
    for (RxChain* c : done) {
      c->posted = true;
      avail_push(q, c->head);
    }
    reposted = true;
  }
  if (reposted) {
    avail_publish(q);
    kick(0);
  }
  return frames;
}

size_t GuestDriver::expected_len(const Expected& e) const {
  // viona pads short frames to 60 bytes (56, the VLAN-less size, too).
  return expect_pad_ ? std::max<size_t>(e.len, MIN_BUF_SIZE) : e.len;
}

bool GuestDriver::matches(const Expected& e, const std::vector<uint8_t>& f) const {
  if (f.size() != expected_len(e) || std::memcmp(f.data(), e.bytes(), e.len) != 0) return false;
  for (size_t i = e.len; i < f.size(); i++) {
    if (f[i] != 0) return false;
  }
  return true;
}

void GuestDriver::check_frame(const std::vector<uint8_t>& f) {
  if (expected_.empty()) {
    stats_.rx_unexpected++;
    mismatch([&] {
      return "frame " + std::to_string(frame_no_) + " (" + std::to_string(f.size()) +
             " bytes) received with nothing expected";
    });
    return;
  }
  if (matches(expected_.front(), f)) {
    expected_.pop_front();
    stats_.rx_verified++;
    return;
  }
  // Lossy mode: the frames before a later match were dropped by the device.
  const size_t look = std::min(lossy_window_, expected_.size() - 1);
  for (size_t k = 1; k <= look; k++) {
    if (!matches(expected_[k], f)) continue;
    expected_.erase(expected_.begin(), expected_.begin() + static_cast<std::ptrdiff_t>(k) + 1);
    stats_.rx_not_received += k;
    stats_.rx_verified++;
    return;
  }
  stats_.rx_mismatch++;
  mismatch([&] {
    const Expected& want = expected_.front();
    const size_t want_len = expected_len(want);
    size_t at = 0;
    while (at < f.size() && at < want_len && f[at] == (at < want.len ? want.bytes()[at] : 0)) at++;
    return "frame " + std::to_string(frame_no_) + ": " + std::to_string(f.size()) + " bytes, expected " +
           std::to_string(want_len) + ", first difference at byte " + std::to_string(at);
  });
  expected_.pop_front();
}

}  // namespace bhyve_glue
