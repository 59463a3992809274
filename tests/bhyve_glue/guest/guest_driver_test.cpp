// SPDX-License-Identifier: MIT
// guest_driver_test.cpp: the guest's RX expectations: strict order, lossy mode (frames the device dropped), settling, padding.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bhyve_glue/backend/loopback.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/vm.h"

using namespace bhyve_glue;

namespace {

// A linux-mrg guest behind a stepping device; frames are handed to the
// device directly, as record_session does.
struct Rig {
  Registry reg;
  LoopbackWire wire;
  Vm vm{&reg, DeviceModeKind::stepping};
  Rig() {
    reg.add_link("lo0", &wire.a());
    GuestProfile p;
    std::string err;
    REQUIRE_MESSAGE(guest_profile_from_name("linux-mrg", &p, &err), err);
    REQUIRE_MESSAGE(vm.boot("lo0", p, "", &err), err);
    REQUIRE_MESSAGE(vm.start_capture_guest(0, &err), err);
  }
  GuestDriver& guest() { return *vm.guest; }
  // Delivers |frames| as one batch and lets the guest take its interrupt.
  viona::RxBatchResult deliver(const std::vector<const std::vector<uint8_t>*>& frames) {
    std::vector<viona::RxFrame> b;
    for (const auto* f : frames) {
      viona::RxFrame rf;
      rf.data = f->data();
      rf.len = static_cast<uint32_t>(f->size());
      b.push_back(rf);
    }
    viona::RxBatchResult r = vm.dev.deliver_rx(b.data(), b.size());
    vm.pci.poll_interrupts();
    guest().service();
    return r;
  }
};

// An Ethernet frame of |len| bytes whose bytes after the header are |tag|.
std::vector<uint8_t> frame(size_t len, uint8_t tag) {
  std::vector<uint8_t> f(len, tag);
  const uint8_t head[14] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
  std::memcpy(f.data(), head, sizeof head);
  return f;
}

}  // namespace

TEST_CASE("strict expectations (the default): a frame missing from the stream is a mismatch") {
  Rig r;
  const auto a = frame(100, 0xa1), b = frame(200, 0xb2), c = frame(300, 0xc3);
  for (const auto* f : {&a, &b, &c}) r.guest().expect(f->data(), f->size());
  REQUIRE(r.deliver({&a, &c}).accepted == 2);
  const GuestStats& s = r.guest().stats();
  CHECK(s.rx_frames == 2);
  CHECK(s.rx_verified == 1);
  CHECK(s.rx_mismatch == 1);
  CHECK(s.rx_not_received == 0);
  CHECK_FALSE(s.ok());
  CHECK(s.first_mismatch == "frame 1: 300 bytes, expected 200, first difference at byte 14");
  CHECK(r.guest().expected_pending() == 1);  // c, compared against nothing yet
}

TEST_CASE("lossy expectations: frames skipped over are not received, the rest verified") {
  Rig r;
  r.guest().set_lossy_expect(8);
  const auto a = frame(100, 0xa1), b = frame(200, 0xb2), c = frame(300, 0xc3), d = frame(400, 0xd4);
  for (const auto* f : {&a, &b, &c, &d}) r.guest().expect_view(f->data(), f->size());
  REQUIRE(r.deliver({&a, &d}).accepted == 2);
  const GuestStats& s = r.guest().stats();
  CHECK(s.rx_frames == 2);
  CHECK(s.rx_verified == 2);
  CHECK(s.rx_not_received == 2);
  CHECK(s.rx_mismatch == 0);
  CHECK(s.ok());
  CHECK(s.first_mismatch.empty());
  CHECK(r.guest().expected_pending() == 0);
}

TEST_CASE("lossy expectations: an altered frame matches none and is a mismatch; only the first is described") {
  Rig r;
  r.guest().set_lossy_expect(8);
  const auto a = frame(100, 0xa1), b = frame(200, 0xb2), c = frame(300, 0xc3);
  for (const auto* f : {&a, &b, &c}) r.guest().expect(f->data(), f->size());
  auto b2 = b;
  b2[150] ^= 0x01;
  auto c2 = c;
  c2[20] ^= 0x80;
  REQUIRE(r.deliver({&a, &b2, &c2}).accepted == 3);
  const GuestStats& s = r.guest().stats();
  CHECK(s.rx_frames == 3);
  CHECK(s.rx_verified == 1);
  CHECK(s.rx_mismatch == 2);
  CHECK(s.rx_not_received == 0);
  CHECK_FALSE(s.ok());
  CHECK(s.first_mismatch == "frame 1: 200 bytes, expected 200, first difference at byte 150");
  CHECK(r.guest().expected_pending() == 0);  // each mismatch consumed the front
}

TEST_CASE("lossy expectations: a match beyond the window is a mismatch") {
  Rig r;
  r.guest().set_lossy_expect(1);
  const auto a = frame(100, 0xa1), b = frame(200, 0xb2), c = frame(300, 0xc3);
  for (const auto* f : {&a, &b, &c}) r.guest().expect(f->data(), f->size());
  REQUIRE(r.deliver({&c}).accepted == 1);  // c is two ahead; the window looks one ahead
  const GuestStats& s = r.guest().stats();
  CHECK(s.rx_verified == 0);
  CHECK(s.rx_mismatch == 1);
  CHECK(s.rx_not_received == 0);
  CHECK(r.guest().expected_pending() == 2);
}

TEST_CASE("settle_expected: what is pending counts as not received and is forgotten") {
  Rig r;
  r.guest().set_lossy_expect(8);
  const auto a = frame(100, 0xa1), b = frame(200, 0xb2);
  r.guest().expect(a.data(), a.size());
  r.guest().expect(b.data(), b.size());
  CHECK(r.guest().settle_expected() == 2);
  CHECK(r.guest().expected_pending() == 0);
  CHECK(r.guest().stats().rx_not_received == 2);
  CHECK(r.guest().stats().ok());
  CHECK(r.guest().settle_expected() == 0);
  CHECK(r.guest().stats().rx_not_received == 2);
  // Nothing expected any more: a frame now is unexpected.
  REQUIRE(r.deliver({&a}).accepted == 1);
  CHECK(r.guest().stats().rx_unexpected == 1);
  CHECK(r.guest().stats().first_mismatch == "frame 0 (100 bytes) received with nothing expected");
  CHECK_FALSE(r.guest().stats().ok());
}

TEST_CASE("a short frame is expected padded to 60 bytes; unpadded with set_expect_padding(false)") {
  Rig r;
  r.guest().set_lossy_expect(8);
  const auto s42 = frame(42, 0x42);
  r.guest().expect_view(s42.data(), s42.size());
  REQUIRE(r.deliver({&s42}).accepted == 1);
  CHECK(r.guest().stats().rx_verified == 1);
  // The device pads (no pre-OS-6815 quirk), so an unpadded expectation fails.
  r.guest().set_expect_padding(false);
  r.guest().expect_view(s42.data(), s42.size());
  REQUIRE(r.deliver({&s42}).accepted == 1);
  CHECK(r.guest().stats().rx_verified == 1);
  CHECK(r.guest().stats().rx_mismatch == 1);
  CHECK(r.guest().stats().first_mismatch == "frame 1: 60 bytes, expected 42, first difference at byte 42");
}
