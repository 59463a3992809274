// SPDX-License-Identifier: MIT
// live_backend_test.cpp: guests over a veth pair and a TAP device, inside a namespace of their own (Linux, root).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef __linux__
#include <sched.h>
#endif

#include "bhyve_glue/backend/live_backend.h"
#include "bhyve_glue/backend/tap_backend.h"
#include "tests/bhyve_glue/machine.h"

using namespace bhyve_glue;
using bhyve_glue::test::Machine;

#ifdef __linux__
namespace {

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// A network namespace that exists for the life of the object; names are
// unique per process so parallel runs do not collide.
struct Netns {
  std::string name = "vglue" + std::to_string(getpid());
  bool ok = false;
  Netns() { ok = sh("ip netns add " + name) == 0; }
  ~Netns() {
    if (ok) sh("ip netns del " + name);
  }
  // Runs |f| with this thread inside the namespace (sockets opened there stay there).
  template <typename F>
  bool inside(F f) {
    int orig = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    bool entered = orig >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (entered) f();
    if (entered) REQUIRE(setns(orig, CLONE_NEWNET) == 0);
    if (fd >= 0) ::close(fd);
    if (orig >= 0) ::close(orig);
    return entered;
  }
};

bool can_run(const char** why) {
  if (getuid() != 0) {
    *why = "not running as root";
    return false;
  }
  if (sh("command -v ip") != 0) {
    *why = "no ip(8)";
    return false;
  }
  return true;
}

std::vector<uint8_t> test_frame(const uint8_t* dst, const uint8_t* src, size_t len, uint8_t seq) {
  std::vector<uint8_t> f(len);
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (size_t k = 14; k < len; k++) f[k] = static_cast<uint8_t>(seq + k);
  return f;
}

}  // namespace

TEST_CASE("live backend: two guests over a veth pair in a private network namespace") {
  const char* why = nullptr;
  if (!can_run(&why)) {
    MESSAGE("live test skipped: " << why);
    return;
  }
  Netns ns;
  REQUIRE(ns.ok);
  const std::string n = "-n " + ns.name + " ";
  REQUIRE(sh("ip netns exec " + ns.name + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1") == 0);
  REQUIRE(sh("ip " + n + "link add vga type veth peer name vgb") == 0);
  REQUIRE(sh("ip " + n + "link set vga up") == 0);
  REQUIRE(sh("ip " + n + "link set vgb up") == 0);
  std::unique_ptr<LiveBackend> la, lb;
  std::string err;
  REQUIRE(ns.inside([&] {
    la = LiveBackend::open("vga", "ether proto 0x88b5", &err);
    lb = LiveBackend::open("vgb", "ether proto 0x88b5", &err);
  }));
  REQUIRE_MESSAGE(la, err);
  REQUIRE_MESSAGE(lb, err);
  Registry reg;
  reg.add_link("vga", la.get());
  reg.add_link("vgb", lb.get());
  GuestProfile p;
  REQUIRE(guest_profile_from_name("linux-mrg", &p, &err));
  Machine a(&reg, "vga", p, DeviceModeKind::stepping), b(&reg, "vgb", p, DeviceModeKind::stepping);
  REQUIRE(a.ok);
  REQUIRE(b.ok);
  REQUIRE_MESSAGE(a.guest->probe(&err), err);
  REQUIRE_MESSAGE(b.guest->probe(&err), err);
  for (uint8_t i = 0; i < 10; i++) {
    auto f = test_frame(b.guest->mac(), a.guest->mac(), 60 + 140u * i, i);
    b.guest->expect(f.data(), f.size());
    REQUIRE(a.guest->send(f.data(), f.size()));
    a.step();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (b.guest->stats().rx_frames < i + 1u && std::chrono::steady_clock::now() < deadline) {
      if (b.dev.step_rx(4).pulled == 0) {
        usleep(2000);
      }
      b.step();
    }
  }
  const GuestStats& s = b.guest->stats();
  CHECK_MESSAGE(s.ok(), s.first_mismatch);
  CHECK(s.rx_verified == 10);
  CHECK(a.guest->stats().tx_completed == 10);
  CHECK(la->inject_errors() == 0);
}

TEST_CASE("tap backend: guest TX written to a TAP device arrives on its interface") {
  const char* why = nullptr;
  if (!can_run(&why) || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    MESSAGE("tap test skipped: " << (why ? why : "no /dev/net/tun"));
    return;
  }
  Netns ns;
  REQUIRE(ns.ok);
  std::unique_ptr<TapBackend> tap;
  std::unique_ptr<LiveBackend> cap;
  std::string err;
  REQUIRE(ns.inside([&] {
    tap = TapBackend::open("vgtap0", &err);
    if (tap) {
      sh("ip link set vgtap0 up");
      cap = LiveBackend::open("vgtap0", "ether proto 0x88b5", &err);
    }
  }));
  REQUIRE_MESSAGE(tap, err);
  REQUIRE_MESSAGE(cap, err);
  CHECK(tap->name() == "vgtap0");
  Registry reg;
  reg.add_link("tap0", tap.get());
  GuestProfile p;
  REQUIRE(guest_profile_from_name("linux-small", &p, &err));
  Machine m(&reg, "tap0", p, DeviceModeKind::stepping);
  REQUIRE(m.ok);
  REQUIRE_MESSAGE(m.guest->probe(&err), err);
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto f = test_frame(bcast, m.guest->mac(), 300, 9);
  REQUIRE(m.guest->send(f.data(), f.size()));
  m.step();
  CHECK(tap->write_errors() == 0);
  std::vector<BackendFrame> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (got.empty() && std::chrono::steady_clock::now() < deadline) cap->rx_pull(&got, 4, 50);
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == f);
}
#endif  // __linux__
