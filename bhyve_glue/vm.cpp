// SPDX-License-Identifier: MIT
// vm.cpp: wiring of a simulated VM.
#include "bhyve_glue/vm.h"

namespace bhyve_glue {

Vm::Vm(Registry* reg, DeviceModeKind mode, viona::MemoryMode mm) : mem(mm), dev(reg, mode), pci(&dev, reg), reg_(reg) {}

Vm::~Vm() {
  pci.stop_poll_thread();
  (void)dev.ioctl(VNA_IOC_DELETE, 0);
}

bool Vm::boot(const std::string& vnic, const GuestProfile& profile, const std::string& extra_opts, std::string* err) {
  PciOptions o;
  if (!parse_pci_options("vnic=" + vnic + ",vqsize=" + std::to_string(profile.ring_size) + extra_opts, &o, err)) {
    return false;
  }
  guest = std::make_unique<GuestDriver>(&pci, &mem, profile);
  pci.set_interrupt_controller(guest.get());
  return pci.init(o, reg_->add_vm(&mem), err);
}

bool Vm::start_capture_guest(unsigned mtu, std::string* err) {
  (void)dev.ioctl(VNA_IOC_SET_PROMISC, VIONA_PROMISC_ALL);
  if (mtu != 0) (void)dev.ioctl(VNA_IOC_SET_MTU, static_cast<intptr_t>(mtu));
  if (!guest->probe(err)) {
    *err = "guest probe: " + *err;
    return false;
  }
  return true;
}

size_t Vm::step() {
  pci.poll_interrupts();
  return guest->service();
}

}  // namespace bhyve_glue
