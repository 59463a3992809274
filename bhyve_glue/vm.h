// SPDX-License-Identifier: MIT
// vm.h: one simulated bhyve VM: guest memory, the /dev/viona device, the
// virtio-net PCI function and a guest driver, wired together.
#ifndef BHYVE_GLUE_VM_H_
#define BHYVE_GLUE_VM_H_

#include <memory>
#include <string>

#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/pci/pci_device.h"

namespace bhyve_glue {

// Built in two steps so that a recorder can watch memory and the device
// before anything happens: construct, attach observers, then boot().
// Destruction stops the poll thread and deletes the link before the guest
// goes, so no thread can interrupt a dead guest.
class Vm {
 public:
  Vm(Registry* reg, DeviceModeKind mode, viona::MemoryMode mm = viona::MemoryMode::paged);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Lays out the guest for |profile| and initialises the PCI function on
  // the datalink |vnic| with bhyve's option string "vnic=...,vqsize=N"
  // plus |extra_opts| (",feature_mask=0x..."). The guest is not probed.
  bool boot(const std::string& vnic, const GuestProfile& profile, const std::string& extra_opts, std::string* err);
  // What `run` and `record` do next: promiscuous ALL (every capture frame is
  // ours), the MTU if non-zero, then the guest driver's probe.
  bool start_capture_guest(unsigned mtu, std::string* err);
  // The host side of one step: the poll thread's pass, then the guest's handler.
  size_t step();

  viona::GuestMemory mem;
  Device dev;
  PciDevice pci;
  std::unique_ptr<GuestDriver> guest;  // after boot()

 private:
  Registry* reg_;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_VM_H_
