// SPDX-License-Identifier: MIT
// device.cpp: viona_ioctl's two-step dispatch, the params rules, and the two run modes.
#include "bhyve_glue/device.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "bhyve_glue/param_text.h"
#include "viona/tx_loans.h"

namespace bhyve_glue {

const char* vna_ioc_name(int cmd) {
  switch (cmd) {
    case VNA_IOC_CREATE: return "VNA_IOC_CREATE";
    case VNA_IOC_DELETE: return "VNA_IOC_DELETE";
    case VNA_IOC_VERSION: return "VNA_IOC_VERSION";
    case VNA_IOC_DEFAULT_PARAMS: return "VNA_IOC_DEFAULT_PARAMS";
    case VNA_IOC_RING_INIT: return "VNA_IOC_RING_INIT";
    case VNA_IOC_RING_RESET: return "VNA_IOC_RING_RESET";
    case VNA_IOC_RING_KICK: return "VNA_IOC_RING_KICK";
    case VNA_IOC_RING_SET_MSI: return "VNA_IOC_RING_SET_MSI";
    case VNA_IOC_RING_INTR_CLR: return "VNA_IOC_RING_INTR_CLR";
    case VNA_IOC_RING_SET_STATE: return "VNA_IOC_RING_SET_STATE";
    case VNA_IOC_RING_GET_STATE: return "VNA_IOC_RING_GET_STATE";
    case VNA_IOC_RING_PAUSE: return "VNA_IOC_RING_PAUSE";
    case VNA_IOC_RING_INIT_MODERN: return "VNA_IOC_RING_INIT_MODERN";
    case VNA_IOC_INTR_POLL: return "VNA_IOC_INTR_POLL";
    case VNA_IOC_SET_FEATURES: return "VNA_IOC_SET_FEATURES";
    case VNA_IOC_GET_FEATURES: return "VNA_IOC_GET_FEATURES";
    case VNA_IOC_SET_NOTIFY_IOP: return "VNA_IOC_SET_NOTIFY_IOP";
    case VNA_IOC_SET_PROMISC: return "VNA_IOC_SET_PROMISC";
    case VNA_IOC_GET_PARAMS: return "VNA_IOC_GET_PARAMS";
    case VNA_IOC_SET_PARAMS: return "VNA_IOC_SET_PARAMS";
    case VNA_IOC_GET_MTU: return "VNA_IOC_GET_MTU";
    case VNA_IOC_SET_MTU: return "VNA_IOC_SET_MTU";
    case VNA_IOC_SET_NOTIFY_MMIO: return "VNA_IOC_SET_NOTIFY_MMIO";
    case VNA_IOC_INTR_POLL_MQ: return "VNA_IOC_INTR_POLL_MQ";
    case VNA_IOC_GET_PAIRS: return "VNA_IOC_GET_PAIRS";
    case VNA_IOC_SET_PAIRS: return "VNA_IOC_SET_PAIRS";
    case VNA_IOC_GET_USEPAIRS: return "VNA_IOC_GET_USEPAIRS";
    case VNA_IOC_SET_USEPAIRS: return "VNA_IOC_SET_USEPAIRS";
    default: return nullptr;
  }
}

const char* device_mode_name(DeviceModeKind m) {
  switch (m) {
    case DeviceModeKind::stepping: return "stepping";
    case DeviceModeKind::threaded: return "threaded";
  }
  __builtin_unreachable();
}

// --- Registry -------------------------------------------------------------

int Registry::add_vm(viona::GuestMemory* mem) {
  int fd = vms_.empty() ? 3 : vms_.rbegin()->first + 1;
  vms_[fd] = mem;
  return fd;
}

uint32_t Registry::add_link(const std::string& name, Backend* backend) {
  uint32_t id = links_.empty() ? 1 : links_.rbegin()->first + 1;
  return add_link(name, backend, {{0x02, 0x08, 0x20, 0x00, 0x00, static_cast<uint8_t>(id)}});
}

uint32_t Registry::add_link(const std::string& name, Backend* backend, const std::array<uint8_t, 6>& mac) {
  uint32_t id = links_.empty() ? 1 : links_.rbegin()->first + 1;
  links_[id] = LinkEntry{name, backend, mac};
  return id;
}

std::array<uint8_t, 6> Registry::link_mac(uint32_t linkid) const {
  auto it = links_.find(linkid);
  return it == links_.end() ? std::array<uint8_t, 6>{} : it->second.mac;
}

viona::GuestMemory* Registry::vm(int fd) const {
  auto it = vms_.find(fd);
  return it == vms_.end() ? nullptr : it->second;
}

Backend* Registry::link(uint32_t linkid) const {
  auto it = links_.find(linkid);
  return it == links_.end() ? nullptr : it->second.backend;
}

uint32_t Registry::link_id(const std::string& name) const {
  for (const auto& kv : links_) {
    if (kv.second.name == name) return kv.first;
  }
  return 0;
}

// --- the link's TX sink and interrupt sink ---------------------------------

// Hands TX packets to the backend and remembers loans, which are released
// once the drain returns (Link::tx_release must not run inside tx_drain).
class Device::Sink : public viona::TxSink {
 public:
  explicit Sink(Device* dev) : dev_(dev) {}
  void transmit(viona::TxPacket&& pkt) override {
    if (dev_->observer_ != nullptr) dev_->observer_->on_tx_packet(pkt);
    viona::TxLoan* loan = pkt.loan;
    dev_->backend_->transmit(std::move(pkt));
    if (loan != nullptr) loans.push_back(loan);
  }
  std::vector<viona::TxLoan*> loans;

 private:
  Device* dev_;
};

// Called from inside the link (mu_ held): MSIs are queued and delivered
// once mu_ is dropped, so the VM side may call back into the Device.
class Device::Interrupts : public viona::InterruptSink {
 public:
  explicit Interrupts(Device* dev) : dev_(dev) {}
  void msi(uint16_t ring, uint64_t addr, uint64_t msg) override {
    if (dev_->observer_ != nullptr) dev_->observer_->on_msi(ring, addr, msg);
    dev_->pending_msi_.emplace_back(addr, msg);
  }
  void poll_wakeup(uint16_t ring) override { dev_->poll_cv_.notify_all(); }

 private:
  Device* dev_;
};

struct Device::TxWorker {
  uint16_t ring = 0;
  std::thread th;
  std::condition_variable cv;
  uint64_t kicks = 0;    // kicks seen (mu_)
  uint64_t drained = 0;  // kicks whose drain finished (mu_)
  bool stop = false;     // (mu_)
};

// --- Device ---------------------------------------------------------------

Device::Device(Registry* reg, DeviceModeKind mode)
    : reg_(reg), mode_(mode), sink_(std::make_unique<Sink>(this)), intr_(std::make_unique<Interrupts>(this)) {}

Device::~Device() {
  stop_threads();
  std::lock_guard<std::mutex> g(mu_);
  do_delete();
}

void Device::set_observer(DeviceObserver* obs) {
  std::lock_guard<std::mutex> g(mu_);
  observer_ = obs;
}

void Device::set_probe_listener(viona::ProbeListener* l) {
  std::lock_guard<std::mutex> g(mu_);
  probe_listener_ = l;
  if (link_) link_->set_listener(l);
}

void Device::set_msi_handler(MsiHandler h) {
  std::lock_guard<std::mutex> g(msi_mu_);
  msi_handler_ = std::move(h);
}

void Device::flush_msi() {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  {
    std::lock_guard<std::mutex> g(mu_);
    v.swap(pending_msi_);
  }
  if (v.empty()) return;
  std::lock_guard<std::mutex> g(msi_mu_);
  for (const auto& m : v) {
    if (msi_handler_) msi_handler_(m.first, m.second);
  }
}

int Device::ioctl(int cmd, intptr_t arg) {
  // Link delete waits for the workers, which need mu_: stop them first.
  if (cmd == VNA_IOC_DELETE) stop_threads();
  IoctlRecord rec;
  rec.cmd = cmd;
  int r;
  {
    std::lock_guard<std::mutex> g(mu_);
    r = dispatch(cmd, arg, &rec);
    rec.result = r;
    if (observer_ != nullptr) observer_->on_ioctl(rec);
    // Stepping mode: the kick is logged before the drain it causes.
    if (deferred_drain_ >= 0) {
      uint16_t ring = static_cast<uint16_t>(deferred_drain_);
      deferred_drain_ = -1;
      drain_locked(ring);
    }
  }
  flush_msi();
  return r;
}

int Device::dispatch(int cmd, intptr_t arg, IoctlRecord* rec) {
  // Step 1: the commands that need no link.
  switch (cmd) {
    case VNA_IOC_CREATE:
      return do_create(arg, rec);
    case VNA_IOC_DELETE:
      // Deleting nothing succeeds: close(2) of an unused node must too.
      do_delete();
      return 0;
    case VNA_IOC_VERSION:
      return VIONA_CURRENT_INTERFACE_VERSION;
    case VNA_IOC_DEFAULT_PARAMS:
      return do_get_params(cmd, arg, rec);
    default:
      break;
  }
  // Step 2: the link must be alive (an unknown command without a link is
  // ENXIO too, as in viona_ioctl).
  if (!link_) return -ENXIO;
  return do_link_cmd(cmd, arg, rec);
}

int Device::do_create(intptr_t arg, IoctlRecord* rec) {
  if (arg == 0) return -EFAULT;
  vioc_create_t c;
  std::memcpy(&c, reinterpret_cast<const void*>(arg), sizeof(c));
  rec->in = {c.c_linkid, static_cast<uint64_t>(static_cast<uint32_t>(c.c_vmfd))};
  if (link_) return -EEXIST;
  viona::GuestMemory* mem = reg_->vm(c.c_vmfd);
  if (mem == nullptr) return -EBADF;
  Backend* be = reg_->link(c.c_linkid);
  if (be == nullptr) return -ENOENT;
  auto link = std::make_unique<viona::Link>(mem, 1);
  link->set_offload_caps(be->offload_caps());
  link->set_listener(probe_listener_);
  link->set_interrupt_sink(intr_.get());
  // The MAC client's primary unicast address: the link's factory address.
  link->mac = reg_->link_mac(c.c_linkid);
  link_ = std::move(link);
  backend_ = be;
  return 0;
}

void Device::do_delete() {
  link_.reset();  // resets every ring
  backend_ = nullptr;
  notify_iop_ = 0;
  notify_mmio_ = UINT64_MAX;
}

namespace {

// A value argument naming a ring or a count: viona reads it as unsigned.
bool value_u16(intptr_t arg, uint16_t* out) {
  if (arg < 0 || arg > UINT16_MAX) return false;
  *out = static_cast<uint16_t>(arg);
  return true;
}

}  // namespace

int Device::do_link_cmd(int cmd, intptr_t arg, IoctlRecord* rec) {
  viona::Link& l = *link_;
  const void* p = reinterpret_cast<const void*>(arg);
  uint16_t v16 = 0;
  switch (cmd) {
    case VNA_IOC_RING_INIT: {
      if (p == nullptr) return -EFAULT;
      vioc_ring_init_t ri;
      std::memcpy(&ri, p, sizeof(ri));
      rec->in = {ri.ri_index, ri.ri_qsize, ri.ri_qaddr};
      return -l.ring_init(ri.ri_index, ri.ri_qsize, ri.ri_qaddr);
    }
    case VNA_IOC_RING_INIT_MODERN: {
      if (p == nullptr) return -EFAULT;
      vioc_ring_init_modern_t rim;
      std::memcpy(&rim, p, sizeof(rim));
      rec->in = {rim.rim_index, rim.rim_qsize, rim.rim_qaddr_desc, rim.rim_qaddr_avail, rim.rim_qaddr_used};
      return -l.ring_init_modern(rim.rim_index, rim.rim_qsize, rim.rim_qaddr_desc, rim.rim_qaddr_avail,
                                 rim.rim_qaddr_used);
    }
    case VNA_IOC_RING_SET_STATE: {
      if (p == nullptr) return -EFAULT;
      vioc_ring_state_t s;
      std::memcpy(&s, p, sizeof(s));
      rec->in = {s.vrs_index, s.vrs_avail_idx, s.vrs_used_idx, s.vrs_qsize,
                 s.vrs_qaddr_desc, s.vrs_qaddr_avail, s.vrs_qaddr_used};
      viona::RingState st;
      st.index = s.vrs_index;
      st.avail_idx = s.vrs_avail_idx;
      st.used_idx = s.vrs_used_idx;
      st.qsize = s.vrs_qsize;
      st.desc = s.vrs_qaddr_desc;
      st.avail = s.vrs_qaddr_avail;
      st.used = s.vrs_qaddr_used;
      return -l.ring_set_state(st);
    }
    case VNA_IOC_RING_GET_STATE: {
      if (p == nullptr) return -EFAULT;
      vioc_ring_state_t s;
      std::memcpy(&s, p, sizeof(s));
      rec->in = {s.vrs_index};
      viona::RingState st;
      st.index = s.vrs_index;
      int err = l.ring_get_state(&st);
      if (err != 0) return -err;
      s.vrs_avail_idx = st.avail_idx;
      s.vrs_used_idx = st.used_idx;
      s.vrs_qsize = st.qsize;
      s.vrs_qaddr_desc = st.desc;
      s.vrs_qaddr_avail = st.avail;
      s.vrs_qaddr_used = st.used;
      std::memcpy(reinterpret_cast<void*>(arg), &s, sizeof(s));
      rec->out = {s.vrs_avail_idx, s.vrs_used_idx, s.vrs_qsize, s.vrs_qaddr_desc, s.vrs_qaddr_avail,
                  s.vrs_qaddr_used};
      return 0;
    }
    case VNA_IOC_RING_RESET:
    case VNA_IOC_RING_KICK:
    case VNA_IOC_RING_INTR_CLR:
    case VNA_IOC_RING_PAUSE: {
      rec->in = {static_cast<uint64_t>(arg)};
      if (!value_u16(arg, &v16)) return -EINVAL;
      if (cmd == VNA_IOC_RING_RESET) return -l.ring_reset(v16);
      if (cmd == VNA_IOC_RING_INTR_CLR) return -l.ring_intr_clr(v16);
      if (cmd == VNA_IOC_RING_PAUSE) return -l.ring_pause(v16);
      int err = l.ring_kick(v16);
      if (err != 0) return -err;
      if (viona::Link::is_tx_ring(v16) && l.ring(v16).state == viona::VrState::VRS_RUN) {
        if (mode_ == DeviceModeKind::stepping) {
          deferred_drain_ = v16;
        } else {
          kick_worker(v16);
        }
      }
      return 0;
    }
    case VNA_IOC_RING_SET_MSI: {
      if (p == nullptr) return -EFAULT;
      vioc_ring_msi_t m;
      std::memcpy(&m, p, sizeof(m));
      rec->in = {m.rm_index, m.rm_addr, m.rm_msg};
      return -l.ring_set_msi(m.rm_index, m.rm_addr, m.rm_msg);
    }
    case VNA_IOC_INTR_POLL: {
      if (p == nullptr) return -EFAULT;
      vioc_intr_poll_t ip{};
      int cnt = 0;
      for (uint16_t i = 0; i < 2 && i < l.nrings(); i++) {
        ip.vip_status[i] = l.ring(i).intr_pending() ? 1 : 0;
        if (ip.vip_status[i] != 0) cnt++;
      }
      std::memcpy(reinterpret_cast<void*>(arg), &ip, sizeof(ip));
      rec->out = {ip.vip_status[0], ip.vip_status[1]};
      return cnt;
    }
    case VNA_IOC_INTR_POLL_MQ: {
      if (p == nullptr) return -EFAULT;
      vioc_intr_poll_mq_t mq;
      std::memcpy(&mq, p, sizeof(mq));
      rec->in = {mq.vipm_nrings};
      const uint32_t usable = 2u * l.usepairs;
      if (mq.vipm_nrings < 1 || mq.vipm_nrings > usable || mq.vipm_nrings > l.nrings()) return -EINVAL;
      std::memset(mq.vipm_status, 0, sizeof(mq.vipm_status));
      int cnt = 0;
      for (uint16_t q = 0; q < mq.vipm_nrings; q++) {
        if (l.ring(q).intr_pending()) {
          mq.vipm_status[q / 32] |= 1u << (q % 32);
          cnt++;
        }
      }
      std::memcpy(reinterpret_cast<void*>(arg), &mq, sizeof(mq));
      for (uint32_t w = 0; w <= (mq.vipm_nrings - 1u) / 32; w++) rec->out.push_back(mq.vipm_status[w]);
      return cnt;
    }
    case VNA_IOC_SET_FEATURES: {
      if (p == nullptr) return -EFAULT;
      uint64_t f;
      std::memcpy(&f, p, sizeof(f));
      rec->in = {f};
      l.set_features(f);
      return 0;
    }
    case VNA_IOC_GET_FEATURES: {
      if (p == nullptr) return -EFAULT;
      uint64_t f = l.features_offered();
      std::memcpy(reinterpret_cast<void*>(arg), &f, sizeof(f));
      rec->out = {f};
      return 0;
    }
    case VNA_IOC_SET_NOTIFY_IOP:
      rec->in = {static_cast<uint64_t>(arg)};
      if (!value_u16(arg, &v16)) return -EINVAL;
      notify_iop_ = v16;
      return 0;
    case VNA_IOC_SET_NOTIFY_MMIO: {
      if (p == nullptr) {
        notify_mmio_ = UINT64_MAX;
        return 0;
      }
      vioc_notify_mmio_t nm;
      std::memcpy(&nm, p, sizeof(nm));
      rec->in = {nm.vim_address, nm.vim_size};
      if (nm.vim_size == 0 || nm.vim_address + nm.vim_size < nm.vim_address) return -EINVAL;
      notify_mmio_ = nm.vim_address;
      return 0;
    }
    case VNA_IOC_SET_PROMISC:
      rec->in = {static_cast<uint64_t>(arg)};
      if (arg < 0 || arg >= VIONA_PROMISC_MAX) return -EINVAL;
      l.promisc = static_cast<viona::PromiscMode>(arg);
      return 0;
    case VNA_IOC_GET_PARAMS:
      return do_get_params(cmd, arg, rec);
    case VNA_IOC_SET_PARAMS:
      return do_set_params(arg, rec);
    case VNA_IOC_GET_MTU:
      return static_cast<int>(l.mtu);
    case VNA_IOC_SET_MTU:
      rec->in = {static_cast<uint64_t>(arg)};
      if (arg < static_cast<intptr_t>(viona::VIONA_MIN_MTU) || arg > static_cast<intptr_t>(viona::VIONA_MAX_MTU))
        return -EINVAL;
      l.mtu = static_cast<uint32_t>(arg);
      return 0;
    case VNA_IOC_GET_PAIRS:
      return l.npairs();
    case VNA_IOC_SET_PAIRS:
      rec->in = {static_cast<uint64_t>(arg)};
      if (!value_u16(arg, &v16)) return -EINVAL;
      return -l.set_pairs(v16);
    case VNA_IOC_GET_USEPAIRS:
      return l.usepairs;
    case VNA_IOC_SET_USEPAIRS:
      rec->in = {static_cast<uint64_t>(arg)};
      if (!value_u16(arg, &v16) || v16 < 1 || v16 > l.npairs()) return -EINVAL;
      l.usepairs = v16;
      return 0;
    default:
      return -ENOTTY;
  }
}

int Device::do_get_params(int cmd, intptr_t arg, IoctlRecord* rec) {
  if (arg == 0) return -EFAULT;
  vioc_get_params_t gp;
  std::memcpy(&gp, reinterpret_cast<const void*>(arg), sizeof(gp));
  rec->in = {gp.vgp_param_sz};
  const viona::LinkParams p = (cmd == VNA_IOC_GET_PARAMS) ? link_->params : viona::LinkParams{};
  const std::string text = encode_params(p);
  const size_t cap = gp.vgp_param_sz;
  gp.vgp_param_sz = text.size();
  std::memcpy(reinterpret_cast<void*>(arg), &gp, sizeof(gp));
  rec->out = {gp.vgp_param_sz};
  if (text.size() > cap) return -E2BIG;
  if (gp.vgp_param == nullptr) return -EFAULT;
  std::memcpy(gp.vgp_param, text.data(), text.size());
  rec->text_out = text;
  return 0;
}

int Device::do_set_params(intptr_t arg, IoctlRecord* rec) {
  if (arg == 0) return -EFAULT;
  vioc_set_params_t sp;
  std::memcpy(&sp, reinterpret_cast<const void*>(arg), sizeof(sp));
  rec->in = {sp.vsp_param_sz, sp.vsp_error_sz};
  if (sp.vsp_param_sz > VIONA_MAX_PARAM_NVLIST_SZ) return -E2BIG;
  if (sp.vsp_param_sz == 0) return -EINVAL;
  if (sp.vsp_param == nullptr) return -EFAULT;
  std::string text(static_cast<const char*>(sp.vsp_param), sp.vsp_param_sz);
  rec->text_in = text;
  std::string errors;
  viona::LinkParams next;
  const size_t err_cap = sp.vsp_error_sz;
  sp.vsp_error_sz = 0;
  int r = 0;
  switch (decode_params(text, link_->params, &next, &errors)) {
    case ParamDecodeKind::ok:
      link_->params = next;
      break;
    case ParamDecodeKind::unpackable:
      r = -EINVAL;
      break;
    case ParamDecodeKind::rejected:
      r = -EINVAL;
      // The error list is copied out only if it fits.
      if (sp.vsp_error != nullptr && errors.size() <= err_cap) {
        std::memcpy(sp.vsp_error, errors.data(), errors.size());
        sp.vsp_error_sz = errors.size();
        rec->text_out = errors;
      }
      break;
  }
  std::memcpy(reinterpret_cast<void*>(arg), &sp, sizeof(sp));
  rec->out = {sp.vsp_error_sz};
  return r;
}

int Device::ioctl_decoded(const IoctlRecord& rec) {
  auto in = [&](size_t i) -> uint64_t { return i < rec.in.size() ? rec.in[i] : 0; };
  switch (rec.cmd) {
    case VNA_IOC_CREATE: {
      vioc_create_t c{static_cast<uint32_t>(in(0)), static_cast<int32_t>(in(1))};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&c));
    }
    case VNA_IOC_RING_INIT: {
      vioc_ring_init_t ri{static_cast<uint16_t>(in(0)), static_cast<uint16_t>(in(1)), 0, in(2)};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&ri));
    }
    case VNA_IOC_RING_INIT_MODERN: {
      vioc_ring_init_modern_t r{static_cast<uint16_t>(in(0)), static_cast<uint16_t>(in(1)), 0, in(2), in(3), in(4)};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&r));
    }
    case VNA_IOC_RING_SET_STATE:
    case VNA_IOC_RING_GET_STATE: {
      vioc_ring_state_t s{static_cast<uint16_t>(in(0)), static_cast<uint16_t>(in(1)), static_cast<uint16_t>(in(2)),
                          static_cast<uint16_t>(in(3)), in(4), in(5), in(6)};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&s));
    }
    case VNA_IOC_RING_SET_MSI: {
      vioc_ring_msi_t m{static_cast<uint16_t>(in(0)), {0, 0, 0}, in(1), in(2)};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&m));
    }
    case VNA_IOC_INTR_POLL: {
      vioc_intr_poll_t ip{};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&ip));
    }
    case VNA_IOC_INTR_POLL_MQ: {
      vioc_intr_poll_mq_t mq{};
      mq.vipm_nrings = static_cast<uint16_t>(in(0));
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&mq));
    }
    case VNA_IOC_SET_FEATURES:
    case VNA_IOC_GET_FEATURES: {
      uint64_t f = in(0);
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&f));
    }
    case VNA_IOC_SET_NOTIFY_MMIO: {
      if (rec.in.empty()) return ioctl(rec.cmd, 0);
      vioc_notify_mmio_t nm{in(0), static_cast<uint32_t>(in(1)), 0};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&nm));
    }
    case VNA_IOC_GET_PARAMS:
    case VNA_IOC_DEFAULT_PARAMS: {
      std::vector<char> buf(in(0));
      vioc_get_params_t gp{buf.empty() ? nullptr : buf.data(), buf.size()};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&gp));
    }
    case VNA_IOC_SET_PARAMS: {
      std::string text = rec.text_in;
      std::vector<char> err(in(1));
      vioc_set_params_t sp{text.empty() ? nullptr : &text[0], in(0), err.empty() ? nullptr : err.data(), err.size()};
      return ioctl(rec.cmd, reinterpret_cast<intptr_t>(&sp));
    }
    default:
      return ioctl(rec.cmd, rec.in.empty() ? 0 : static_cast<intptr_t>(rec.in[0]));
  }
}

// --- datapath ---------------------------------------------------------------

void Device::drain_locked(uint16_t ring) {
  if (!link_ || ring >= link_->nrings()) return;
  viona::Ring& r = link_->ring(ring);
  // A guest that posts while the drain re-enables notifications may not
  // kick (it saw NO_NOTIFY): drain again while avail moved and the last
  // drain made progress.
  for (;;) {
    viona::TxDrainResult res = link_->tx_drain(ring, *sink_);
    if (observer_ != nullptr) observer_->on_tx_drain(ring, res);
    std::vector<viona::TxLoan*> loans;
    loans.swap(sink_->loans);
    for (viona::TxLoan* loan : loans) {
      uint16_t cookie = loan->cookie;
      link_->tx_release(loan);
      if (observer_ != nullptr) observer_->on_loan_release(ring, cookie);
    }
    if (res.sent == 0 || res.bailed || r.state != viona::VrState::VRS_RUN) break;
    if (r.read_avail_idx() == r.cur_aidx()) break;
  }
}

viona::RxBatchResult Device::deliver_rx(const viona::RxFrame* frames, size_t n) {
  viona::RxBatchResult res;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!link_) return res;
    res = link_->rx_input(frames, n);
    if (observer_ != nullptr) observer_->on_rx_batch(-1, frames, n, res);
  }
  flush_msi();
  return res;
}

viona::RxBatchResult Device::deliver_rx_ring(uint16_t ring, const viona::RxFrame* frames, size_t n) {
  viona::RxBatchResult res;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!link_ || ring >= link_->nrings() || viona::Link::is_tx_ring(ring)) return res;
    res = link_->rx_deliver(ring, frames, n);
    if (observer_ != nullptr) observer_->on_rx_batch(ring, frames, n, res);
  }
  flush_msi();
  return res;
}

Device::StepResult Device::step_rx(size_t max) {
  StepResult out;
  Backend* be;
  {
    std::lock_guard<std::mutex> g(mu_);
    be = backend_;
  }
  if (be == nullptr) return out;
  std::vector<BackendFrame> frames;
  out.pulled = be->rx_pull(&frames, max, 0);
  if (out.pulled == 0) return out;
  std::vector<viona::RxFrame> rx(frames.size());
  for (size_t i = 0; i < frames.size(); i++) {
    rx[i].data = frames[i].data.data();
    rx[i].len = static_cast<uint32_t>(frames[i].data.size());
    rx[i].meta = frames[i].meta;
  }
  out.batch = deliver_rx(rx.data(), rx.size());
  return out;
}

bool Device::wait_poll(int timeout_ms) {
  std::unique_lock<std::mutex> g(mu_);
  auto pending = [this] {
    if (!link_) return false;
    const uint16_t usable = static_cast<uint16_t>(2 * link_->usepairs);
    for (uint16_t i = 0; i < usable && i < link_->nrings(); i++) {
      if (link_->ring(i).intr_pending()) return true;
    }
    return false;
  };
  if (mode_ == DeviceModeKind::stepping || timeout_ms <= 0) return pending();
  return poll_cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), pending);
}

// --- threaded mode ------------------------------------------------------------

void Device::kick_worker(uint16_t ring) {
  if (workers_.size() <= ring) workers_.resize(ring + 1u);
  if (!workers_[ring]) {
    workers_[ring] = std::make_unique<TxWorker>();
    workers_[ring]->ring = ring;
    workers_[ring]->th = std::thread(&Device::tx_worker_main, this, workers_[ring].get());
  }
  workers_[ring]->kicks++;
  workers_[ring]->cv.notify_one();
}

void Device::tx_worker_main(TxWorker* w) {
  std::unique_lock<std::mutex> g(mu_);
  for (;;) {
    w->cv.wait(g, [w] { return w->stop || w->drained != w->kicks; });
    if (w->stop) break;
    const uint64_t k = w->kicks;
    if (link_ && w->ring < link_->nrings() && link_->ring(w->ring).state == viona::VrState::VRS_RUN) {
      drain_locked(w->ring);
    }
    w->drained = k;
    idle_cv_.notify_all();
    g.unlock();
    flush_msi();
    g.lock();
  }
}

void Device::start_rx() {
  std::lock_guard<std::mutex> g(mu_);
  if (mode_ != DeviceModeKind::threaded || rx_thread_.joinable()) return;
  rx_stop_ = false;
  rx_thread_ = std::thread(&Device::rx_thread_main, this);
}

void Device::rx_thread_main() {
  std::vector<BackendFrame> frames;
  std::vector<viona::RxFrame> rx;
  for (;;) {
    Backend* be;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (rx_stop_) return;
      be = backend_;
    }
    frames.clear();
    if (be == nullptr || be->rx_pull(&frames, viona::VTNET_MAXSEGS, 20) == 0) {
      if (be == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    rx.assign(frames.size(), viona::RxFrame{});
    for (size_t i = 0; i < frames.size(); i++) {
      rx[i].data = frames[i].data.data();
      rx[i].len = static_cast<uint32_t>(frames[i].data.size());
      rx[i].meta = frames[i].meta;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      if (rx_stop_) return;
      if (link_) {
        viona::RxBatchResult res = link_->rx_input(rx.data(), rx.size());
        if (observer_ != nullptr) observer_->on_rx_batch(-1, rx.data(), rx.size(), res);
      }
    }
    flush_msi();
  }
}

void Device::quiesce() {
  if (mode_ != DeviceModeKind::threaded) return;
  std::unique_lock<std::mutex> g(mu_);
  idle_cv_.wait(g, [this] {
    for (const auto& w : workers_) {
      if (w && w->drained != w->kicks) return false;
    }
    return true;
  });
}

void Device::stop_threads() {
  std::vector<std::unique_ptr<TxWorker>> ws;
  std::thread rx;
  {
    std::lock_guard<std::mutex> g(mu_);
    rx_stop_ = true;
    for (auto& w : workers_) {
      if (!w) continue;
      w->stop = true;
      w->cv.notify_all();
    }
    ws.swap(workers_);
    rx.swap(rx_thread_);
  }
  if (rx.joinable()) rx.join();
  for (auto& w : ws) {
    if (w && w->th.joinable()) w->th.join();
  }
  std::lock_guard<std::mutex> g(mu_);
  rx_stop_ = false;
}

}  // namespace bhyve_glue
