// SPDX-License-Identifier: MIT
// machine.h: a simulated VM (memory, device, PCI function, guest) for the glue tests.
#ifndef TESTS_BHYVE_GLUE_MACHINE_H_
#define TESTS_BHYVE_GLUE_MACHINE_H_

#include <memory>
#include <string>

#include "bhyve_glue/vm.h"

namespace bhyve_glue {
namespace test {

// One VM on a backend registered in |reg| under |vnic|, booted: the guest
// is laid out but not probed.
struct Machine : Vm {
  Machine(Registry* reg, const std::string& vnic, const GuestProfile& p, DeviceModeKind mode,
          const std::string& extra_opts = "", viona::MemoryMode mm = viona::MemoryMode::paged)
      : Vm(reg, mode, mm) {
    ok = boot(vnic, p, extra_opts, &error);
  }
  bool ok = false;
  std::string error;
};

}  // namespace test
}  // namespace bhyve_glue

#endif  // TESTS_BHYVE_GLUE_MACHINE_H_
