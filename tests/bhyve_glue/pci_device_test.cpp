// SPDX-License-Identifier: MIT
// pci_device_test.cpp: option strings, BAR0 registers, feature_mask, ISR, MSI-X vs poll delivery.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>

#include "bhyve_glue/backend/loopback.h"
#include "tests/bhyve_glue/machine.h"

using namespace bhyve_glue;
using bhyve_glue::test::Machine;

namespace {

GuestProfile profile(const std::string& spec) {
  GuestProfile p;
  std::string err;
  REQUIRE_MESSAGE(guest_profile_from_name(spec, &p, &err), err);
  return p;
}

// Records what reaches the VM's interrupt controller.
struct Apic : InterruptController {
  std::vector<std::pair<uint64_t, uint32_t>> msis;
  int raised = 0, lowered = 0;
  void msi(uint64_t addr, uint32_t data) override { msis.emplace_back(addr, data); }
  void intx(bool asserted) override { (asserted ? raised : lowered)++; }
};

}  // namespace

// pci_viona_parse_opts: vnic (bare or keyed), feature_mask, vqsize 2 < n <= 32768, power of two.
TEST_CASE("option string parsing") {
  PciOptions o;
  std::string err;
  REQUIRE(parse_pci_options("vnic=net0", &o, &err));
  CHECK(o.vnic == "net0");
  CHECK(o.vqsize == 1024);
  CHECK(o.feature_mask == 0);
  REQUIRE(parse_pci_options("net1,feature_mask=0x8000,vqsize=256", &o, &err));
  CHECK(o.vnic == "net1");
  CHECK(o.feature_mask == 0x8000);
  CHECK(o.vqsize == 256);
  REQUIRE(parse_pci_options("vnic=n,vqsize=32768", &o, &err));
  CHECK(o.vqsize == 32768);
  REQUIRE(parse_pci_options("vnic=n,vqsize=4", &o, &err));
  CHECK(o.vqsize == 4);

  const PciOptions before = o;
  CHECK_FALSE(parse_pci_options("vnic=n,vqsize=2", &o, &err));
  CHECK(err == "vqsize 2 out of range (2 < vqsize <= 32768)");
  CHECK_FALSE(parse_pci_options("vnic=n,vqsize=65536", &o, &err));
  CHECK_FALSE(parse_pci_options("vnic=n,vqsize=48", &o, &err));
  CHECK(err == "vqsize 48 is not a power of two");
  CHECK_FALSE(parse_pci_options("vnic=n,vqsize=0x100", &o, &err));
  CHECK_FALSE(parse_pci_options("vnic=n,feature_mask=zz", &o, &err));
  CHECK(err == "feature_mask \"zz\" is not a number");
  CHECK_FALSE(parse_pci_options("vnic=n,colour=red", &o, &err));
  CHECK(err == "unknown option \"colour\"");
  CHECK_FALSE(parse_pci_options("feature_mask=1", &o, &err));
  CHECK(err == "vnic is required");
  CHECK_FALSE(parse_pci_options("vnic=n,,vqsize=8", &o, &err));
  CHECK_FALSE(parse_pci_options("vnic=n,extra", &o, &err));
  CHECK(o.vqsize == before.vqsize);  // untouched on error
}

TEST_CASE("init fails cleanly for an unknown vnic") {
  Registry reg;
  viona::GuestMemory mem;
  Device dev(&reg, DeviceModeKind::stepping);
  PciDevice pci(&dev, &reg);
  PciOptions o;
  std::string err;
  REQUIRE(parse_pci_options("vnic=absent", &o, &err));
  CHECK_FALSE(pci.init(o, reg.add_vm(&mem), &err));
  CHECK(err == "vnic \"absent\" not found");
}

TEST_CASE("feature_mask removes bits from the host features and from what the guest may set") {
  Registry reg;
  LoopbackWire w;
  reg.add_link("lo0", &w.a());
  const uint64_t mask = viona::VIRTIO_NET_F_MRG_RXBUF | viona::VIRTIO_F_RING_INDIRECT_DESC;
  Machine m(&reg, "lo0", profile("linux-mrg"), DeviceModeKind::stepping, ",feature_mask=0x10008000");
  REQUIRE_MESSAGE(m.ok, m.error);
  const uint32_t host = m.pci.bar0_read(PciDevice::VIRTIO_PCI_HOST_FEATURES, 4);
  CHECK(host == ((viona::kViona_S_HostCaps | viona::VIRTIO_NET_F_MAC | viona::VIRTIO_NET_F_STATUS |
                  viona::VIRTIO_NET_F_MTU) & ~mask));
  // A guest that writes the masked bits anyway does not get them.
  m.pci.bar0_write(PciDevice::VIRTIO_PCI_GUEST_FEATURES, 4, static_cast<uint32_t>(mask | viona::VIRTIO_NET_F_GUEST_CSUM));
  CHECK(m.pci.bar0_read(PciDevice::VIRTIO_PCI_GUEST_FEATURES, 4) == viona::VIRTIO_NET_F_GUEST_CSUM);
  m.dev.with_link([](viona::Link* l) {
    CHECK(l->features() == viona::VIRTIO_NET_F_GUEST_CSUM);
    return 0;
  });
  // The linux-mrg guest then runs without merged buffers: 10-byte headers.
  std::string err;
  REQUIRE_MESSAGE(m.guest->probe(&err), err);
  CHECK((m.guest->features() & mask) == 0);
  CHECK(m.guest->rx_header_len() == 10);
}

TEST_CASE("BAR0 layout: queue num/PFN/select, config at 24 with MSI-X and 20 without") {
  Registry reg;
  LoopbackWire w;
  reg.add_link("lo0", &w.a(), {{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}});
  Machine m(&reg, "lo0", profile("custom:ring=64"), DeviceModeKind::stepping);
  REQUIRE_MESSAGE(m.ok, m.error);
  PciDevice& p = m.pci;
  for (uint32_t q = 0; q < 3; q++) {
    p.bar0_write(PciDevice::VIRTIO_PCI_QUEUE_SEL, 2, q);
    CHECK(p.bar0_read(PciDevice::VIRTIO_PCI_QUEUE_SEL, 2) == q);
    CHECK(p.bar0_read(PciDevice::VIRTIO_PCI_QUEUE_NUM, 2) == (q < 2 ? 64u : 0u));
  }
  p.set_msix_control(false, false);
  CHECK(p.config_offset() == 20);
  CHECK(p.bar0_read(20, 1) == 0x02);
  CHECK(p.bar0_read(25, 1) == 0xee);
  CHECK(p.bar0_read(20 + 6, 2) == 0x0001);  // link up
  CHECK(p.bar0_read(20 + 10, 2) == 1500);   // MTU
  p.set_msix_control(true, false);
  CHECK(p.config_offset() == 24);
  CHECK(p.bar0_read(24, 4) == 0xccbbaa02u);
  CHECK(p.bar0_read(24 + 6, 2) == 0x0001);
  // The guest may rewrite the MAC; it stays in the glue.
  p.bar0_write(24 + 5, 1, 0x11);
  CHECK(p.bar0_read(29, 1) == 0x11);
  // PFN -> RING_INIT at pfn << 12 with the vqsize.
  p.bar0_write(PciDevice::VIRTIO_PCI_QUEUE_SEL, 2, 1);
  p.bar0_write(PciDevice::VIRTIO_PCI_QUEUE_PFN, 4, static_cast<uint32_t>(m.guest->ring_gpa(1) >> 12));
  CHECK(p.bar0_read(PciDevice::VIRTIO_PCI_QUEUE_PFN, 4) == m.guest->ring_gpa(1) >> 12);
  CHECK(p.last_error() == 0);
  vioc_ring_state_t st{};
  st.vrs_index = 1;
  REQUIRE(m.dev.ioctl(VNA_IOC_RING_GET_STATE, reinterpret_cast<intptr_t>(&st)) == 0);
  CHECK(st.vrs_qsize == 64);
  CHECK(st.vrs_qaddr_desc == m.guest->ring_gpa(1));
  // Writing the PFN again while the ring is set up: viona says EBUSY.
  p.bar0_write(PciDevice::VIRTIO_PCI_QUEUE_PFN, 4, static_cast<uint32_t>(m.guest->ring_gpa(1) >> 12));
  CHECK(p.last_error() == -EBUSY);
  // Status 0 resets both rings.
  p.bar0_write(PciDevice::VIRTIO_PCI_STATUS, 1, 0);
  REQUIRE(m.dev.ioctl(VNA_IOC_RING_GET_STATE, reinterpret_cast<intptr_t>(&st)) == 0);
  CHECK(st.vrs_qsize == 0);
  CHECK(p.bar0_read(PciDevice::VIRTIO_PCI_QUEUE_PFN, 4) == 0);
}

// Legacy INTx path: the poll loop sets ISR bit 0 and raises INTx; reading ISR clears both.
TEST_CASE("poll delivery without MSI-X: ISR read-to-clear") {
  Registry reg;
  LoopbackWire w;
  reg.add_link("lo0", &w.a());
  Machine m(&reg, "lo0", profile("custom:ring=64,msix=0"), DeviceModeKind::stepping);
  REQUIRE_MESSAGE(m.ok, m.error);
  Apic apic;
  m.pci.set_interrupt_controller(&apic);
  std::string err;
  REQUIRE_MESSAGE(m.guest->probe(&err), err);
  REQUIRE(m.dev.ioctl(VNA_IOC_SET_PROMISC, VIONA_PROMISC_ALL) == 0);
  std::vector<uint8_t> frame(100, 0x5a);
  viona::RxFrame f{frame.data(), 100, {}};
  CHECK(m.dev.deliver_rx(&f, 1).accepted == 1);
  CHECK(apic.msis.empty());
  CHECK(m.dev.wait_poll(0));  // POLLRDBAND
  CHECK(m.pci.poll_interrupts() == 1);
  CHECK_FALSE(m.dev.wait_poll(0));  // RING_INTR_CLR done
  CHECK(m.pci.intx_asserted());
  CHECK(apic.raised == 1);
  CHECK(m.pci.bar0_read(PciDevice::VIRTIO_PCI_ISR, 1) == 1);
  CHECK_FALSE(m.pci.intx_asserted());
  CHECK(apic.lowered == 1);
  CHECK(m.pci.bar0_read(PciDevice::VIRTIO_PCI_ISR, 1) == 0);
  CHECK(m.pci.poll_interrupts() == 0);
}

// MSI-X enabled and unmasked: the ring's MSI goes in-kernel (RING_SET_MSI), no poll needed.
TEST_CASE("MSI-X delivery: in-kernel MSI, masked entry falls back to the poll loop") {
  Registry reg;
  LoopbackWire w;
  reg.add_link("lo0", &w.a());
  Machine m(&reg, "lo0", profile("custom:ring=64"), DeviceModeKind::stepping);
  REQUIRE_MESSAGE(m.ok, m.error);
  Apic apic;
  m.pci.set_interrupt_controller(&apic);
  std::string err;
  REQUIRE_MESSAGE(m.guest->probe(&err), err);
  REQUIRE(m.dev.ioctl(VNA_IOC_SET_PROMISC, VIONA_PROMISC_ALL) == 0);
  m.dev.with_link([](viona::Link* l) {
    CHECK(l->ring(0).msi_addr() == GuestDriver::kMsiAddr);
    CHECK(l->ring(0).msi_msg() == GuestDriver::kMsiVectorBase + 1);
    CHECK(l->ring(1).msi_msg() == GuestDriver::kMsiVectorBase + 2);
    return 0;
  });
  std::vector<uint8_t> frame(100, 0x5a);
  viona::RxFrame f{frame.data(), 100, {}};
  CHECK(m.dev.deliver_rx(&f, 1).accepted == 1);
  REQUIRE(apic.msis.size() == 1);
  CHECK(apic.msis[0] == std::make_pair(uint64_t{GuestDriver::kMsiAddr}, GuestDriver::kMsiVectorBase + 1));
  CHECK_FALSE(m.dev.wait_poll(0));
  // Mask the RX entry: RING_SET_MSI(0, 0), the ring falls back to the poll path,
  // and the poll loop's MSI-X for a masked entry is dropped (pci_generate_msix).
  m.pci.msix_table_write(1 * 16 + 12, 4, 1);
  m.dev.with_link([](viona::Link* l) {
    CHECK(l->ring(0).msi_addr() == 0);
    return 0;
  });
  CHECK(m.dev.deliver_rx(&f, 1).accepted == 1);
  CHECK(apic.msis.size() == 1);
  CHECK(m.dev.wait_poll(0));
  CHECK(m.pci.poll_interrupts() == 1);
  CHECK(apic.msis.size() == 1);
  CHECK(apic.raised == 0);  // MSI-X enabled: never INTx
  // Unmasked again and function-masked: still no in-kernel target.
  m.pci.msix_table_write(1 * 16 + 12, 4, 0);
  m.pci.set_msix_control(true, true);
  m.dev.with_link([](viona::Link* l) {
    CHECK(l->ring(0).msi_addr() == 0);
    return 0;
  });
  m.pci.set_msix_control(true, false);
  m.dev.with_link([](viona::Link* l) {
    CHECK(l->ring(0).msi_addr() == GuestDriver::kMsiAddr);
    return 0;
  });
  // Poll path with an unmasked entry generates the MSI-X message.
  vioc_ring_msi_t off{0, {0, 0, 0}, 0, 0};
  REQUIRE(m.dev.ioctl(VNA_IOC_RING_SET_MSI, reinterpret_cast<intptr_t>(&off)) == 0);
  CHECK(m.dev.deliver_rx(&f, 1).accepted == 1);
  CHECK(m.pci.poll_interrupts() == 1);
  REQUIRE(apic.msis.size() == 2);
  CHECK(apic.msis[1].second == GuestDriver::kMsiVectorBase + 1);
}
