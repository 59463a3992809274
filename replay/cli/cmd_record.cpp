// SPDX-License-Identifier: MIT
// cmd_record.cpp: viona-rr record: a capture through the port into a simulated guest, recorded to a trace.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bhyve_glue/backend/pcap_backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/pci/pci_device.h"
#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/recorder.h"
#include "replay/trace_writer.h"

namespace viona_rr {

namespace {

struct RecordArgs {
  std::string pcap;
  std::string filter;
  std::string guest = "linux-mrg";
  std::string direction = "rx";
  unsigned mtu = 0;
  unsigned ring_size = 0;
  std::string memory = "paged";
  std::string feature_mask = "0";
  std::vector<std::string> quirks;
  std::string out;
  unsigned batch = 1;
  unsigned repeat = 1;
  bool json = false;
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "viona-rr record: %s\n", msg.c_str());
  return kExitUsage;
}

std::string layout_json(const bhyve_glue::GuestProfile& p) {
  nlohmann::json j = {{"want_features", p.want_features}, {"ring_size", p.ring_size}, {"msix", p.msix},
                      {"rx_buf", p.rx_buf},             {"rx_offset", p.rx_offset}, {"rx_stride", p.rx_stride},
                      {"rx_block", p.rx_block},         {"rx_descs", p.rx_descs},   {"rx_hdr_desc", p.rx_hdr_desc},
                      {"rx_indirect", p.rx_indirect},   {"rx_chains", p.rx_chains}, {"tx_indirect", p.tx_indirect},
                      {"tx_slots", p.tx_slots},         {"tx_buf", p.tx_buf}};
  return j.dump();
}

int run_record(const RecordArgs& a) {
  using namespace bhyve_glue;
  std::string err;
  GuestProfile profile;
  if (!guest_profile_from_name(a.guest, &profile, &err)) return fail(err);
  if (a.ring_size != 0) profile.ring_size = static_cast<uint16_t>(a.ring_size);
  PciOptions popts;
  if (!parse_pci_options("vnic=pcap0,feature_mask=" + a.feature_mask + ",vqsize=" + std::to_string(profile.ring_size),
                         &popts, &err)) {
    return fail(err);
  }
  viona::MemoryMode mode;
  if (!viona::memory_mode_from_name(a.memory.c_str(), &mode)) return fail("--memory " + a.memory + ": expected paged or contiguous");
  DirectionKind dir;
  if (a.direction == "rx") {
    dir = DirectionKind::rx;
  } else if (a.direction == "tx") {
    dir = DirectionKind::tx;
  } else if (a.direction == "both") {
    dir = DirectionKind::both;
  } else {
    return fail("--direction " + a.direction + ": expected rx, tx or both");
  }
  if (a.mtu != 0 && (a.mtu < viona::VIONA_MIN_MTU || a.mtu > viona::VIONA_MAX_MTU)) {
    return fail("--mtu " + std::to_string(a.mtu) + " out of range (68..65535)");
  }
  viona::Quirks quirks;
  if (!parse_quirks(a.quirks, &quirks, &err)) return fail(err);
  std::unique_ptr<PcapBackend> be = PcapBackend::open(a.pcap, a.filter, "", &err);
  if (!be) return fail(err);
  // Read the whole capture first: a refusal (bad link type, truncated
  // frame) must come before the trace exists.
  std::vector<BackendFrame> frames;
  while (be->rx_pull(&frames, 64, 0) != 0) {
  }
  if (!be->rx_error().empty()) return fail(be->rx_error());

  TraceError terr;
  TraceWriterOptions wopts;
  wopts.tool_version = "viona-rr 0.1";
  std::unique_ptr<TraceWriter> w = TraceWriter::open(a.out, wopts, &terr);
  if (!w) return fail(terr.message);

  viona::GuestMemory mem(mode);
  Registry reg;
  const int vmfd = reg.add_vm(&mem);
  reg.add_link("pcap0", be.get());
  Device dev(&reg, DeviceModeKind::stepping);
  Recorder rec(w.get());
  rec.watch_memory(mem);
  dev.set_observer(&rec);
  dev.set_probe_listener(&rec);
  PciDevice pci(&dev, &reg);
  GuestDriver guest(&pci, &mem, profile);
  pci.set_interrupt_controller(&guest);
  if (!pci.init(popts, vmfd, &err)) return fail(err);
  dev.with_link([&](viona::Link* l) {
    l->quirks = quirks;
    return 0;
  });
  (void)dev.ioctl(VNA_IOC_SET_PROMISC, VIONA_PROMISC_ALL);
  if (a.mtu != 0) (void)dev.ioctl(VNA_IOC_SET_MTU, a.mtu);
  if (!guest.probe(&err)) return fail("guest probe: " + err);

  std::vector<std::vector<uint8_t>> reflect;
  if (dir == DirectionKind::both) {
    guest.set_rx_callback([&reflect](const std::vector<uint8_t>& f) { reflect.push_back(f); });
  }
  auto service = [&]() {
    pci.poll_interrupts();
    guest.service();
    for (const auto& f : reflect) (void)guest.send(f.data(), f.size());
    reflect.clear();
    pci.poll_interrupts();
    guest.service();
  };
  auto snapshot = [&]() {
    dev.with_link([&](viona::Link* l) {
      if (l != nullptr) rec.record_snapshot(*l);
      return 0;
    });
  };
  uint64_t accepted = 0, dropped = 0, sent = 0;
  for (unsigned rep = 0; rep < a.repeat; rep++) {
    for (size_t i = 0; i < frames.size();) {
      if (dir == DirectionKind::tx) {
        if (guest.send(frames[i].data.data(), frames[i].data.size())) sent++;
        i++;
        service();
        snapshot();
        continue;
      }
      std::vector<viona::RxFrame> batch;
      for (size_t k = 0; k < a.batch && i < frames.size(); k++, i++) {
        viona::RxFrame f;
        f.data = frames[i].data.data();
        f.len = static_cast<uint32_t>(frames[i].data.size());
        f.meta = frames[i].meta;
        batch.push_back(f);
      }
      viona::RxBatchResult r = dev.deliver_rx(batch.data(), batch.size());
      accepted += r.accepted;
      dropped += r.dropped;
      service();
      snapshot();
    }
  }
  service();
  snapshot();
  rec.flush();

  TraceConfig cfg;
  cfg.memory_mode = mode;
  cfg.guest_profile = profile.name;
  cfg.guest_layout = layout_json(profile);
  cfg.quirks = quirks;
  cfg.offloads = be->offload_caps();
  cfg.regions = mem.regions();
  cfg.direction = dir;
  std::vector<std::pair<std::string, std::string>> counters;
  dev.with_link([&](viona::Link* l) {
    cfg.features_negotiated = l->features();
    cfg.features_offered = l->features_offered();
    cfg.mtu = static_cast<uint16_t>(l->mtu);
    cfg.params = l->params;
    cfg.mac = l->mac;
    for (uint16_t i = 0; i < l->nrings(); i++) cfg.ring_sizes.push_back(l->ring(i).size());
    return 0;
  });
  if (TraceError e = w->write_config(cfg); !e.ok()) return fail(e.message);
  if (!rec.error().ok()) return fail(rec.error().message);
  if (TraceError e = w->close(); !e.ok()) return fail(e.message);
  if (a.json) {
    nlohmann::json j = {{"trace", a.out},       {"frames", frames.size() * a.repeat}, {"accepted", accepted},
                        {"dropped", dropped},   {"sent", sent},    {"packets", rec.packets()},
                        {"ops", rec.ops()},     {"guest_ok", guest.stats().ok()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("recorded %s: %zu frames (%llu delivered, %llu dropped, %llu sent), %llu packets, %llu ops\n",
                a.out.c_str(), frames.size() * a.repeat, static_cast<unsigned long long>(accepted),
                static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(rec.packets()), static_cast<unsigned long long>(rec.ops()));
  }
  return kExitOk;
}

}  // namespace

void register_record(CLI::App& app, Action* run) {
  auto a = std::make_shared<RecordArgs>();
  CLI::App* c = app.add_subcommand("record", "record a capture's traffic through the port into a trace");
  c->add_option("--pcap", a->pcap, "capture file (pcap or pcapng) whose frames cross the device")->required();
  c->add_option("--filter", a->filter, "BPF filter (libpcap syntax) selecting the frames");
  c->add_option("--guest", a->guest, "guest profile: linux-mrg, linux-big, linux-small, custom:k=v,...");
  c->add_option("--direction", a->direction, "rx (frames to the guest), tx (sent by the guest) or both");
  c->add_option("--mtu", a->mtu, "device MTU (68..65535)");
  c->add_option("--ring-size", a->ring_size, "queue size (power of two)");
  c->add_option("--memory", a->memory, "guest memory model: paged (since illumos 13783) or contiguous");
  c->add_option("--feature-mask", a->feature_mask, "feature bits withheld from the guest (bhyve feature_mask)");
  c->add_option("--quirk", a->quirks, "record with a historic behaviour: " + quirk_help())->take_all();
  c->add_option("--batch", a->batch, "frames per RX batch (one MAC callback)")->check(CLI::Range(1u, 1024u));
  c->add_option("--repeat", a->repeat, "deliver the capture this many times")->check(CLI::Range(1u, 1000u));
  c->add_option("-o,--output", a->out, "trace file to write")->required();
  c->add_flag("--json", a->json, "machine-readable summary");
  c->callback([run, a]() { *run = [a]() { return run_record(*a); }; });
}

}  // namespace viona_rr
