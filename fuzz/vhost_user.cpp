// SPDX-License-Identifier: MIT
// vhost_user.cpp: libFuzzer target for the vhost-user back end's message parser (VhostUserServer) on an arbitrary byte stream.
//
// The input is the front end's byte stream. The harness frames it only to
// attach what a real front end would (memfds to SET_MEM_TABLE, eventfds to
// SET_VRING_KICK/CALL/ERR and SET_SLAVE_REQ_FD), sends one message at a
// time over a socketpair and lets the server handle it. Invariants:
//  * every complete message is either handled or rejected (messages +
//    rejected move by exactly one), and a message that is malformed on its
//    face (protocol version not 1, the reply flag set, an unknown request,
//    a payload size the request does not have) is rejected;
//  * an oversized payload or a stream cut short ends the connection with
//    VhostServeKind::error; end of stream otherwise ends it with closed;
//  * every reply names the request it answers, carries the reply flag and
//    version 1 and at most 64 payload bytes;
//  * after the server is destroyed no file descriptor is left open.
// The memfds hold the input itself as guest RAM and every kick fd is rung
// after each message, so a ring the messages start is driven by the
// device over hostile memory too (no crash, no sanitizer report).
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/vhost_user/vhost_user_proto.h"
#include "bhyve_glue/vhost_user/vhost_user_server.h"
#include "fuzz/fuzz_check.h"

namespace {

using bhyve_glue::VhostUserHeader;
using bhyve_glue::VhostUserRequest;

struct NullBackend : bhyve_glue::Backend {
  const char* kind() const override { return "fuzz"; }
  void transmit(viona::TxPacket&& pkt) override {}
  size_t rx_pull(std::vector<bhyve_glue::BackendFrame>* out, size_t max, int timeout_ms) override { return 0; }
};

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n;
}

// The payload size a request must have, or -1 when it varies (SET_MEM_TABLE)
// or the request is unknown.
int fixed_size(uint32_t req) {
  switch (static_cast<VhostUserRequest>(req)) {
    case VhostUserRequest::GET_FEATURES:
    case VhostUserRequest::GET_PROTOCOL_FEATURES:
    case VhostUserRequest::GET_QUEUE_NUM:
    case VhostUserRequest::SET_OWNER:
    case VhostUserRequest::RESET_OWNER:
    case VhostUserRequest::SET_SLAVE_REQ_FD:
    case VhostUserRequest::GET_STATUS:
      return 0;
    case VhostUserRequest::SET_FEATURES:
    case VhostUserRequest::SET_PROTOCOL_FEATURES:
    case VhostUserRequest::SET_VRING_KICK:
    case VhostUserRequest::SET_VRING_CALL:
    case VhostUserRequest::SET_VRING_ERR:
    case VhostUserRequest::SET_STATUS:
    case VhostUserRequest::SEND_RARP:
    case VhostUserRequest::NET_SET_MTU:
      return 8;
    case VhostUserRequest::SET_VRING_NUM:
    case VhostUserRequest::SET_VRING_BASE:
    case VhostUserRequest::SET_VRING_ENABLE:
    case VhostUserRequest::GET_VRING_BASE:
      return sizeof(bhyve_glue::VhostVringState);
    case VhostUserRequest::SET_VRING_ADDR:
      return sizeof(bhyve_glue::VhostVringAddr);
    default:
      return -1;
  }
}

bool known(uint32_t req) { return fixed_size(req) >= 0 || req == static_cast<uint32_t>(VhostUserRequest::SET_MEM_TABLE); }

// The fds a front end sends with |h|: memfds sized as the table says (up
// to 1 MiB each, so a table claiming more than its fd holds is tried too),
// or one eventfd.
std::vector<int> fds_for(const VhostUserHeader& h, const uint8_t* p, size_t plen, const uint8_t* input,
                         size_t input_len, std::vector<int>* kicks) {
  std::vector<int> fds;
  const auto req = static_cast<VhostUserRequest>(h.request);
  if (req == VhostUserRequest::SET_MEM_TABLE && plen >= 8) {
    uint32_t n;
    std::memcpy(&n, p, 4);
    for (uint32_t k = 0; k < n && k < bhyve_glue::kVhostUserMaxRegions; k++) {
      uint64_t want = 1 << 20;
      if (plen >= 8 + 32 * (k + 1)) {
        bhyve_glue::VhostMemoryRegion r;
        std::memcpy(&r, p + 8 + 32 * k, sizeof r);
        if (r.mmap_offset + r.memory_size >= r.memory_size && r.mmap_offset + r.memory_size < want) {
          want = r.mmap_offset + r.memory_size;
        }
      }
      const int fd = memfd_create("viona-fuzz", MFD_CLOEXEC);
      FUZZ_CHECK(fd >= 0 && ftruncate(fd, static_cast<off_t>(want)) == 0);
      // The guest's RAM: the input itself, so rings and buffers the
      // server's device reads are as hostile as the messages.
      const size_t fill = input_len < want ? input_len : static_cast<size_t>(want);
      FUZZ_CHECK(fill == 0 || pwrite(fd, input, fill, 0) == static_cast<ssize_t>(fill));
      fds.push_back(fd);
    }
  } else if ((req == VhostUserRequest::SET_VRING_KICK || req == VhostUserRequest::SET_VRING_CALL ||
              req == VhostUserRequest::SET_VRING_ERR) && plen >= 8) {
    uint64_t u;
    std::memcpy(&u, p, 8);
    if ((u & bhyve_glue::VHOST_USER_VRING_NOFD_MASK) == 0) {
      fds.push_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      // Keep the front end's end of a kick fd to ring the doorbell later.
      if (req == VhostUserRequest::SET_VRING_KICK) kicks->push_back(dup(fds.back()));
    }
  } else if (req == VhostUserRequest::SET_SLAVE_REQ_FD) {
    fds.push_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
  return fds;
}

void send_with_fds(int sock, const uint8_t* p, size_t len, const std::vector<int>& fds) {
  iovec iov{const_cast<uint8_t*>(p), len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * bhyve_glue::kVhostUserMaxFds)];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (!fds.empty()) {
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  FUZZ_CHECK(sendmsg(sock, &mh, MSG_NOSIGNAL) == static_cast<ssize_t>(len));
}

// Reads every reply waiting on the front end's side and checks it answers |req|.
void check_replies(int sock, uint32_t req) {
  uint8_t buf[4096];
  const ssize_t n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
  if (n <= 0) return;
  size_t at = 0;
  while (at < static_cast<size_t>(n)) {
    FUZZ_CHECK(static_cast<size_t>(n) - at >= bhyve_glue::kVhostUserHeaderSize);
    VhostUserHeader r;
    std::memcpy(&r, buf + at, sizeof r);
    FUZZ_CHECK(r.request == req);
    FUZZ_CHECK(r.flags == (bhyve_glue::VHOST_USER_VERSION | bhyve_glue::VHOST_USER_REPLY_MASK));
    FUZZ_CHECK(r.size <= 64 && at + sizeof r + r.size <= static_cast<size_t>(n));
    at += sizeof r + r.size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fds_before = open_fds();
  {
    NullBackend backend;
    bhyve_glue::VhostUserServer::Options opts;
    // VIONA_FUZZ_LOG=1: the server's log on stderr, one line per request
    // (for reading a reproducer); silent otherwise.
    static const bool log = std::getenv("VIONA_FUZZ_LOG") != nullptr;
    opts.log = log ? stderr : nullptr;
    opts.verbose = log;
    bhyve_glue::VhostUserServer server(&backend, opts);
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    server.attach(sv[0]);
    const int front = sv[1];
    size_t at = 0;
    std::vector<int> kicks;
    bhyve_glue::VhostServeKind kind = bhyve_glue::VhostServeKind::ok;
    while (at < size && kind == bhyve_glue::VhostServeKind::ok) {
      const size_t left = size - at;
      if (left < bhyve_glue::kVhostUserHeaderSize) {  // a short header, then end of stream
        send_with_fds(front, data + at, left, {});
        at = size;
        break;
      }
      VhostUserHeader h;
      std::memcpy(&h, data + at, sizeof h);
      const bool oversize = h.size > bhyve_glue::kVhostUserMaxPayload;
      const size_t plen = oversize ? 0 : (h.size < left - sizeof h ? h.size : left - sizeof h);
      const bool complete = !oversize && plen == h.size;
      const std::vector<int> fds = fds_for(h, data + at + sizeof h, plen, data, size, &kicks);
      send_with_fds(front, data + at, sizeof h + plen, fds);
      for (int f : fds) close(f);
      at += sizeof h + plen;
      if (!complete) {
        at = size;
        break;  // the server sees the rest of the stream missing
      }
      const bhyve_glue::VhostUserStats s0 = server.stats();
      kind = server.poll_once(0);
      const bhyve_glue::VhostUserStats& s1 = server.stats();
      if (oversize) {
        FUZZ_CHECK(kind == bhyve_glue::VhostServeKind::error && s1.rejected == s0.rejected + 1);
        break;
      }
      FUZZ_CHECK(kind == bhyve_glue::VhostServeKind::ok);
      FUZZ_CHECK((s1.messages - s0.messages) + (s1.rejected - s0.rejected) == 1);
      const int want_size = fixed_size(h.request);
      const bool bad = (h.flags & bhyve_glue::VHOST_USER_VERSION_MASK) != bhyve_glue::VHOST_USER_VERSION ||
                       (h.flags & bhyve_glue::VHOST_USER_REPLY_MASK) != 0 || !known(h.request) ||
                       (want_size >= 0 && static_cast<uint32_t>(want_size) != h.size);
      if (bad) FUZZ_CHECK(s1.rejected == s0.rejected + 1);
      check_replies(front, h.request);
      // Ring every doorbell: a started ring's device now reads the memfd.
      const uint64_t one = 1;
      for (int k : kicks) (void)!write(k, &one, sizeof one);
    }
    shutdown(front, SHUT_WR);
    for (int k = 0; k < 4 && kind == bhyve_glue::VhostServeKind::ok; k++) kind = server.poll_once(0);
    FUZZ_CHECK(kind != bhyve_glue::VhostServeKind::ok);
    close(front);
    for (int k : kicks) close(k);
  }
  FUZZ_CHECK(open_fds() == fds_before);
  return 0;
}
