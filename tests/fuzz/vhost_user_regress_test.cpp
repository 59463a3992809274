// SPDX-License-Identifier: MIT
// vhost_user_regress_test.cpp: reproducers found by fuzz/vhost_user (make fuzz), kept as plain tests so make test guards them.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/vhost_user/vhost_user_proto.h"
#include "bhyve_glue/vhost_user/vhost_user_server.h"

namespace bhyve_glue {
namespace {

struct NullBackend : Backend {
  const char* kind() const override { return "null"; }
  void transmit(viona::TxPacket&& pkt) override {}
  size_t rx_pull(std::vector<BackendFrame>* out, size_t max, int timeout_ms) override { return 0; }
};

// One message with |fd| attached (SCM_RIGHTS), as QEMU sends it.
void send_msg(int sock, VhostUserRequest req, const std::vector<uint8_t>& payload, int fd) {
  std::vector<uint8_t> buf(kVhostUserHeaderSize + payload.size());
  const VhostUserHeader h{static_cast<uint32_t>(req), VHOST_USER_VERSION, static_cast<uint32_t>(payload.size())};
  std::memcpy(buf.data(), &h, sizeof h);
  if (!payload.empty()) std::memcpy(buf.data() + sizeof h, payload.data(), payload.size());
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  REQUIRE(::sendmsg(sock, &mh, 0) == static_cast<ssize_t>(buf.size()));
}

std::vector<uint8_t> mem_table(uint64_t size, uint64_t offset) {
  const VhostMemoryHeader mh{1, 0};
  const VhostMemoryRegion r{0, size, 0x7f0000000000ull, offset};
  std::vector<uint8_t> p(sizeof mh + sizeof r);
  std::memcpy(p.data(), &mh, sizeof mh);
  std::memcpy(p.data() + sizeof mh, &r, sizeof r);
  return p;
}

// Whether a SET_MEM_TABLE for [offset, offset + size) of a |fd_size|-byte memfd is taken.
bool table_accepted(uint64_t fd_size, uint64_t size, uint64_t offset) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  NullBackend backend;
  VhostUserServer::Options opts;
  opts.log = nullptr;
  VhostUserServer s(&backend, opts);
  s.attach(sv[0]);
  const int fd = ::memfd_create("regress", 0);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(fd_size)) == 0);
  send_msg(sv[1], VhostUserRequest::SET_MEM_TABLE, mem_table(size, offset), fd);
  ::close(fd);
  CHECK(s.poll_once(100) == VhostServeKind::ok);
  const bool taken = s.memory() != nullptr;
  CHECK(s.stats().messages + s.stats().rejected == 1);
  CHECK(s.stats().rejected == (taken ? 0u : 1u));
  ::close(sv[1]);
  return taken;
}

TEST_CASE("fuzz vhost_user: a memory table larger than its fd is rejected (the mapping would SIGBUS)") {
  // The fuzzer's reproducer: a region of 1 MiB + 1 page over a 1 MiB memfd;
  // the first ring access past the fd's end raised SIGBUS in maybe_start.
  CHECK_FALSE(table_accepted(1 << 20, (1 << 20) + 0x1000, 0));
  // The offset counts: 64 KiB at offset 1 MiB of a 1 MiB fd.
  CHECK_FALSE(table_accepted(1 << 20, 0x10000, 1 << 20));
  // Exactly covered regions are still taken.
  CHECK(table_accepted(1 << 20, 1 << 20, 0));
  CHECK(table_accepted(2 << 20, 0x10000, 1 << 20));
}

}  // namespace
}  // namespace bhyve_glue
