// SPDX-License-Identifier: MIT
// record_session.cpp: the recording driver behind `viona-rr record`, minimize and diff --replay.
#include "replay/record_session.h"

#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "bhyve_glue/backend/pcap_backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/pci/pci_device.h"
#include "bhyve_glue/vm.h"
#include "replay/record_scenario.h"
#include "replay/recorder.h"
#include "replay/trace_writer.h"
#include "viona/segment.h"

namespace viona_rr {

namespace {

std::string layout_json(const bhyve_glue::GuestProfile& p) {
  nlohmann::json j = {{"want_features", p.want_features}, {"ring_size", p.ring_size}, {"msix", p.msix},
                      {"rx_buf", p.rx_buf},             {"rx_offset", p.rx_offset}, {"rx_stride", p.rx_stride},
                      {"rx_block", p.rx_block},         {"rx_descs", p.rx_descs},   {"rx_hdr_desc", p.rx_hdr_desc},
                      {"rx_indirect", p.rx_indirect},   {"rx_chains", p.rx_chains}, {"tx_indirect", p.tx_indirect},
                      {"tx_slots", p.tx_slots},         {"tx_buf", p.tx_buf}};
  return j.dump();
}

// The final counters of every mapped ring, in index order.
std::vector<RecordRingCounters> counters_of(bhyve_glue::Device& dev) {
  std::vector<RecordRingCounters> rings;
  dev.with_link([&](viona::Link* l) {
    for (uint16_t i = 0; l != nullptr && i < l->nrings(); i++) {
      if (!l->ring(i).mapped()) continue;
      RecordRingCounters c;
      c.ring = i;
      c.rs = l->ring(i).rs;
      c.vts = l->ring(i).vts;
      rings.push_back(c);
    }
    return 0;
  });
  return rings;
}

bool fail(std::string* err, const std::string& msg) {
  if (err != nullptr) *err = msg;
  return false;
}

}  // namespace

bool record_session(const RecordSpec& a, RecordSummary* sum, std::string* errp) {
  using namespace bhyve_glue;
  std::string err;
  GuestProfile profile;
  if (a.profile) {
    profile = *a.profile;
  } else if (!guest_profile_from_name(a.guest, &profile, &err)) {
    return fail(errp, err);
  }
  if (a.ring_size != 0) profile.ring_size = static_cast<uint16_t>(a.ring_size);
  PciOptions popts;
  if (!parse_pci_options("vnic=pcap0,feature_mask=" + a.feature_mask + ",vqsize=" + std::to_string(profile.ring_size),
                         &popts, &err)) {
    return fail(errp, err);
  }
  viona::MemoryMode mode;
  if (!viona::memory_mode_from_name(a.memory.c_str(), &mode)) {
    return fail(errp, "--memory " + a.memory + ": expected paged or contiguous");
  }
  DirectionKind dir;
  if (a.direction == "rx") {
    dir = DirectionKind::rx;
  } else if (a.direction == "tx") {
    dir = DirectionKind::tx;
  } else if (a.direction == "both") {
    dir = DirectionKind::both;
  } else {
    return fail(errp, "--direction " + a.direction + ": expected rx, tx or both");
  }
  if (a.mtu != 0 && (a.mtu < viona::VIONA_MIN_MTU || a.mtu > viona::VIONA_MAX_MTU)) {
    return fail(errp, "--mtu " + std::to_string(a.mtu) + " out of range (68..65535)");
  }
  if (a.batch == 0 || a.repeat == 0) return fail(errp, "--batch and --repeat must be at least 1");
  const viona::Quirks quirks = a.quirks;
  // The frames (capture file or live interface, read whole before the
  // trace exists) and the backend: the scenario's (record_scenario.h).
  RecordScenario scen(a);
  std::vector<BackendFrame> frames;
  std::unique_ptr<Backend> be = scen.open_source(&frames, &err);
  if (!be) return fail(errp, err);

  std::unique_ptr<TraceWriter> w;
  if (a.trace) {
    TraceError terr;
    TraceWriterOptions wopts;
    wopts.tool_version = "viona-rr 0.1";
    w = TraceWriter::open(a.out, wopts, &terr);
    if (!w) return fail(errp, terr.message);
  }

  // The recorder outlives the VM: tearing the VM down deletes the link,
  // which the device reports to its observer.
  std::unique_ptr<Recorder> rec;
  if (w) {
    rec = std::make_unique<Recorder>(w.get(),
                                     a.writer_thread ? RecorderMode::writer_thread : RecorderMode::inline_writer);
  }
  Registry reg;
  reg.add_link("pcap0", be.get());
  Vm vm(&reg, DeviceModeKind::stepping, mode);
  Device& dev = vm.dev;
  PciDevice& pci = vm.pci;
  if (rec) {
    rec->watch_memory(vm.mem);
    dev.set_observer(rec.get());
    dev.set_probe_listener(rec.get());
  }
  if (!vm.boot("pcap0", profile, ",feature_mask=" + a.feature_mask, &err)) return fail(errp, err);
  GuestDriver& guest = *vm.guest;
  dev.with_link([&](viona::Link* l) {
    l->quirks = quirks;
    return 0;
  });
  if (!vm.start_capture_guest(a.mtu, &err)) return fail(errp, err);
  scen.attach(&dev, &guest);
  // The guest checks that it receives exactly the frames offered, in
  // order, less those the device dropped (over MTU, no space, a malformed
  // chain): lossy expectations, settled after every serviced batch, since
  // a stepping device has then delivered all it accepted. The search
  // window is therefore at most one batch.
  guest.set_lossy_expect(std::numeric_limits<size_t>::max());
  guest.set_expect_padding(!quirks.has(viona::QuirkKind::pre_os_6815));
  uint32_t link_mtu = 0;
  dev.with_link([&](viona::Link* l) {
    if (l != nullptr) link_mtu = l->mtu;
    return 0;
  });
  const bool guest_tso4 = (guest.features() & viona::VIRTIO_NET_F_GUEST_TSO4) != 0;
  // An LSO frame the guest cannot take whole reaches it as the segments
  // viona's GRO fallback cuts (viona-behaviour.md, RX LSO); those are the
  // frames to expect. viona::tso_segment is the device's own segmenter
  // (tested on its own in tests/viona/segment_test.cpp).
  auto expect_frame = [&](const viona::RxFrame& f) {
    if (f.meta.hw_lso && f.meta.lso_mss != 0 && f.len > viona::kEtherHeaderLen + link_mtu &&
        (!guest_tso4 || f.len > viona::VIONA_GRO_MAX_PACKET_SIZE)) {
      std::vector<std::vector<uint8_t>> segs;
      if (viona::tso_segment(f.data, f.len, f.meta.lso_mss, &segs)) {
        for (const auto& sg : segs) guest.expect(sg.data(), sg.size());
      }
      return;
    }
    guest.expect_view(f.data, f.len);
  };

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
    if (!rec) return;
    dev.with_link([&](viona::Link* l) {
      if (l != nullptr) rec->record_snapshot(*l);
      return 0;
    });
  };
  uint64_t accepted = 0, dropped = 0, sent = 0;
  const uint64_t total = static_cast<uint64_t>(frames.size()) * a.repeat;
  uint64_t reported = 0;
  auto progress = [&](uint64_t done) {
    if (a.progress && (done == total || done - reported >= 4096)) {
      reported = done;
      a.progress(done, total);
    }
  };
  for (unsigned rep = 0; rep < a.repeat; rep++) {
    for (size_t i = 0; i < frames.size();) {
      if (dir == DirectionKind::tx) {
        if (guest.send(frames[i].data.data(), frames[i].data.size())) sent++;
        i++;
        service();
        snapshot();
        if (!scen.after_frames(rep * frames.size() + i, &err)) return fail(errp, err);
        progress(rep * frames.size() + i);
        continue;
      }
      std::vector<viona::RxFrame> batch;
      const size_t end = scen.batch_end(frames, rep * frames.size(), i, std::min(frames.size(), i + a.batch));
      for (; i < end; i++) {
        viona::RxFrame f;
        f.data = frames[i].data.data();
        f.len = static_cast<uint32_t>(frames[i].data.size());
        f.meta = frames[i].meta;
        batch.push_back(f);
        expect_frame(f);
      }
      viona::RxBatchResult r = dev.deliver_rx(batch.data(), batch.size());
      accepted += r.accepted;
      dropped += r.dropped;
      service();
      guest.settle_expected();
      snapshot();
      if (!scen.after_frames(rep * frames.size() + i, &err)) return fail(errp, err);
      progress(rep * frames.size() + i);
    }
  }
  service();
  snapshot();
  if (sum != nullptr) {
    sum->frames = frames.size() * a.repeat;
    sum->accepted = accepted;
    sum->dropped = dropped;
    sum->sent = sent;
    sum->guest = guest.stats();
    sum->guest_ok = guest.stats().ok();
  }
  if (!rec) {
    if (sum != nullptr) sum->rings = counters_of(dev);
    return true;
  }
  rec->flush();

  TraceConfig cfg;
  cfg.memory_mode = mode;
  // A custom profile's name says nothing of its layout: keep the spec so
  // that minimize and diff --replay can build the same guest again.
  cfg.guest_profile = profile.name == "custom" ? a.guest : profile.name;
  cfg.guest_layout = layout_json(profile);
  cfg.quirks = quirks;
  cfg.offloads = be->offload_caps();
  cfg.regions = vm.mem.regions();
  cfg.direction = dir;
  // What the recording did besides the capture, so that minimize and diff
  // --replay do it again (TraceScenario). The spec's values, already
  // checked by RecordScenario::open_source and parse_pci_options.
  TraceScenario sc;
  if (!a.corrupt.empty()) {
    bhyve_glue::RxCorruptKind kind;
    if (!parse_corrupt_spec(a.corrupt, &kind, &sc.corrupt_after, &err)) return fail(errp, err);
    sc.corrupt_kind = bhyve_glue::rx_corrupt_kind_name(kind);
  }
  sc.tx_offload = a.tx_offload;
  sc.backend_offload = a.backend_offload;
  sc.rx_lso = static_cast<uint16_t>(a.rx_lso);
  sc.migrate_at = a.migrate_at;
  sc.batch = a.batch;
  sc.repeat = a.repeat;
  sc.count = a.count;
  sc.filter = a.filter;
  sc.feature_mask = popts.feature_mask;
  cfg.scenario = sc;
  dev.with_link([&](viona::Link* l) {
    cfg.features_negotiated = l->features();
    cfg.features_offered = l->features_offered();
    cfg.mtu = static_cast<uint16_t>(l->mtu);
    cfg.params = l->params;
    cfg.mac = l->mac;
    for (uint16_t i = 0; i < l->nrings(); i++) cfg.ring_sizes.push_back(l->ring(i).size());
    return 0;
  });
  std::vector<RecordRingCounters> rings = counters_of(dev);
  if (TraceError e = w->write_config(cfg); !e.ok()) return fail(errp, e.message);
  if (!rec->error().ok()) return fail(errp, rec->error().message);
  if (TraceError e = w->close(); !e.ok()) return fail(errp, e.message);
  if (sum != nullptr) {
    sum->rings = std::move(rings);
    sum->packets = rec->packets();
    sum->ops = rec->ops();
  }
  return true;
}

}  // namespace viona_rr
