// SPDX-License-Identifier: MIT
// device_test.cpp: the VNA_IOC_* surface: dispatch order, errnos, params, features, observer.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "bhyve_glue/backend/loopback.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/param_text.h"

using namespace bhyve_glue;

namespace {

struct Node {
  viona::GuestMemory mem;
  Registry reg;
  LoopbackWire wire;
  Device dev{&reg, DeviceModeKind::stepping};
  int vmfd;
  uint32_t linkid;
  Node() {
    CHECK(mem.add_region(0x100000, 1 << 20));
    vmfd = reg.add_vm(&mem);
    linkid = reg.add_link("lo0", &wire.a());
  }
  int create() {
    vioc_create_t c{linkid, vmfd};
    return dev.ioctl(VNA_IOC_CREATE, reinterpret_cast<intptr_t>(&c));
  }
};

intptr_t ptr(void* p) { return reinterpret_cast<intptr_t>(p); }

}  // namespace

// interface_version.c: the one test that pins the number.
TEST_CASE("VNA_IOC_VERSION is VIONA_CURRENT_INTERFACE_VERSION 6, with or without a link") {
  static_assert(VIONA_CURRENT_INTERFACE_VERSION == 6, "interface version bumped: update the glue deliberately");
  Node n;
  CHECK(n.dev.ioctl(VNA_IOC_VERSION, 0) == 6);
  REQUIRE(n.create() == 0);
  CHECK(n.dev.ioctl(VNA_IOC_VERSION, 0) == 6);
}

TEST_CASE("command numbers follow VNA_IOC = ('V'<<16)|('C'<<8)") {
  CHECK(VNA_IOC_CREATE == 0x564301);
  CHECK(VNA_IOC_DEFAULT_PARAMS == 0x564304);
  CHECK(VNA_IOC_RING_INIT == 0x564310);
  CHECK(VNA_IOC_RING_INIT_MODERN == 0x564318);
  CHECK(VNA_IOC_INTR_POLL == 0x564320);
  CHECK(VNA_IOC_INTR_POLL_MQ == 0x56432a);
  CHECK(VNA_IOC_SET_USEPAIRS == 0x564333);
  CHECK(std::string(vna_ioc_name(VNA_IOC_RING_KICK)) == "VNA_IOC_RING_KICK");
  CHECK(vna_ioc_name(0x5643ff) == nullptr);
}

// viona_ioctl: link commands before CREATE fail with ENXIO, including unknown ones.
TEST_CASE("link commands without a link: ENXIO") {
  Node n;
  uint64_t f = 0;
  CHECK(n.dev.ioctl(VNA_IOC_GET_FEATURES, ptr(&f)) == -ENXIO);
  CHECK(n.dev.ioctl(VNA_IOC_RING_KICK, 0) == -ENXIO);
  CHECK(n.dev.ioctl(VNA_IOC_GET_MTU, 0) == -ENXIO);
  CHECK(n.dev.ioctl(0x5643ff, 0) == -ENXIO);
  CHECK(n.dev.ioctl(VNA_IOC_DELETE, 0) == 0);  // deleting nothing succeeds
}

TEST_CASE("unknown command with a link: ENOTTY") {
  Node n;
  REQUIRE(n.create() == 0);
  CHECK(n.dev.ioctl(0x5643ff, 0) == -ENOTTY);
  CHECK(n.dev.ioctl(0x12345678, 0) == -ENOTTY);
}

TEST_CASE("VNA_IOC_CREATE: EFAULT, EBADF, ENOENT, EEXIST; DELETE then CREATE again") {
  Node n;
  CHECK(n.dev.ioctl(VNA_IOC_CREATE, 0) == -EFAULT);
  vioc_create_t bad_vm{n.linkid, 99};
  CHECK(n.dev.ioctl(VNA_IOC_CREATE, ptr(&bad_vm)) == -EBADF);
  vioc_create_t bad_link{77, n.vmfd};
  CHECK(n.dev.ioctl(VNA_IOC_CREATE, ptr(&bad_link)) == -ENOENT);
  CHECK(n.create() == 0);
  CHECK(n.create() == -EEXIST);
  CHECK(n.dev.ioctl(VNA_IOC_DELETE, 0) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_MTU, 0) == -ENXIO);
  CHECK(n.create() == 0);
  // The link's unicast address is the registry's for that link id.
  n.dev.with_link([](viona::Link* l) {
    CHECK(l->mac == std::array<uint8_t, 6>{{0x02, 0x08, 0x20, 0x00, 0x00, 0x01}});
    return 0;
  });
}

TEST_CASE("ring commands: EINVAL, EBUSY, EFAULT") {
  Node n;
  REQUIRE(n.create() == 0);
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, 0) == -EFAULT);
  vioc_ring_init_t ri{0, 48, 0, 0x100000};  // not a power of two
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, ptr(&ri)) == -EINVAL);
  ri.ri_qsize = 16;
  ri.ri_qaddr = 0x100800;  // legacy base must be page aligned
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, ptr(&ri)) == -EINVAL);
  ri.ri_qaddr = 0x100000;
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, ptr(&ri)) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, ptr(&ri)) == -EBUSY);  // not in RESET
  CHECK(n.dev.ioctl(VNA_IOC_RING_KICK, 1) == -EBUSY);         // TX ring still RESET
  CHECK(n.dev.ioctl(VNA_IOC_RING_KICK, 2) == -EINVAL);        // one pair: rings 0, 1
  CHECK(n.dev.ioctl(VNA_IOC_RING_KICK, 65536) == -EINVAL);    // not truncated to ring 0
  CHECK(n.dev.ioctl(VNA_IOC_RING_KICK, -1) == -EINVAL);
  vioc_ring_state_t st{};
  st.vrs_index = 0;
  CHECK(n.dev.ioctl(VNA_IOC_RING_GET_STATE, ptr(&st)) == 0);
  CHECK(st.vrs_qsize == 16);
  CHECK(st.vrs_qaddr_desc == 0x100000);
  CHECK(st.vrs_qaddr_avail == 0x100000 + 16 * 16);
  CHECK(st.vrs_qaddr_used == 0x101000);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PAIRS, 2) == -EBUSY);  // a ring is not RESET
  CHECK(n.dev.ioctl(VNA_IOC_RING_RESET, 0) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_RING_RESET, 0) == 0);  // already RESET
  vioc_ring_msi_t m{5, {0, 0, 0}, 0xfee00000, 0x41};
  CHECK(n.dev.ioctl(VNA_IOC_RING_SET_MSI, ptr(&m)) == -EINVAL);
}

TEST_CASE("value commands: MTU, promisc, notify port, pairs") {
  Node n;
  REQUIRE(n.create() == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_MTU, 0) == 1500);
  CHECK(n.dev.ioctl(VNA_IOC_SET_MTU, 67) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_MTU, 65536) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_MTU, 68) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_SET_MTU, 9000) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_MTU, 0) == 9000);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PROMISC, 3) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PROMISC, -1) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PROMISC, VIONA_PROMISC_ALL) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_SET_NOTIFY_IOP, 65536) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_NOTIFY_IOP, 0xc010) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_PAIRS, 0) == 1);
  CHECK(n.dev.ioctl(VNA_IOC_GET_USEPAIRS, 0) == 1);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PAIRS, 0) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PAIRS, 257) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_PAIRS, 65537) == -EINVAL);
  CHECK(n.dev.ioctl(VNA_IOC_SET_USEPAIRS, 2) == -EINVAL);  // only one pair allocated
  CHECK(n.dev.ioctl(VNA_IOC_SET_PAIRS, 4) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_PAIRS, 0) == 4);
  CHECK(n.dev.ioctl(VNA_IOC_SET_USEPAIRS, 4) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_GET_USEPAIRS, 0) == 4);
  CHECK(n.dev.ioctl(VNA_IOC_SET_USEPAIRS, 0) == -EINVAL);
  vioc_intr_poll_mq_t mq{};
  mq.vipm_nrings = 0;
  CHECK(n.dev.ioctl(VNA_IOC_INTR_POLL_MQ, ptr(&mq)) == -EINVAL);
  mq.vipm_nrings = 9;  // 2 * usepairs = 8
  CHECK(n.dev.ioctl(VNA_IOC_INTR_POLL_MQ, ptr(&mq)) == -EINVAL);
  mq.vipm_nrings = 8;
  CHECK(n.dev.ioctl(VNA_IOC_INTR_POLL_MQ, ptr(&mq)) == 0);
  CHECK(mq.vipm_status[0] == 0);
  vioc_notify_mmio_t nm{0xfebf0000, 0, 0};
  CHECK(n.dev.ioctl(VNA_IOC_SET_NOTIFY_MMIO, ptr(&nm)) == -EINVAL);
  nm.vim_size = 0x1000;
  CHECK(n.dev.ioctl(VNA_IOC_SET_NOTIFY_MMIO, ptr(&nm)) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_SET_NOTIFY_MMIO, 0) == 0);  // unhook
}

// viona_ioc_{get,set}_features: offered = caps | hw; SET masks and drops orphans.
TEST_CASE("features: GET is features_offered, SET masks to it") {
  Node n;
  REQUIRE(n.create() == 0);
  uint64_t f = 0;
  CHECK(n.dev.ioctl(VNA_IOC_GET_FEATURES, ptr(&f)) == 0);
  CHECK(f == viona::kViona_S_HostCaps);  // the loopback declares no offloads
  uint64_t want = viona::VIRTIO_NET_F_MRG_RXBUF | viona::VIRTIO_NET_F_GUEST_TSO4 | viona::VIRTIO_NET_F_CSUM |
                  viona::VIRTIO_F_RING_EVENT_IDX;
  CHECK(n.dev.ioctl(VNA_IOC_SET_FEATURES, ptr(&want)) == 0);
  n.dev.with_link([](viona::Link* l) {
    // GUEST_TSO4 dropped without GUEST_CSUM; CSUM and EVENT_IDX never offered here.
    CHECK(l->features() == viona::VIRTIO_NET_F_MRG_RXBUF);
    return 0;
  });
  CHECK(n.dev.ioctl(VNA_IOC_SET_FEATURES, 0) == -EFAULT);
}

TEST_CASE("params: DEFAULT_PARAMS before CREATE, GET, E2BIG with the size reported") {
  Node n;
  char buf[128];
  vioc_get_params_t gp{buf, sizeof(buf)};
  CHECK(n.dev.ioctl(VNA_IOC_DEFAULT_PARAMS, ptr(&gp)) == 0);
  const std::string want = "tx_copy_data=boolean:true\ntx_header_pad=uint16:0\n";
  CHECK(gp.vgp_param_sz == want.size());
  CHECK(std::string(buf, gp.vgp_param_sz) == want);
  CHECK(n.dev.ioctl(VNA_IOC_GET_PARAMS, ptr(&gp)) == -ENXIO);
  REQUIRE(n.create() == 0);
  vioc_get_params_t small{buf, 10};
  CHECK(n.dev.ioctl(VNA_IOC_GET_PARAMS, ptr(&small)) == -E2BIG);
  CHECK(small.vgp_param_sz == want.size());
}

// link_params.c: flipped values succeed; 4097 bytes, junk and three bad keys fail.
TEST_CASE("params: SET rules and the per-key error list") {
  Node n;
  REQUIRE(n.create() == 0);
  char err[256];
  std::string good = "tx_copy_data=boolean:false\ntx_header_pad=uint16:32\n";
  vioc_set_params_t sp{&good[0], good.size(), err, sizeof(err)};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&sp)) == 0);
  CHECK(sp.vsp_error_sz == 0);
  n.dev.with_link([](viona::Link* l) {
    CHECK(l->params.tx_copy_data == false);
    CHECK(l->params.tx_header_pad == 32);
    return 0;
  });

  std::string big(4097, 'x');
  vioc_set_params_t sbig{&big[0], big.size(), err, sizeof(err)};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&sbig)) == -E2BIG);
  vioc_set_params_t szero{&good[0], 0, err, sizeof(err)};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&szero)) == -EINVAL);
  std::string junk = "\x13\x37junk";
  vioc_set_params_t sjunk{&junk[0], junk.size(), err, sizeof(err)};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&sjunk)) == -EINVAL);
  CHECK(sjunk.vsp_error_sz == 0);

  std::string bad = "tx_copy_data=uint32:1\ntx_header_pad=uint16:65535\nwiddly_scuds=boolean:true\n";
  vioc_set_params_t sbad{&bad[0], bad.size(), err, sizeof(err)};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&sbad)) == -EINVAL);
  const std::string want = "tx_copy_data=invalid type\ntx_header_pad=value out of range\nwiddly_scuds=unknown key\n";
  REQUIRE(sbad.vsp_error_sz == want.size());
  CHECK(std::string(err, sbad.vsp_error_sz) == want);
  n.dev.with_link([](viona::Link* l) {
    CHECK(l->params.tx_header_pad == 32);  // nothing applied
    return 0;
  });
  // An error list that does not fit is not copied out.
  vioc_set_params_t stiny{&bad[0], bad.size(), err, 8};
  CHECK(n.dev.ioctl(VNA_IOC_SET_PARAMS, ptr(&stiny)) == -EINVAL);
  CHECK(stiny.vsp_error_sz == 0);
  // The limit is inclusive.
  std::string pad257 = "tx_header_pad=uint16:257\n";
  viona::LinkParams out;
  std::string errs;
  CHECK(decode_params(pad257, viona::LinkParams{}, &out, &errs) == ParamDecodeKind::rejected);
  CHECK(decode_params("tx_header_pad=uint16:256\n", viona::LinkParams{}, &out, &errs) == ParamDecodeKind::ok);
  CHECK(out.tx_header_pad == 256);
  CHECK(decode_params("tx_copy_data=boolean:true", viona::LinkParams{}, &out, &errs) ==
        ParamDecodeKind::unpackable);  // no final newline
  CHECK(decode_params("a=uint8:1\na=uint8:1\n", viona::LinkParams{}, &out, &errs) == ParamDecodeKind::unpackable);
}

namespace {
struct LogObserver : DeviceObserver {
  std::vector<IoctlRecord> recs;
  void on_ioctl(const IoctlRecord& r) override { recs.push_back(r); }
};
}  // namespace

TEST_CASE("observer: every ioctl with decoded arguments and its result, replayable") {
  Node n;
  LogObserver obs;
  n.dev.set_observer(&obs);
  REQUIRE(n.create() == 0);
  vioc_ring_init_t ri{1, 32, 0, 0x100000};
  CHECK(n.dev.ioctl(VNA_IOC_RING_INIT, ptr(&ri)) == 0);
  CHECK(n.dev.ioctl(VNA_IOC_SET_MTU, 20) == -EINVAL);
  REQUIRE(obs.recs.size() == 3);
  CHECK(obs.recs[0].cmd == VNA_IOC_CREATE);
  CHECK(obs.recs[0].in == std::vector<uint64_t>{n.linkid, static_cast<uint64_t>(n.vmfd)});
  CHECK(obs.recs[1].in == std::vector<uint64_t>{1, 32, 0x100000});
  CHECK(obs.recs[2].result == -EINVAL);
  // Re-driving the same records on a fresh node gives the same results.
  Node m;
  for (const IoctlRecord& r : obs.recs) CHECK(m.dev.ioctl_decoded(r) == r.result);
  vioc_ring_state_t st{};
  st.vrs_index = 1;
  CHECK(m.dev.ioctl(VNA_IOC_RING_GET_STATE, ptr(&st)) == 0);
  CHECK(st.vrs_qsize == 32);
}
