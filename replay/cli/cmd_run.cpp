// SPDX-License-Identifier: MIT
// cmd_run.cpp: viona-rr run: a capture file delivered into a simulated guest, counters printed.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bhyve_glue/backend/pcap_backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/pci/pci_device.h"
#include "bhyve_glue/vm.h"
#include "replay/cli/commands.h"
#include "viona/stats.h"

namespace viona_rr {

namespace {

struct RunOptions {
  std::string guest;
  std::string rx_pcap;
  std::string tx_pcap;
  std::string filter;
  uint32_t mtu = 0;        // 0: leave the link's default
  uint32_t ring_size = 0;  // 0: the profile's
  std::string memory = "paged";
  bool threads = false;
  bool json = false;
};

struct RingReport {
  uint16_t index;
  viona::RingStats rs;
  viona::TransferStats vts;
};

int fail_usage(const std::string& msg) {
  std::fprintf(stderr, "viona-rr run: %s\n", msg.c_str());
  return kExitUsage;
}

int run(const RunOptions& o) {
  using namespace bhyve_glue;
  GuestProfile profile;
  std::string err;
  if (!guest_profile_from_name(o.guest, &profile, &err)) return fail_usage(err);
  if (o.ring_size != 0) profile.ring_size = static_cast<uint16_t>(o.ring_size);
  PciOptions popts;
  if (!parse_pci_options("vnic=pcap0,vqsize=" + std::to_string(o.ring_size ? o.ring_size : profile.ring_size),
                         &popts, &err)) {
    return fail_usage("--ring-size: " + err);
  }
  viona::MemoryMode mode;
  if (!viona::memory_mode_from_name(o.memory.c_str(), &mode)) {
    return fail_usage("--memory " + o.memory + ": expected paged or contiguous");
  }
  if (o.mtu != 0 && (o.mtu < viona::VIONA_MIN_MTU || o.mtu > viona::VIONA_MAX_MTU)) {
    return fail_usage("--mtu " + std::to_string(o.mtu) + " out of range (68..65535)");
  }
  std::unique_ptr<PcapBackend> be = PcapBackend::open(o.rx_pcap, o.filter, o.tx_pcap, &err);
  if (!be) return fail_usage(err);

  Registry reg;
  reg.add_link("pcap0", be.get());
  Vm vm(&reg, o.threads ? DeviceModeKind::threaded : DeviceModeKind::stepping, mode);
  if (!vm.boot("pcap0", profile, "", &err)) return fail_usage(err);
  // A capture replay: every frame reaches the guest whatever its destination.
  if (!vm.start_capture_guest(o.mtu, &err)) return fail_usage(err);
  Device& dev = vm.dev;
  PciDevice& pci = vm.pci;
  GuestDriver& guest = *vm.guest;
  if (o.threads) pci.start_poll_thread();

  // The guest reflects every frame it receives, so TX runs too.
  std::vector<std::vector<uint8_t>> reflect;
  guest.set_rx_callback([&reflect](const std::vector<uint8_t>& f) { reflect.push_back(f); });
  uint64_t read = 0, accepted = 0, dropped = 0, tx_refused = 0;
  auto service = [&](int wait_ms) {
    if (!o.threads) pci.poll_interrupts();
    if (o.threads) guest.wait_interrupt(wait_ms);
    guest.service();
    for (const auto& f : reflect) {
      if (!guest.send(f.data(), f.size())) tx_refused++;
    }
    reflect.clear();
  };
  for (;;) {
    std::vector<BackendFrame> frames;
    if (be->rx_pull(&frames, 1, 0) == 0) break;
    read++;
    viona::RxFrame f;
    f.data = frames[0].data.data();
    f.len = static_cast<uint32_t>(frames[0].data.size());
    if (o.threads) {
      // The guest thread must know what to expect before the frame can land.
      const uint32_t mtu = static_cast<uint32_t>(dev.ioctl(VNA_IOC_GET_MTU, 0));
      if (f.len <= mtu + viona::kEtherHeaderLen) guest.expect(f.data, f.len);
    }
    viona::RxBatchResult r = dev.deliver_rx(&f, 1);
    accepted += r.accepted;
    dropped += r.dropped;
    if (!o.threads && r.accepted == 1) guest.expect(f.data, f.len);
    service(50);
  }
  // Let the last completions and interrupts land.
  for (int i = 0; i < 20 && (guest.expected_pending() != 0 || guest.stats().tx_completed < guest.stats().tx_posted);
       i++) {
    dev.quiesce();
    service(50);
    guest.poll();
  }
  dev.quiesce();
  guest.poll();
  if (!be->rx_error().empty()) return fail_usage(be->rx_error());

  std::vector<RingReport> rings;
  viona::TransferStats vls_rx, vls_tx;
  dev.with_link([&](viona::Link* l) {
    if (l == nullptr) return 0;
    for (uint16_t i = 0; i < l->nrings(); i++) rings.push_back(RingReport{i, l->ring(i).rs, l->ring(i).vts});
    vls_rx = l->vls_rx;
    vls_tx = l->vls_tx;
    return 0;
  });
  const GuestStats& gs = guest.stats();
  const bool ok = gs.ok() && gs.rx_verified == accepted && guest.expected_pending() == 0 && tx_refused == 0;

  if (o.json) {
    nlohmann::json j;
    j["guest"] = profile.name;
    j["mode"] = device_mode_name(dev.mode());
    j["memory"] = viona::memory_mode_name(mode);
    j["features"] = guest.features();
    for (const RingReport& r : rings) {
      nlohmann::json jr;
      jr["index"] = r.index;
      jr["kind"] = viona::Link::is_tx_ring(r.index) ? "tx" : "rx";
      for (size_t c = 0; c < viona::kRsCounterCount; c++) {
        const auto k = static_cast<viona::RsCounter>(c);
        jr[std::string("rs_") + viona::rs_counter_name(k)] = r.rs.at(k);
      }
      jr["vts_packets"] = r.vts.vts_packets;
      jr["vts_bytes"] = r.vts.vts_bytes;
      jr["vts_errors"] = r.vts.vts_errors;
      jr["vts_drops"] = r.vts.vts_drops;
      j["rings"].push_back(jr);
    }
    j["frames"] = {{"read", read},
                   {"delivered", accepted},
                   {"dropped", dropped},
                   {"received", gs.rx_frames},
                   {"verified", gs.rx_verified},
                   {"mismatched", gs.rx_mismatch},
                   {"unexpected", gs.rx_unexpected},
                   {"bad_used", gs.rx_bad_used}};
    j["tx"] = {{"posted", gs.tx_posted},
               {"completed", gs.tx_completed},
               {"bad_used", gs.tx_bad_used},
               {"refused", tx_refused},
               {"written", be->frames_written()}};
    j["ok"] = ok;
    if (!gs.first_mismatch.empty()) j["first_mismatch"] = gs.first_mismatch;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("guest %s, %s mode, %s memory, features 0x%llx\n", profile.name.c_str(),
                device_mode_name(dev.mode()), viona::memory_mode_name(mode),
                static_cast<unsigned long long>(guest.features()));
    for (const RingReport& r : rings) {
      std::printf("ring %u (%s):\n", r.index, viona::Link::is_tx_ring(r.index) ? "tx" : "rx");
      for (size_t c = 0; c < viona::kRsCounterCount; c++) {
        const auto k = static_cast<viona::RsCounter>(c);
        std::printf("  rs_%-22s %llu\n", viona::rs_counter_name(k), static_cast<unsigned long long>(r.rs.at(k)));
      }
      std::printf("  vts_packets %llu  vts_bytes %llu  vts_errors %llu  vts_drops %llu\n",
                  static_cast<unsigned long long>(r.vts.vts_packets), static_cast<unsigned long long>(r.vts.vts_bytes),
                  static_cast<unsigned long long>(r.vts.vts_errors), static_cast<unsigned long long>(r.vts.vts_drops));
    }
    std::printf("frames: %llu read, %llu delivered, %llu dropped, %llu verified, %llu mismatched\n",
                static_cast<unsigned long long>(read), static_cast<unsigned long long>(accepted),
                static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(gs.rx_verified),
                static_cast<unsigned long long>(gs.rx_mismatch + gs.rx_unexpected + gs.rx_bad_used));
    std::printf("tx: %llu posted, %llu completed, %llu written\n", static_cast<unsigned long long>(gs.tx_posted),
                static_cast<unsigned long long>(gs.tx_completed),
                static_cast<unsigned long long>(be->frames_written()));
    if (!gs.first_mismatch.empty()) std::printf("first mismatch: %s\n", gs.first_mismatch.c_str());
  }
  if (o.threads) pci.stop_poll_thread();
  return ok ? kExitOk : kExitFinding;
}

}  // namespace

void register_run(CLI::App& app, Action* action) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "deliver a capture file into a simulated guest and print the counters");
  sub->add_option("--guest", o->guest, "guest profile: linux-mrg, linux-big, linux-small, custom:...")->required();
  sub->add_option("--rx-pcap", o->rx_pcap, "capture whose frames are delivered to the guest")->required();
  sub->add_option("--tx-pcap", o->tx_pcap, "capture the guest's (reflected) transmissions are written to");
  sub->add_option("--filter", o->filter, "BPF filter applied to --rx-pcap");
  sub->add_option("--mtu", o->mtu, "link MTU (VNA_IOC_SET_MTU), 68..65535");
  sub->add_option("--ring-size", o->ring_size, "queue size (bhyve vqsize), a power of two 4..32768");
  sub->add_option("--memory", o->memory, "guest memory model: paged (default) or contiguous");
  sub->add_flag("--threads", o->threads, "threaded device (TX workers, poll thread) instead of stepping mode");
  sub->add_flag("--json", o->json, "print the report as JSON");
  sub->callback([o, action] { *action = [o] { return run(*o); }; });
}

}  // namespace viona_rr
