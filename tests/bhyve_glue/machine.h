// SPDX-License-Identifier: MIT
// machine.h: a simulated VM (memory, device, PCI function, guest) for the glue tests.
#ifndef TESTS_BHYVE_GLUE_MACHINE_H_
#define TESTS_BHYVE_GLUE_MACHINE_H_

#include <memory>
#include <string>

#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/pci/pci_device.h"

namespace bhyve_glue {
namespace test {

// One VM on a backend registered in |reg| under |vnic|. The guest is
// constructed (its memory laid out) but not probed.
struct Machine {
  viona::GuestMemory mem;
  Device dev;
  PciDevice pci;
  std::unique_ptr<GuestDriver> guest;
  Machine(Registry* reg, const std::string& vnic, const GuestProfile& p, DeviceModeKind mode,
          const std::string& extra_opts = "", viona::MemoryMode mm = viona::MemoryMode::paged)
      : mem(mm), dev(reg, mode), pci(&dev, reg) {
    guest = std::make_unique<GuestDriver>(&pci, &mem, p);
    pci.set_interrupt_controller(guest.get());
    PciOptions o;
    std::string err;
    ok = parse_pci_options("vnic=" + vnic + ",vqsize=" + std::to_string(p.ring_size) + extra_opts, &o, &err) &&
         pci.init(o, reg->add_vm(&mem), &err);
    error = err;
  }
  ~Machine() {
    // Stop every thread that could still interrupt the guest before it goes.
    pci.stop_poll_thread();
    (void)dev.ioctl(VNA_IOC_DELETE, 0);
  }
  // The host side of one step: the poll thread's pass, then the guest's handler.
  size_t step() {
    pci.poll_interrupts();
    return guest->service();
  }
  bool ok = false;
  std::string error;
};

}  // namespace test
}  // namespace bhyve_glue

#endif  // TESTS_BHYVE_GLUE_MACHINE_H_
