// SPDX-License-Identifier: MIT
// vhost_user_server.cpp: vhost-user requests to VNA_IOC_* calls on a stepping Device.
#include "bhyve_glue/vhost_user/vhost_user_server.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "bhyve_glue/viona_io.h"
#include "viona/link.h"
#include "viona/virtio_defs.h"

namespace bhyve_glue {

namespace {

// In-kernel MSI target the rings are given: the address only has to be
// non-zero (the Device then hands the message to the MSI handler); the
// message is the ring index, so the handler knows which call fd to write.
constexpr uint64_t kMsiAddr = 0xfee00000;
constexpr size_t kMaxChainBytes = 64 * 1024;  // per TX descriptor copied to the mirror

uint64_t u64_at(const std::vector<uint8_t>& p) {
  uint64_t v = 0;
  std::memcpy(&v, p.data(), sizeof v);
  return v;
}

}  // namespace

const char* vhost_user_request_name(uint32_t req) {
  switch (static_cast<VhostUserRequest>(req)) {
#define NAME(r)               \
  case VhostUserRequest::r: \
    return #r;
    NAME(GET_FEATURES)
    NAME(SET_FEATURES)
    NAME(SET_OWNER)
    NAME(RESET_OWNER)
    NAME(SET_MEM_TABLE)
    NAME(SET_LOG_BASE)
    NAME(SET_LOG_FD)
    NAME(SET_VRING_NUM)
    NAME(SET_VRING_ADDR)
    NAME(SET_VRING_BASE)
    NAME(GET_VRING_BASE)
    NAME(SET_VRING_KICK)
    NAME(SET_VRING_CALL)
    NAME(SET_VRING_ERR)
    NAME(GET_PROTOCOL_FEATURES)
    NAME(SET_PROTOCOL_FEATURES)
    NAME(GET_QUEUE_NUM)
    NAME(SET_VRING_ENABLE)
    NAME(SEND_RARP)
    NAME(NET_SET_MTU)
    NAME(SET_SLAVE_REQ_FD)
    NAME(SET_STATUS)
    NAME(GET_STATUS)
#undef NAME
  }
  return "UNKNOWN";
}

VhostUserServer::VhostUserServer(Backend* backend, const Options& opts) : backend_(backend), opts_(opts) {}

VhostUserServer::~VhostUserServer() {
  // The Device's rings hold host pointers into the mappings: it goes first.
  dev_.reset();
  reg_.reset();
  mem_.reset();
  for (Vring& v : vrings_) {
    close_fd(&v.kick);
    close_fd(&v.call);
    close_fd(&v.err);
  }
  close_fd(&slave_fd_);
  close_fd(&fd_);
  unmap_all();
}

void VhostUserServer::note(const char* fmt, ...) {
  if (opts_.log == nullptr) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(opts_.log, fmt, ap);
  va_end(ap);
}

void VhostUserServer::close_fd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

void VhostUserServer::unmap_all() {
  for (Mapping& m : maps_) {
    if (m.base != nullptr) ::munmap(m.base, m.len);
  }
  maps_.clear();
}

uint64_t VhostUserServer::features_offered() const {
  viona::Link probe(nullptr);
  probe.set_offload_caps(backend_->offload_caps());
  uint64_t f = probe.features_offered() | VHOST_USER_F_PROTOCOL_FEATURES;
  if (opts_.offer_version_1) f |= viona::VIRTIO_F_VERSION_1;
  return f;
}

bool VhostUserServer::uva_to_gpa(uint64_t uva, uint64_t* gpa) const {
  for (const Mapping& m : maps_) {
    if (uva >= m.reg.userspace_addr && uva - m.reg.userspace_addr < m.reg.memory_size) {
      *gpa = m.reg.guest_phys_addr + (uva - m.reg.userspace_addr);
      return true;
    }
  }
  return false;
}

int VhostUserServer::listen_accept(const std::string& path, std::string* err) {
  sockaddr_un sa{};
  if (path.size() >= sizeof sa.sun_path) {
    *err = "socket path too long: " + path;
    return -1;
  }
  int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0) {
    *err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(ls, 1) != 0) {
    *err = path + ": " + std::strerror(errno);
    ::close(ls);
    return -1;
  }
  int fd = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) *err = std::string("accept: ") + std::strerror(errno);
  ::close(ls);
  ::unlink(path.c_str());
  return fd;
}

void VhostUserServer::attach(int fd) {
  close_fd(&fd_);
  fd_ = fd;
}

VhostServeKind VhostUserServer::serve(int fd) {
  attach(fd);
  VhostServeKind k = VhostServeKind::ok;
  while (k == VhostServeKind::ok) k = poll_once(-1);
  return k;
}

// --- messages ---------------------------------------------------------

bool VhostUserServer::read_message(VhostUserHeader* h, std::vector<uint8_t>* payload, std::vector<int>* fds,
                                   VhostServeKind* kind) {
  uint8_t hdr[kVhostUserHeaderSize];
  size_t got = 0;
  // The fds travel with the message's first bytes (QEMU sends header,
  // payload and SCM_RIGHTS in one sendmsg).
  while (got < sizeof hdr) {
    iovec iov{hdr + got, sizeof hdr - got};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kVhostUserMaxFds)];
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(fd_, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t k = 0; k < nfd; k++) {
        int f;
        std::memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof f);
        fds->push_back(f);
      }
    }
    if (n <= 0) {
      if (got == 0 && n == 0) {
        *kind = VhostServeKind::closed;
      } else {
        note("vhost-user: short header (%zu of %zu bytes)\n", got, sizeof hdr);
        stats_.rejected++;
        *kind = VhostServeKind::error;
      }
      return false;
    }
    got += static_cast<size_t>(n);
  }
  std::memcpy(h, hdr, sizeof hdr);
  if (h->size > kVhostUserMaxPayload) {
    // The stream cannot be trusted past a size this large: drop it.
    note("vhost-user: %s: payload of %u bytes is too large\n", vhost_user_request_name(h->request),
                 h->size);
    stats_.rejected++;
    *kind = VhostServeKind::error;
    return false;
  }
  payload->resize(h->size);
  size_t pgot = 0;
  while (pgot < h->size) {
    ssize_t n = ::recv(fd_, payload->data() + pgot, h->size - pgot, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      note("vhost-user: %s: payload cut short (%zu of %u bytes)\n",
                   vhost_user_request_name(h->request), pgot, h->size);
      stats_.rejected++;
      *kind = VhostServeKind::error;
      return false;
    }
    pgot += static_cast<size_t>(n);
  }
  return true;
}

void VhostUserServer::reply(const VhostUserHeader& h, const void* payload, uint32_t len) {
  uint8_t buf[kVhostUserHeaderSize + 64];
  VhostUserHeader r{h.request, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, len};
  std::memcpy(buf, &r, sizeof r);
  std::memcpy(buf + sizeof r, payload, len);
  const size_t total = sizeof r + len;
  size_t sent = 0;
  while (sent < total) {
    ssize_t n = ::send(fd_, buf + sent, total - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the front end is gone; the next read says so
    sent += static_cast<size_t>(n);
  }
  stats_.replies++;
}

void VhostUserServer::reject(const VhostUserHeader& h, const char* why) {
  note("vhost-user: %s (%u): rejected: %s\n", vhost_user_request_name(h.request), h.request, why);
  stats_.rejected++;
  if ((h.flags & VHOST_USER_NEED_REPLY) != 0 && (proto_features_ & VHOST_USER_PROTOCOL_F_REPLY_ACK) != 0) {
    const uint64_t nack = 1;
    reply(h, &nack, sizeof nack);
  }
}

VhostServeKind VhostUserServer::poll_once(int timeout_ms) {
  if (fd_ < 0) return VhostServeKind::closed;
  pollfd pfd[3];
  int ring_of[3] = {-1, -1, -1};
  nfds_t n = 0;
  pfd[n++] = pollfd{fd_, POLLIN, 0};
  for (uint16_t i = 0; i < vrings_.size(); i++) {
    if (vrings_[i].kick >= 0) {
      ring_of[n] = i;
      pfd[n++] = pollfd{vrings_[i].kick, POLLIN, 0};
    }
  }
  int rc = ::poll(pfd, n, timeout_ms);
  if (rc < 0) return errno == EINTR ? VhostServeKind::ok : VhostServeKind::error;
  // Kicks first: they were raised before any message now waiting.
  for (nfds_t k = 1; k < n; k++) {
    if ((pfd[k].revents & POLLIN) == 0) continue;
    const uint16_t i = static_cast<uint16_t>(ring_of[k]);
    uint64_t cnt;
    if (vrings_[i].kick >= 0 && ::read(vrings_[i].kick, &cnt, sizeof cnt) == sizeof cnt) on_kick(i);
  }
  if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) return VhostServeKind::ok;
  VhostUserHeader h{};
  std::vector<uint8_t> payload;
  std::vector<int> fds;
  VhostServeKind kind = VhostServeKind::ok;
  const bool ok = read_message(&h, &payload, &fds, &kind);
  if (ok) handle(h, payload, fds);
  for (int f : fds) {
    if (f >= 0) ::close(f);  // fds a request did not take
  }
  if (!ok) close_fd(&fd_);
  return kind;
}

void VhostUserServer::handle(const VhostUserHeader& h, const std::vector<uint8_t>& p, std::vector<int>& fds) {
  if (opts_.verbose) {
    note("vhost-user: %s size %u flags %#x fds %zu\n", vhost_user_request_name(h.request), h.size,
                 h.flags, fds.size());
  }
  if ((h.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) return reject(h, "protocol version is not 1");
  if ((h.flags & VHOST_USER_REPLY_MASK) != 0) return reject(h, "a reply sent as a request");
  auto want = [&](uint32_t size) { return h.size == size; };
  auto take_fd = [&]() {
    int f = fds.empty() ? -1 : fds.front();
    if (!fds.empty()) fds.front() = -1;
    return f;
  };
  bool replied = false;
  auto answer_u64 = [&](uint64_t v) {
    reply(h, &v, sizeof v);
    replied = true;
  };
  auto ring_index = [&](uint32_t idx) { return idx < vrings_.size(); };
  switch (static_cast<VhostUserRequest>(h.request)) {
    case VhostUserRequest::GET_FEATURES:
      if (!want(0)) return reject(h, "bad size");
      answer_u64(features_offered());
      break;
    case VhostUserRequest::SET_FEATURES: {
      if (!want(8)) return reject(h, "bad size");
      const uint64_t f = u64_at(p);
      if ((f & ~features_offered()) != 0) return reject(h, "features not offered");
      features_ = f;
      features_set_ = true;
      apply_features();
      break;
    }
    case VhostUserRequest::GET_PROTOCOL_FEATURES:
      if (!want(0)) return reject(h, "bad size");
      answer_u64(protocol_features_offered());
      break;
    case VhostUserRequest::SET_PROTOCOL_FEATURES: {
      if (!want(8)) return reject(h, "bad size");
      const uint64_t f = u64_at(p);
      if ((f & ~protocol_features_offered()) != 0) return reject(h, "protocol features not offered");
      proto_features_ = f;
      break;
    }
    case VhostUserRequest::GET_QUEUE_NUM:
      if (!want(0)) return reject(h, "bad size");
      answer_u64(1);
      break;
    case VhostUserRequest::SET_OWNER:
    case VhostUserRequest::RESET_OWNER:
      if (!want(0)) return reject(h, "bad size");
      break;
    case VhostUserRequest::SET_MEM_TABLE:
      if (h.size < sizeof(VhostMemoryHeader)) return reject(h, "bad size");
      if (!set_mem_table(p, fds)) return reject(h, "bad memory table");
      break;
    case VhostUserRequest::SET_VRING_NUM:
    case VhostUserRequest::SET_VRING_BASE:
    case VhostUserRequest::SET_VRING_ENABLE:
    case VhostUserRequest::GET_VRING_BASE: {
      if (!want(sizeof(VhostVringState))) return reject(h, "bad size");
      VhostVringState st;
      std::memcpy(&st, p.data(), sizeof st);
      if (!ring_index(st.index)) return reject(h, "no such ring");
      Vring& v = vrings_[st.index];
      const uint16_t i = static_cast<uint16_t>(st.index);
      if (h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_NUM)) {
        if (st.num == 0 || st.num > 32768 || (st.num & (st.num - 1)) != 0) return reject(h, "bad ring size");
        v.num = static_cast<uint16_t>(st.num);
      } else if (h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_BASE)) {
        if (st.num > 0xffff) return reject(h, "bad ring base");
        v.base = static_cast<uint16_t>(st.num);
      } else if (h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_ENABLE)) {
        v.enabled = st.num != 0;
        if (v.enabled) maybe_start(i);
      } else {
        stop_ring(i);
        VhostVringState out{st.index, v.base};
        reply(h, &out, sizeof out);
        replied = true;
      }
      break;
    }
    case VhostUserRequest::SET_VRING_ADDR: {
      if (!want(sizeof(VhostVringAddr))) return reject(h, "bad size");
      VhostVringAddr a;
      std::memcpy(&a, p.data(), sizeof a);
      if (!ring_index(a.index)) return reject(h, "no such ring");
      Vring& v = vrings_[a.index];
      uint64_t d, av, u;
      if (!uva_to_gpa(a.desc_user_addr, &d) || !uva_to_gpa(a.avail_user_addr, &av) ||
          !uva_to_gpa(a.used_user_addr, &u)) {
        return reject(h, "ring address outside the memory table");
      }
      v.desc = d;
      v.avail = av;
      v.used = u;
      v.addr_set = true;
      break;
    }
    case VhostUserRequest::SET_VRING_KICK:
    case VhostUserRequest::SET_VRING_CALL:
    case VhostUserRequest::SET_VRING_ERR: {
      if (!want(8)) return reject(h, "bad size");
      const uint64_t u = u64_at(p);
      const uint32_t idx = static_cast<uint32_t>(u & VHOST_USER_VRING_IDX_MASK);
      if (!ring_index(idx)) return reject(h, "no such ring");
      const bool nofd = (u & VHOST_USER_VRING_NOFD_MASK) != 0;
      if (!nofd && fds.empty()) return reject(h, "fd missing");
      if (nofd && h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_KICK)) {
        return reject(h, "polling mode (no kick fd) is not supported");
      }
      Vring& v = vrings_[idx];
      int* slot = h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_KICK)   ? &v.kick
                  : h.request == static_cast<uint32_t>(VhostUserRequest::SET_VRING_CALL) ? &v.call
                                                                                          : &v.err;
      close_fd(slot);
      if (!nofd) *slot = take_fd();
      if (slot == &v.kick) {
        // Without protocol features a ring is enabled once it has a kick fd.
        if ((features_ & VHOST_USER_F_PROTOCOL_FEATURES) == 0) v.enabled = true;
        maybe_start(static_cast<uint16_t>(idx));
      }
      break;
    }
    case VhostUserRequest::SET_SLAVE_REQ_FD:
      if (!want(0)) return reject(h, "bad size");
      if (fds.empty()) return reject(h, "fd missing");
      close_fd(&slave_fd_);
      slave_fd_ = take_fd();
      break;
    case VhostUserRequest::GET_STATUS:
      if (!want(0)) return reject(h, "bad size");
      answer_u64(status_);
      break;
    case VhostUserRequest::SET_STATUS:
      if (!want(8)) return reject(h, "bad size");
      status_ = static_cast<uint8_t>(u64_at(p));
      break;
    case VhostUserRequest::SEND_RARP:
    case VhostUserRequest::NET_SET_MTU:
      if (!want(8)) return reject(h, "bad size");
      break;  // nothing to do for a single local responder
    default:
      return reject(h, "unknown request");
  }
  stats_.messages++;
  if (!replied && (h.flags & VHOST_USER_NEED_REPLY) != 0 &&
      (proto_features_ & VHOST_USER_PROTOCOL_F_REPLY_ACK) != 0) {
    const uint64_t ack = 0;
    reply(h, &ack, sizeof ack);
  }
}

// --- memory and the device -------------------------------------------

bool VhostUserServer::set_mem_table(const std::vector<uint8_t>& p, std::vector<int>& fds) {
  VhostMemoryHeader mh;
  std::memcpy(&mh, p.data(), sizeof mh);
  if (mh.nregions == 0 || mh.nregions > kVhostUserMaxRegions ||
      p.size() != sizeof mh + mh.nregions * sizeof(VhostMemoryRegion)) {
    return false;
  }
  if (fds.size() < mh.nregions) {
    note("vhost-user: SET_MEM_TABLE: %u regions, %zu fds\n", mh.nregions, fds.size());
    return false;
  }
  std::vector<VhostMemoryRegion> regs(mh.nregions);
  std::memcpy(regs.data(), p.data() + sizeof mh, regs.size() * sizeof(VhostMemoryRegion));
  if (dev_) {
    // The same table again (QEMU resends it on some transitions) is fine;
    // a different one would need the link rebuilt under running rings.
    bool same = maps_.size() == regs.size();
    for (size_t k = 0; same && k < regs.size(); k++) {
      same = std::memcmp(&maps_[k].reg, &regs[k], sizeof regs[k]) == 0;
    }
    if (!same) note("vhost-user: SET_MEM_TABLE: a changed table is not supported; kept the first\n");
    return same;
  }
  auto mem = std::make_unique<viona::GuestMemory>(opts_.memory);
  std::vector<Mapping> maps;
  bool ok = true;
  for (size_t k = 0; k < regs.size() && ok; k++) {
    const VhostMemoryRegion& r = regs[k];
    Mapping m;
    m.reg = r;
    m.len = r.mmap_offset + r.memory_size;
    const uint64_t pages = r.memory_size & ~viona::kPageMask;
    if (pages == 0 || m.len < r.memory_size) {
      ok = false;
      break;
    }
    // A mapping past the end of its file would fault (SIGBUS) on the
    // first ring access: the fd must hold the whole region.
    struct stat sb;
    if (::fstat(fds[k], &sb) != 0 || sb.st_size < 0 || static_cast<uint64_t>(sb.st_size) < m.len) {
      note("vhost-user: SET_MEM_TABLE: region %zu needs %llu bytes of its fd\n", k,
           static_cast<unsigned long long>(m.len));
      ok = false;
      break;
    }
    void* base = ::mmap(nullptr, m.len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[k], 0);
    if (base == MAP_FAILED) {
      note("vhost-user: mmap region %zu: %s\n", k, std::strerror(errno));
      ok = false;
      break;
    }
    m.base = base;
    maps.push_back(m);
    ok = mem->add_host_region(r.guest_phys_addr, pages, static_cast<uint8_t*>(base) + r.mmap_offset);
  }
  for (size_t k = 0; k < regs.size(); k++) {
    ::close(fds[k]);  // the mappings keep the memory
    fds[k] = -1;
  }
  if (!ok) {
    for (Mapping& m : maps) ::munmap(m.base, m.len);
    return false;
  }
  maps_ = std::move(maps);
  mem_ = std::move(mem);
  if (mirror_on_) {
    mirror_ = std::make_unique<viona::GuestMemory>(viona::MemoryMode::paged);
    for (const viona::MemoryRegion& r : mem_->regions()) (void)mirror_->add_region(r.gpa, r.size);
  }
  reg_ = std::make_unique<Registry>();
  const int vmfd = reg_->add_vm(mem_.get());
  const uint32_t linkid = reg_->add_link("vhost0", backend_);
  dev_ = std::make_unique<Device>(reg_.get(), DeviceModeKind::stepping);
  dev_->set_msi_handler([this](uint64_t addr, uint64_t msg) {
    if (msg >= vrings_.size() || vrings_[msg].call < 0) return;
    const uint64_t one = 1;
    if (::write(vrings_[msg].call, &one, sizeof one) == sizeof one) stats_.calls[msg]++;
  });
  if (ready_hook_) ready_hook_(*dev_, mirror_.get());
  vioc_create_t c{linkid, vmfd};
  if (dev_->ioctl(VNA_IOC_CREATE, reinterpret_cast<intptr_t>(&c)) < 0) {
    note("vhost-user: VNA_IOC_CREATE failed\n");
    return false;
  }
  dev_->with_link([&](viona::Link* l) {
    l->quirks = opts_.quirks;
    return 0;
  });
  apply_features();
  for (uint16_t i = 0; i < vrings_.size(); i++) maybe_start(i);
  return true;
}

void VhostUserServer::apply_features() {
  if (!dev_ || !features_set_) return;
  uint64_t f = features_ & ~VHOST_USER_F_PROTOCOL_FEATURES;
  if (dev_->ioctl(VNA_IOC_SET_FEATURES, reinterpret_cast<intptr_t>(&f)) < 0) {
    note("vhost-user: VNA_IOC_SET_FEATURES %#llx failed\n", static_cast<unsigned long long>(f));
  }
}

void VhostUserServer::maybe_start(uint16_t i) {
  Vring& v = vrings_[i];
  if (!dev_ || v.started || v.num == 0 || !v.addr_set || v.kick < 0 || !v.enabled) return;
  // A ring paused by GET_VRING_BASE still holds its mapping: reset it.
  (void)dev_->ioctl(VNA_IOC_RING_RESET, i);
  uint16_t used_idx = 0;
  (void)mem_->read_obj(v.used + 2, &used_idx);
  mirror_ring(i);
  int rc;
  if (v.base == 0 && used_idx == 0) {
    vioc_ring_init_modern_t ri{i, v.num, 0, v.desc, v.avail, v.used};
    rc = dev_->ioctl(VNA_IOC_RING_INIT_MODERN, reinterpret_cast<intptr_t>(&ri));
  } else {
    vioc_ring_state_t st{i, v.base, used_idx, v.num, v.desc, v.avail, v.used};
    rc = dev_->ioctl(VNA_IOC_RING_SET_STATE, reinterpret_cast<intptr_t>(&st));
  }
  if (rc < 0) {
    note("vhost-user: ring %u: init failed (%d): desc %#llx avail %#llx used %#llx\n", i, -rc,
                 static_cast<unsigned long long>(v.desc), static_cast<unsigned long long>(v.avail),
                 static_cast<unsigned long long>(v.used));
    return;
  }
  vioc_ring_msi_t msi{i, {0, 0, 0}, kMsiAddr, i};
  (void)dev_->ioctl(VNA_IOC_RING_SET_MSI, reinterpret_cast<intptr_t>(&msi));
  v.started = true;
  on_kick(i);  // INIT -> RUN; a TX ring drains what was posted meanwhile
}

void VhostUserServer::stop_ring(uint16_t i) {
  Vring& v = vrings_[i];
  if (v.started) {
    (void)dev_->ioctl(VNA_IOC_RING_PAUSE, i);
    vioc_ring_state_t st{};
    st.vrs_index = i;
    if (dev_->ioctl(VNA_IOC_RING_GET_STATE, reinterpret_cast<intptr_t>(&st)) >= 0) v.base = st.vrs_avail_idx;
    v.started = false;
  }
  // The ring is stopped until the front end sends a new kick fd.
  close_fd(&v.kick);
}

void VhostUserServer::on_kick(uint16_t i) {
  stats_.kicks[i]++;
  if (!vrings_[i].started) return;
  mirror_ring(i);
  (void)dev_->ioctl(VNA_IOC_RING_KICK, i);
  if (mirror_) {
    const uint16_t cur = dev_->with_link([&](viona::Link* l) { return l->ring(i).cur_aidx(); });
    if (static_cast<int16_t>(cur - vrings_[i].mirrored_avail) > 0) stats_.mirror_races++;
  }
  pump_rx();
}

void VhostUserServer::pump_rx() {
  std::vector<BackendFrame> frames;
  if (backend_->rx_pull(&frames, 64, 0) == 0) return;
  if (!vrings_[0].started) {
    stats_.rx_unready += frames.size();
    return;
  }
  std::vector<viona::RxFrame> rx(frames.size());
  for (size_t k = 0; k < frames.size(); k++) {
    rx[k].data = frames[k].data.data();
    rx[k].len = static_cast<uint32_t>(frames[k].data.size());
    rx[k].meta = frames[k].meta;
  }
  mirror_ring(0);
  (void)dev_->deliver_rx_ring(0, rx.data(), rx.size());
  stats_.rx_frames += rx.size();
  if (mirror_) {
    const uint16_t cur = dev_->with_link([&](viona::Link* l) { return l->ring(0).cur_aidx(); });
    if (static_cast<int16_t>(cur - vrings_[0].mirrored_avail) > 0) stats_.mirror_races++;
  }
}

// --- the mirror ---------------------------------------------------------

void VhostUserServer::mirror_copy(uint64_t gpa, uint64_t len, bool diff) {
  if (len == 0 || !mem_->contains(gpa, len)) return;
  std::vector<uint8_t> now(len), was(len);
  (void)mem_->read(gpa, now.data(), len);
  if (!diff) {
    (void)mirror_->write(gpa, now.data(), len);
    return;
  }
  (void)mirror_->read(gpa, was.data(), len);
  size_t k = 0;
  while (k < len) {
    if (now[k] == was[k]) {
      k++;
      continue;
    }
    size_t end = k + 1;
    // Runs closer than 8 bytes go out as one write.
    size_t same = 0;
    while (end < len && same < 8) {
      same = now[end] == was[end] ? same + 1 : 0;
      end++;
    }
    end -= same;
    (void)mirror_->write(gpa + k, now.data() + k, end - k);
    k = end;
  }
}

void VhostUserServer::mirror_ring(uint16_t i) {
  if (!mirror_) return;
  Vring& v = vrings_[i];
  const uint64_t qsz = v.num;
  // The device never writes the descriptor table or the avail ring: what
  // differs from the mirror is what the guest wrote since the last copy.
  mirror_copy(v.desc, qsz * sizeof(viona::VringDesc), true);
  mirror_copy(v.avail, 4 + 2 * qsz + 2, true);
  uint16_t aidx = 0;
  (void)mem_->read_obj(v.avail + 2, &aidx);
  const uint16_t from = v.started ? dev_->with_link([&](viona::Link* l) { return l->ring(i).cur_aidx(); }) : v.base;
  v.mirrored_avail = aidx;
  if (!viona::Link::is_tx_ring(i)) return;  // RX buffers are only written by the device
  // TX chains posted since the device's last pop: indirect tables and
  // buffers, whole (the pages may have held RX data the mirror never saw).
  for (uint16_t a = from; a != aidx && static_cast<uint16_t>(a - from) <= qsz; a++) {
    uint16_t head = 0;
    if (!mem_->read_obj(v.avail + 4 + 2 * (a % qsz), &head)) return;
    uint16_t d = head;
    for (uint64_t steps = 0; steps < qsz && d < qsz; steps++) {
      viona::VringDesc desc;
      if (!mem_->read_obj(v.desc + 16ull * d, &desc)) break;
      if ((desc.flags & viona::VRING_DESC_F_INDIRECT) != 0) {
        const uint64_t n = std::min<uint64_t>(desc.len / 16, qsz);
        mirror_copy(desc.addr, n * 16, false);
        for (uint64_t k = 0; k < n; k++) {
          viona::VringDesc in;
          if (!mem_->read_obj(desc.addr + 16 * k, &in)) break;
          mirror_copy(in.addr, std::min<uint64_t>(in.len, kMaxChainBytes), false);
        }
      } else {
        mirror_copy(desc.addr, std::min<uint64_t>(desc.len, kMaxChainBytes), false);
      }
      if ((desc.flags & viona::VRING_DESC_F_NEXT) == 0) break;
      d = desc.next;
    }
  }
}

}  // namespace bhyve_glue
