// SPDX-License-Identifier: MIT
// vhost_user_test.cpp: the vhost-user back end driven over a socketpair with hand-built
// messages and memfd guest memory; the responder's answers; malformed requests.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "bhyve_glue/vhost_user/responder.h"
#include "bhyve_glue/vhost_user/vhost_user_server.h"
#include "viona/checksum.h"
#include "viona/link.h"

using namespace bhyve_glue;

namespace {

constexpr uint64_t kMemSize = 1 << 20;
constexpr uint64_t kUva = 0x7f1200000000ull;  // the "front end's" address of guest-physical 0
constexpr uint16_t kQsz = 16;
// Non-modern rings need every part page aligned.
constexpr uint64_t kRxDesc = 0x10000, kRxAvail = 0x11000, kRxUsed = 0x12000;
constexpr uint64_t kTxDesc = 0x20000, kTxAvail = 0x21000, kTxUsed = 0x22000;
constexpr uint64_t kRxBuf = 0x30000, kTxBuf = 0x40000;
constexpr uint32_t kHdr = 12;  // virtio-net header with MRG_RXBUF

const uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

template <typename T>
std::vector<uint8_t> bytes_of(const T& v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

// A front end: the client end of a socketpair, a memfd as guest RAM.
struct FrontEnd {
  int sock = -1;
  int server_end = -1;
  int memfd = -1;
  uint8_t* ram = nullptr;
  int kick[2] = {-1, -1}, call[2] = {-1, -1};

  FrontEnd() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    sock = sv[0];
    server_end = sv[1];
    memfd = ::memfd_create("vhost-test-ram", MFD_CLOEXEC);
    REQUIRE(memfd >= 0);
    REQUIRE(::ftruncate(memfd, kMemSize) == 0);
    void* p = ::mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    REQUIRE(p != MAP_FAILED);
    ram = static_cast<uint8_t*>(p);
    for (int i = 0; i < 2; i++) {
      kick[i] = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      call[i] = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
  }
  ~FrontEnd() {
    ::munmap(ram, kMemSize);
    for (int f : {sock, memfd, kick[0], kick[1], call[0], call[1]}) {
      if (f >= 0) ::close(f);
    }
  }

  void send(uint32_t req, uint32_t flags, const std::vector<uint8_t>& payload, std::vector<int> fds = {},
            int32_t size_override = -1) {
    VhostUserHeader h{req, flags, size_override >= 0 ? static_cast<uint32_t>(size_override)
                                                      : static_cast<uint32_t>(payload.size())};
    std::vector<uint8_t> buf(sizeof h + payload.size());
    std::memcpy(buf.data(), &h, sizeof h);
    if (!payload.empty()) std::memcpy(buf.data() + sizeof h, payload.data(), payload.size());
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 8)];
    if (!fds.empty()) {
      mh.msg_control = cbuf;
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    REQUIRE(::sendmsg(sock, &mh, 0) == static_cast<ssize_t>(buf.size()));
  }
  void send(VhostUserRequest r, const std::vector<uint8_t>& payload, std::vector<int> fds = {}, uint32_t flags = 0) {
    send(static_cast<uint32_t>(r), VHOST_USER_VERSION | flags, payload, std::move(fds));
  }
  // A reply if one arrives within 200 ms: header, then payload in |*out|.
  bool recv_reply(VhostUserHeader* h, std::vector<uint8_t>* out) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 200) != 1) return false;
    if (::recv(sock, h, sizeof *h, MSG_WAITALL) != sizeof *h) return false;
    out->resize(h->size);
    return h->size == 0 || ::recv(sock, out->data(), h->size, MSG_WAITALL) == static_cast<ssize_t>(h->size);
  }
  uint64_t reply_u64() {
    VhostUserHeader h{};
    std::vector<uint8_t> p;
    REQUIRE(recv_reply(&h, &p));
    CHECK(h.flags == (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK));
    REQUIRE(p.size() == 8);
    uint64_t v;
    std::memcpy(&v, p.data(), 8);
    return v;
  }
  bool no_reply() {
    pollfd p{sock, POLLIN, 0};
    return ::poll(&p, 1, 20) == 0;
  }
  template <typename T>
  T at(uint64_t gpa) const {
    T v;
    std::memcpy(&v, ram + gpa, sizeof v);
    return v;
  }
  template <typename T>
  void put(uint64_t gpa, const T& v) {
    std::memcpy(ram + gpa, &v, sizeof v);
  }
  uint64_t drain(int efd) {
    uint64_t v = 0;
    return ::read(efd, &v, sizeof v) == sizeof v ? v : 0;
  }
};

VhostUserServer::Options quiet() {
  VhostUserServer::Options o;
  o.log = nullptr;
  return o;
}

VhostVringState vstate(uint32_t i, uint32_t n) { return VhostVringState{i, n}; }

void pump(VhostUserServer& s, int rounds = 1) {
  for (int i = 0; i < rounds; i++) CHECK(s.poll_once(50) == VhostServeKind::ok);
}

// Negotiation, memory table and both rings up, as QEMU sends them.
void bring_up(FrontEnd& fe, VhostUserServer& s) {
  fe.send(VhostUserRequest::GET_FEATURES, {});
  pump(s);
  const uint64_t offered = fe.reply_u64();
  CHECK(offered == s.features_offered());
  CHECK((offered & VHOST_USER_F_PROTOCOL_FEATURES) != 0);
  CHECK((offered & viona::VIRTIO_NET_F_MRG_RXBUF) != 0);
  fe.send(VhostUserRequest::GET_PROTOCOL_FEATURES, {});
  pump(s);
  CHECK(fe.reply_u64() == VHOST_USER_PROTOCOL_F_REPLY_ACK);
  fe.send(VhostUserRequest::SET_PROTOCOL_FEATURES, bytes_of<uint64_t>(VHOST_USER_PROTOCOL_F_REPLY_ACK));
  fe.send(VhostUserRequest::SET_OWNER, {});
  fe.send(VhostUserRequest::SET_FEATURES,
          bytes_of<uint64_t>(VHOST_USER_F_PROTOCOL_FEATURES | viona::VIRTIO_NET_F_MRG_RXBUF));
  pump(s, 3);
  CHECK(fe.no_reply());
  std::vector<uint8_t> mt = bytes_of(VhostMemoryHeader{1, 0});
  const std::vector<uint8_t> reg = bytes_of(VhostMemoryRegion{0, kMemSize, kUva, 0});
  mt.insert(mt.end(), reg.begin(), reg.end());
  // REPLY_ACK is negotiated: a request with NEED_REPLY gets a zero ack.
  fe.send(VhostUserRequest::SET_MEM_TABLE, mt, {fe.memfd}, VHOST_USER_NEED_REPLY);
  pump(s);
  CHECK(fe.reply_u64() == 0);
  REQUIRE(s.device() != nullptr);
  const uint64_t desc[2] = {kRxDesc, kTxDesc}, avail[2] = {kRxAvail, kTxAvail}, used[2] = {kRxUsed, kTxUsed};
  for (uint32_t i = 0; i < 2; i++) {
    fe.send(VhostUserRequest::SET_VRING_NUM, bytes_of(vstate(i, kQsz)));
    fe.send(VhostUserRequest::SET_VRING_BASE, bytes_of(vstate(i, 0)));
    fe.send(VhostUserRequest::SET_VRING_ADDR,
            bytes_of(VhostVringAddr{i, 0, kUva + desc[i], kUva + used[i], kUva + avail[i], 0}));
    fe.send(VhostUserRequest::SET_VRING_CALL, bytes_of<uint64_t>(i), {fe.call[i]});
    fe.send(VhostUserRequest::SET_VRING_KICK, bytes_of<uint64_t>(i), {fe.kick[i]});
    fe.send(VhostUserRequest::SET_VRING_ENABLE, bytes_of(vstate(i, 1)));
    pump(s, 6);
  }
  CHECK(s.stats().rejected == 0);
}

// An ICMP echo request from the guest (10.0.0.2) to 10.0.0.1, |payload| bytes of data.
std::vector<uint8_t> echo_request(size_t payload) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload, 0);
  std::memset(f.data(), 0xff, 6);  // to be replaced: responder answers to the source
  std::memcpy(f.data() + 6, kGuestMac, 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  const uint16_t tot = static_cast<uint16_t>(20 + 8 + payload);
  ip[2] = static_cast<uint8_t>(tot >> 8);
  ip[3] = static_cast<uint8_t>(tot);
  ip[6] = 0x40;  // DF
  ip[8] = 17;    // TTL
  ip[9] = 1;
  const uint8_t src[4] = {10, 0, 0, 2}, dst[4] = {10, 0, 0, 1};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  const uint16_t ipc = viona::inet_checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(ipc >> 8);
  ip[11] = static_cast<uint8_t>(ipc);
  uint8_t* icmp = ip + 20;
  icmp[0] = 8;
  icmp[4] = 0x12;  // id
  icmp[7] = 3;     // seq
  for (size_t k = 0; k < payload; k++) icmp[8 + k] = static_cast<uint8_t>(k);
  const uint16_t c = viona::inet_checksum(icmp, 8 + payload);
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  return f;
}

}  // namespace

TEST_CASE("vhost-user: a TX echo request is answered into an RX buffer through the port") {
  FrontEnd fe;
  Responder resp;
  VhostUserServer s(&resp, quiet());
  s.attach(fe.server_end);
  bring_up(fe, s);
  // Both rings are on the link, at the guest-physical addresses the front
  // end's virtual ones translate to, in RUN.
  s.device()->with_link([](viona::Link* l) {
    CHECK(l->ring(0).desc_pa() == kRxDesc);
    CHECK(l->ring(1).used_pa() == kTxUsed);
    CHECK(l->ring(0).state == viona::VrState::VRS_RUN);
    CHECK(l->ring(1).state == viona::VrState::VRS_RUN);
    CHECK(l->features() == viona::VIRTIO_NET_F_MRG_RXBUF);
    return 0;
  });
  uint64_t gpa = 0;
  CHECK(s.uva_to_gpa(kUva + 0x1234, &gpa));
  CHECK(gpa == 0x1234);
  CHECK_FALSE(s.uva_to_gpa(kUva + kMemSize, &gpa));

  // Two RX buffers of 2048 bytes.
  for (uint16_t d = 0; d < 2; d++) {
    fe.put(kRxDesc + 16 * d, viona::VringDesc{kRxBuf + 0x1000 * d, 2048, viona::VRING_DESC_F_WRITE, 0});
    fe.put<uint16_t>(kRxAvail + 4 + 2 * d, d);
  }
  fe.put<uint16_t>(kRxAvail + 2, 2);
  // One TX chain: header descriptor, then the frame.
  const std::vector<uint8_t> req = echo_request(56);
  std::memset(fe.ram + kTxBuf, 0, kHdr);
  std::memcpy(fe.ram + kTxBuf + 0x100, req.data(), req.size());
  fe.put(kTxDesc, viona::VringDesc{kTxBuf, kHdr, viona::VRING_DESC_F_NEXT, 1});
  fe.put(kTxDesc + 16, viona::VringDesc{kTxBuf + 0x100, static_cast<uint32_t>(req.size()), 0, 0});
  fe.put<uint16_t>(kTxAvail + 4, 0);
  fe.put<uint16_t>(kTxAvail + 2, 1);
  const uint64_t one = 1;
  REQUIRE(::write(fe.kick[1], &one, sizeof one) == sizeof one);
  pump(s);

  // TX: the chain is used with its whole length.
  CHECK(fe.at<uint16_t>(kTxUsed + 2) == 1);
  CHECK(fe.at<uint32_t>(kTxUsed + 4) == 0);
  CHECK(fe.at<uint32_t>(kTxUsed + 8) == kHdr + req.size());
  // RX: one buffer used, header + the 98-byte reply.
  CHECK(fe.at<uint16_t>(kRxUsed + 2) == 1);
  CHECK(fe.at<uint32_t>(kRxUsed + 4) == 0);
  CHECK(fe.at<uint32_t>(kRxUsed + 8) == kHdr + req.size());
  CHECK(fe.at<uint16_t>(kRxBuf + 10) == 1);  // num_buffers
  const uint8_t* r = fe.ram + kRxBuf + kHdr;
  CHECK(std::memcmp(r, kGuestMac, 6) == 0);
  CHECK(std::memcmp(r + 6, Responder::kDefaultMac.data(), 6) == 0);
  const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
  CHECK(std::memcmp(r + 14 + 12, src, 4) == 0);
  CHECK(std::memcmp(r + 14 + 16, dst, 4) == 0);
  CHECK(r[14 + 8] == 64);
  CHECK(r[34] == 0);  // echo reply
  CHECK(viona::inet_checksum(r + 14, 20) == 0);
  CHECK(viona::inet_checksum(r + 34, 64) == 0);
  CHECK(std::memcmp(r + 34 + 4, req.data() + 34 + 4, 60) == 0);  // id, seq and data kept
  // Each ring interrupted once through its call eventfd.
  CHECK(fe.drain(fe.call[0]) == 1);
  CHECK(fe.drain(fe.call[1]) == 1);
  CHECK(s.stats().kicks[1] == 2);  // the start kick and the guest's
  CHECK(s.stats().calls[0] == 1);
  CHECK(s.stats().rx_frames == 1);
  CHECK(resp.stats().echo_replies == 1);

  // GET_VRING_BASE stops the ring and answers its next avail index.
  fe.send(VhostUserRequest::GET_VRING_BASE, bytes_of(vstate(1, 0)));
  pump(s);
  VhostUserHeader h{};
  std::vector<uint8_t> p;
  REQUIRE(fe.recv_reply(&h, &p));
  CHECK(h.request == static_cast<uint32_t>(VhostUserRequest::GET_VRING_BASE));
  REQUIRE(p.size() == 8);
  VhostVringState st;
  std::memcpy(&st, p.data(), 8);
  CHECK(st.index == 1);
  CHECK(st.num == 1);
  s.device()->with_link([](viona::Link* l) {
    CHECK(l->ring(1).state == viona::VrState::VRS_INIT);
    CHECK(l->vls_tx.vts_packets == 1);
    CHECK(l->vls_tx.vts_bytes == 98);
    return 0;
  });
  ::shutdown(fe.sock, SHUT_WR);
  CHECK(s.poll_once(50) == VhostServeKind::closed);
}

TEST_CASE("vhost-user: the mirror holds what the guest wrote before the device reads it") {
  FrontEnd fe;
  Responder resp;
  VhostUserServer s(&resp, quiet());
  s.set_mirror(true);
  std::vector<std::pair<uint64_t, size_t>> writes;
  s.set_ready_hook([&writes](Device&, viona::GuestMemory* mirror) {
    REQUIRE(mirror != nullptr);
    mirror->set_write_observer([&writes](uint64_t g, const uint8_t*, size_t n) { writes.emplace_back(g, n); });
  });
  s.attach(fe.server_end);
  bring_up(fe, s);
  writes.clear();
  const std::vector<uint8_t> req = echo_request(8);
  std::memcpy(fe.ram + kTxBuf, req.data(), 0);  // header stays zero
  std::memcpy(fe.ram + kTxBuf + kHdr, req.data(), req.size());
  fe.put(kTxDesc, viona::VringDesc{kTxBuf, static_cast<uint32_t>(kHdr + req.size()), 0, 0});
  fe.put<uint16_t>(kTxAvail + 2, 1);
  const uint64_t one = 1;
  REQUIRE(::write(fe.kick[1], &one, sizeof one) == sizeof one);
  pump(s);
  // The descriptor's changed bytes (addr byte 2 .. len byte 8: gaps under 8 bytes
  // are one run), avail.idx's low byte, then the buffer whole.
  REQUIRE(writes.size() == 3);
  CHECK(writes[0] == std::make_pair(kTxDesc + 2, size_t{7}));
  CHECK(writes[1] == std::make_pair(kTxAvail + 2, size_t{1}));
  CHECK(writes[2] == std::make_pair(kTxBuf, size_t{kHdr + req.size()}));
  uint8_t b[64];
  REQUIRE(s.mirror()->read(kTxBuf + kHdr, b, req.size()));
  CHECK(std::memcmp(b, req.data(), req.size()) == 0);
  CHECK(s.stats().mirror_races == 0);
  // No RX buffers: the reply is dropped by the port (no chain available).
  s.device()->with_link([](viona::Link* l) {
    CHECK(l->ring(0).vts.vts_drops == 1);
    return 0;
  });
}

TEST_CASE("vhost-user: malformed requests are rejected cleanly") {
  SUBCASE("short header: the stream is dropped") {
    FrontEnd fe;
    Responder resp;
    VhostUserServer s(&resp, quiet());
    s.attach(fe.server_end);
    const uint8_t half[6] = {1, 0, 0, 0, 1, 0};
    REQUIRE(::send(fe.sock, half, sizeof half, 0) == 6);
    ::shutdown(fe.sock, SHUT_WR);
    CHECK(s.poll_once(50) == VhostServeKind::error);
    CHECK(s.stats().rejected == 1);
    CHECK(s.stats().messages == 0);
    CHECK(s.poll_once(0) == VhostServeKind::closed);
  }
  SUBCASE("payload larger than any request: the stream is dropped") {
    FrontEnd fe;
    Responder resp;
    VhostUserServer s(&resp, quiet());
    s.attach(fe.server_end);
    fe.send(static_cast<uint32_t>(VhostUserRequest::SET_FEATURES), VHOST_USER_VERSION, {}, {}, 100000);
    CHECK(s.poll_once(50) == VhostServeKind::error);
    CHECK(s.stats().rejected == 1);
  }
  SUBCASE("bad size, unknown request, missing fd, bad version: rejected, connection kept") {
    FrontEnd fe;
    Responder resp;
    VhostUserServer s(&resp, quiet());
    s.attach(fe.server_end);
    fe.send(VhostUserRequest::SET_PROTOCOL_FEATURES, bytes_of<uint64_t>(VHOST_USER_PROTOCOL_F_REPLY_ACK));
    pump(s);
    CHECK(s.stats().messages == 1);
    // SET_FEATURES with 4 bytes: nack (REPLY_ACK), features untouched.
    fe.send(VhostUserRequest::SET_FEATURES, {0x02, 0x80, 0, 0}, {}, VHOST_USER_NEED_REPLY);
    pump(s);
    CHECK(fe.reply_u64() == 1);
    CHECK(s.features_acked() == 0);
    CHECK(s.stats().rejected == 1);
    // Features never offered.
    fe.send(VhostUserRequest::SET_FEATURES, bytes_of<uint64_t>(1ull << 63));
    pump(s);
    CHECK(s.stats().rejected == 2);
    // Unknown request 99.
    fe.send(99, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY, bytes_of<uint64_t>(0));
    pump(s);
    CHECK(fe.reply_u64() == 1);
    CHECK(s.stats().rejected == 3);
    // SET_VRING_KICK without its fd (and without the no-fd flag).
    fe.send(VhostUserRequest::SET_VRING_KICK, bytes_of<uint64_t>(1));
    pump(s);
    CHECK(s.stats().rejected == 4);
    // A ring that does not exist.
    fe.send(VhostUserRequest::SET_VRING_NUM, bytes_of(vstate(2, 256)));
    pump(s);
    CHECK(s.stats().rejected == 5);
    // A memory table whose fd is missing: no device.
    std::vector<uint8_t> mt = bytes_of(VhostMemoryHeader{1, 0});
    const std::vector<uint8_t> reg = bytes_of(VhostMemoryRegion{0, kMemSize, kUva, 0});
    mt.insert(mt.end(), reg.begin(), reg.end());
    fe.send(VhostUserRequest::SET_MEM_TABLE, mt);
    pump(s);
    CHECK(s.stats().rejected == 6);
    CHECK(s.device() == nullptr);
    // A memory table whose size disagrees with nregions.
    std::vector<uint8_t> mt2 = bytes_of(VhostMemoryHeader{2, 0});
    mt2.insert(mt2.end(), reg.begin(), reg.end());
    fe.send(VhostUserRequest::SET_MEM_TABLE, mt2, {fe.memfd});
    pump(s);
    CHECK(s.stats().rejected == 7);
    CHECK(s.device() == nullptr);
    // Version 2 in the flags.
    fe.send(static_cast<uint32_t>(VhostUserRequest::GET_FEATURES), 0x2, {});
    pump(s);
    CHECK(s.stats().rejected == 8);
    CHECK(fe.no_reply());
    // The connection still works.
    fe.send(VhostUserRequest::GET_QUEUE_NUM, {});
    pump(s);
    CHECK(fe.reply_u64() == 1);
    CHECK(s.stats().messages == 2);
  }
}

TEST_CASE("responder: ARP for its address is answered, other frames are not") {
  Responder r;
  std::vector<uint8_t> arp(42, 0);
  std::memset(arp.data(), 0xff, 6);
  std::memcpy(arp.data() + 6, kGuestMac, 6);
  arp[12] = 0x08;
  arp[13] = 0x06;
  const uint8_t body[8] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::memcpy(arp.data() + 14, body, 8);
  std::memcpy(arp.data() + 22, kGuestMac, 6);
  const uint8_t sip[4] = {10, 0, 0, 2}, tip[4] = {10, 0, 0, 1};
  std::memcpy(arp.data() + 28, sip, 4);
  std::memcpy(arp.data() + 38, tip, 4);
  const std::vector<uint8_t> a = r.answer(arp.data(), arp.size());
  REQUIRE(a.size() == 42);
  CHECK(std::memcmp(a.data(), kGuestMac, 6) == 0);
  CHECK(a[21] == 2);  // op reply
  CHECK(std::memcmp(a.data() + 22, Responder::kDefaultMac.data(), 6) == 0);
  CHECK(std::memcmp(a.data() + 28, tip, 4) == 0);
  CHECK(std::memcmp(a.data() + 32, kGuestMac, 6) == 0);
  CHECK(std::memcmp(a.data() + 38, sip, 4) == 0);
  CHECK(r.stats().arp_replies == 1);
  // For another address: nothing.
  arp[41] = 9;
  CHECK(r.answer(arp.data(), arp.size()).empty());
  // An echo request to another host: nothing; truncated: nothing.
  std::vector<uint8_t> e = echo_request(4);
  e[14 + 19] = 7;
  CHECK(r.answer(e.data(), e.size()).empty());
  CHECK(r.answer(e.data(), 20).empty());
  CHECK(r.stats().echo_replies == 0);
}

TEST_CASE("GuestMemory: a host-backed region translates page by page into the caller's memory") {
  std::vector<uint8_t> host(4 * viona::kPageSize, 0);
  viona::GuestMemory mem(viona::MemoryMode::paged);
  CHECK_FALSE(mem.add_host_region(0x10000, viona::kPageSize, nullptr));
  CHECK_FALSE(mem.add_host_region(0x10001, viona::kPageSize, host.data()));
  REQUIRE(mem.add_host_region(0x10000, 4 * viona::kPageSize, host.data()));
  CHECK_FALSE(mem.add_region(0x12000, viona::kPageSize));  // overlaps
  REQUIRE(mem.regions().size() == 1);
  // Holds give pointers into the caller's memory at the page's offset.
  uint8_t* p = mem.hold_page(0x12345, true);
  CHECK(p == host.data() + 2 * viona::kPageSize);
  mem.release_page(0x12345);
  // Driver-side writes land there too, across a page boundary.
  const uint8_t b[4] = {1, 2, 3, 4};
  REQUIRE(mem.write(0x10ffe, b, 4));
  CHECK(host[0xffe] == 1);
  CHECK(host[0x1001] == 4);
  host[0x3000] = 0x5a;
  uint8_t out = 0;
  REQUIRE(mem.read(0x13000, &out, 1));
  CHECK(out == 0x5a);
  CHECK_FALSE(mem.read(0x14000, &out, 1));
  // Contiguous mode: one range over the caller's memory.
  viona::GuestMemory flat(viona::MemoryMode::contiguous);
  REQUIRE(flat.add_host_region(0, 4 * viona::kPageSize, host.data()));
  CHECK(flat.hold_range(0x1000, 0x2000, false) == host.data() + 0x1000);
  flat.release_page(0x1000);
}
