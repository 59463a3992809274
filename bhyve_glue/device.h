// SPDX-License-Identifier: MIT
// device.h: the /dev/viona control node: VNA_IOC_* dispatch over one viona::Link.
#ifndef BHYVE_GLUE_DEVICE_H_
#define BHYVE_GLUE_DEVICE_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/viona_io.h"
#include "viona/link.h"

namespace bhyve_glue {

// What the host knows by number: VMs (the vmm device fds bhyve passes to
// VNA_IOC_CREATE as c_vmfd) and datalinks (dladm link ids, c_linkid). We
// model the VM fd by this registry rather than by a pointer smuggled in the
// create struct, so vioc_create_t keeps viona's 8-byte layout and an unknown
// fd fails with EBADF as getf() would. Numbers are handed out in order from
// 3 (fds) and 1 (link ids): deterministic, no host addresses.
class Registry {
 public:
  int add_vm(viona::GuestMemory* mem);
  // The link's factory MAC address (a VNIC's, as dladm reports it) is
  // |mac|, or 02:08:20:00:00:<id> when none is given.
  uint32_t add_link(const std::string& name, Backend* backend);
  uint32_t add_link(const std::string& name, Backend* backend, const std::array<uint8_t, 6>& mac);
  std::array<uint8_t, 6> link_mac(uint32_t linkid) const;
  viona::GuestMemory* vm(int fd) const;
  Backend* link(uint32_t linkid) const;
  // 0 when no link has that name (dladm_name2info failing).
  uint32_t link_id(const std::string& name) const;

 private:
  std::map<int, viona::GuestMemory*> vms_;
  struct LinkEntry {
    std::string name;
    Backend* backend;
    std::array<uint8_t, 6> mac;
  };
  std::map<uint32_t, LinkEntry> links_;
};

// Decoded arguments of one ioctl, for observers and for re-driving a
// Device (Device::ioctl_decoded). |in| holds the argument's fields in the
// struct's declaration order (pads skipped), or the value for value
// commands; |out| the fields the command wrote back. The params buffers
// travel as text in |text_in| / |text_out| (the error list for SET_PARAMS).
//
//   CREATE         in: linkid, vmfd
//   RING_INIT      in: index, qsize, qaddr
//   RING_SET_MSI   in: index, addr, msg
//   RING_SET_STATE in: index, avail_idx, used_idx, qsize, desc, avail, used
//   RING_GET_STATE in: index; out: avail_idx, used_idx, qsize, desc, avail, used
//   RING_INIT_MODERN in: index, qsize, desc, avail, used
//   INTR_POLL      out: status[0], status[1]
//   INTR_POLL_MQ   in: nrings; out: status words 0..(nrings-1)/32
//   SET_FEATURES   in: features;  GET_FEATURES out: features
//   SET_NOTIFY_MMIO in: address, size (none when NULL)
//   GET/DEFAULT_PARAMS in: capacity; out: size
//   SET_PARAMS     in: size, error capacity; out: error size
//   value commands (RING_RESET/KICK/INTR_CLR/PAUSE, SET_NOTIFY_IOP,
//   SET_PROMISC, SET_MTU, SET_PAIRS, SET_USEPAIRS) in: the value
struct IoctlRecord {
  int cmd = 0;
  std::vector<uint64_t> in;
  std::vector<uint64_t> out;
  std::string text_in;
  std::string text_out;
  int result = 0;  // what Device::ioctl returned
};

// Everything a recorder needs to log the guest's actions in order. Called
// with the Device's lock held, in the order things happen; an observer must
// not call back into the Device.
class DeviceObserver {
 public:
  virtual ~DeviceObserver() = default;
  // Every ioctl, after it ran (also failed and unknown ones).
  virtual void on_ioctl(const IoctlRecord& rec) {}
  // One batch handed to the link. |ring| is the RX ring for deliver_rx_ring;
  // -1 for deliver_rx/step_rx, which go through Link::rx_input (MAC's
  // classification and steering, deterministic in the link's state).
  virtual void on_rx_batch(int ring, const viona::RxFrame* frames, size_t n, const viona::RxBatchResult& r) {}
  // One TX packet handed to the backend, then the drain that sent it.
  virtual void on_tx_packet(const viona::TxPacket& pkt) {}
  virtual void on_tx_drain(uint16_t ring, const viona::TxDrainResult& r) {}
  // A loaned TX packet released back to the link (its used entry written).
  virtual void on_loan_release(uint16_t ring, uint16_t cookie) {}
  // An in-kernel MSI the link raised (the message goes to the VM).
  virtual void on_msi(uint16_t ring, uint64_t addr, uint64_t msg) {}
};

enum class DeviceModeKind : uint8_t {
  // One thread, the caller's. RING_KICK of a TX ring drains it before the
  // ioctl returns; RX frames arrive only through step_rx()/deliver_rx().
  // The same calls always give the same ring state, used entries and
  // counters: this is what replay runs.
  stepping = 0,
  // bhyve-like: a worker thread per TX ring that drains on kick, an RX
  // thread (start_rx) that pulls from the backend, one mutex around the Link.
  threaded = 1,
};
const char* device_mode_name(DeviceModeKind m);

// The delivery of an in-kernel MSI to the VM (vmm_drv_msi).
using MsiHandler = std::function<void(uint64_t addr, uint64_t msg)>;

// One open of /dev/viona (viona_soft_state_t) and its link.
//
// ioctl() returns, like the ioctl(2) wrapper folded into one int: a value
// >= 0 on success (0, or the command's return value: VERSION, GET_MTU,
// GET_PAIRS, GET_USEPAIRS, INTR_POLL counts), or -errno with viona's errno
// on failure (-ENXIO, -EINVAL, ...). |arg| is a pointer to the argument
// struct cast to intptr_t, or the value itself (viona_io.h says which).
// A null pointer argument fails with -EFAULT, as a failed copyin does.
class Device {
 public:
  Device(Registry* reg, DeviceModeKind mode);
  ~Device();  // close(2): a forced delete
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  DeviceModeKind mode() const { return mode_; }
  int ioctl(int cmd, intptr_t arg);
  // Re-drives a recorded call: rebuilds the argument from |rec.in| /
  // |rec.text_in| and runs it. Returns what ioctl() returns.
  int ioctl_decoded(const IoctlRecord& rec);

  void set_observer(DeviceObserver* obs);
  void set_probe_listener(viona::ProbeListener* l);
  void set_msi_handler(MsiHandler h);

  // RX. step_rx pulls at most |max| frames from the backend (without
  // waiting) and delivers them as one batch; deliver_rx hands the caller's
  // frames over. Both go through Link::rx_input. Without a link nothing
  // happens.
  struct StepResult {
    size_t pulled = 0;
    viona::RxBatchResult batch;
  };
  StepResult step_rx(size_t max = 1);
  viona::RxBatchResult deliver_rx(const viona::RxFrame* frames, size_t n);
  viona::RxBatchResult deliver_rx_ring(uint16_t ring, const viona::RxFrame* frames, size_t n);
  // Threaded mode: starts the thread that pulls RX frames from the backend
  // (the MAC callbacks begin). Call once the guest is ready.
  void start_rx();
  // Threaded mode: waits until every kicked TX ring has been drained.
  void quiesce();

  // POLLRDBAND: true once some ring has an interrupt for userspace. Waits
  // up to |timeout_ms| in threaded mode; never waits in stepping mode.
  bool wait_poll(int timeout_ms);

  // Runs |f| with the link under the Device's lock (nullptr before CREATE).
  template <typename F>
  auto with_link(F f) {
    std::lock_guard<std::mutex> g(mu_);
    return f(link_.get());
  }
  Backend* backend() const { return backend_; }

 private:
  class Sink;
  class Interrupts;
  struct TxWorker;

  int dispatch(int cmd, intptr_t arg, IoctlRecord* rec);
  int do_create(intptr_t arg, IoctlRecord* rec);
  void do_delete();
  int do_link_cmd(int cmd, intptr_t arg, IoctlRecord* rec);
  int do_get_params(int cmd, intptr_t arg, IoctlRecord* rec);
  int do_set_params(intptr_t arg, IoctlRecord* rec);
  void drain_locked(uint16_t ring);
  void flush_msi();
  void kick_worker(uint16_t ring);
  void stop_threads();
  void rx_thread_main();
  void tx_worker_main(TxWorker* w);

  Registry* reg_;
  DeviceModeKind mode_;
  std::mutex mu_;  // ss_lock plus the link: every link access holds it
  std::unique_ptr<viona::Link> link_;
  Backend* backend_ = nullptr;
  DeviceObserver* observer_ = nullptr;
  viona::ProbeListener* probe_listener_ = nullptr;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<Interrupts> intr_;
  MsiHandler msi_handler_;
  std::vector<std::pair<uint64_t, uint64_t>> pending_msi_;  // raised under mu_, delivered after
  std::mutex msi_mu_;      // serialises MSI delivery to the VM
  uint32_t notify_iop_ = 0;
  uint64_t notify_mmio_ = UINT64_MAX;  // unset
  // Threaded mode.
  std::condition_variable poll_cv_;  // POLLRDBAND wake-ups (with mu_)
  std::condition_variable idle_cv_;  // a TX worker finished a drain (with mu_)
  int deferred_drain_ = -1;          // stepping: TX ring a RING_KICK drains after on_ioctl
  std::vector<std::unique_ptr<TxWorker>> workers_;  // by ring index; created on first kick
  std::thread rx_thread_;
  bool rx_stop_ = false;  // protected by mu_
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_DEVICE_H_
