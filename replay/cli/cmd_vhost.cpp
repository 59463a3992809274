// SPDX-License-Identifier: MIT
// cmd_vhost.cpp: viona-rr vhost: serve a QEMU vhost-user netdev with the port, optionally recording a trace.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bhyve_glue/vhost_user/responder.h"
#include "bhyve_glue/vhost_user/vhost_user_server.h"
#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/recorder.h"
#include "replay/trace_records.h"
#include "replay/trace_writer.h"
#include "viona/link.h"

namespace viona_rr {

namespace {

struct VhostArgs {
  std::string socket;
  std::string record;
  std::vector<std::string> quirks;
  std::string memory = "paged";
  bool verbose = false;
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "viona-rr vhost: %s\n", msg.c_str());
  return kExitUsage;
}

using ull = unsigned long long;

void print_counters(const bhyve_glue::VhostUserServer& srv, const bhyve_glue::Responder& resp) {
  const bhyve_glue::VhostUserStats& st = srv.stats();
  std::printf("vhost: features %#llx protocol %#llx; %llu requests, %llu rejected, %llu replies\n",
              static_cast<ull>(srv.features_acked()), static_cast<ull>(srv.protocol_features_acked()),
              static_cast<ull>(st.messages), static_cast<ull>(st.rejected), static_cast<ull>(st.replies));
  std::printf("responder: %llu frames from the guest, %llu ARP replies, %llu echo replies, %llu ignored\n",
              static_cast<ull>(resp.stats().tx_frames), static_cast<ull>(resp.stats().arp_replies),
              static_cast<ull>(resp.stats().echo_replies), static_cast<ull>(resp.stats().ignored));
  std::printf("rx: %llu frames delivered, %llu before the ring ran; mirror races %llu\n",
              static_cast<ull>(st.rx_frames), static_cast<ull>(st.rx_unready), static_cast<ull>(st.mirror_races));
  bhyve_glue::Device* dev = srv.device();
  if (dev == nullptr) {
    std::printf("no device: the front end never sent a memory table\n");
    return;
  }
  dev->with_link([&](viona::Link* l) {
    if (l == nullptr) return 0;
    for (uint16_t i = 0; i < 2 && i < l->nrings(); i++) {
      const viona::Ring& r = l->ring(i);
      // A paused ring's transfer stats were folded into the link's.
      const viona::TransferStats& t = viona::Link::is_tx_ring(i) ? l->vls_tx : l->vls_rx;
      viona::TransferStats sum = t;
      sum.vts_packets += r.vts.vts_packets;
      sum.vts_bytes += r.vts.vts_bytes;
      sum.vts_errors += r.vts.vts_errors;
      sum.vts_drops += r.vts.vts_drops;
      std::printf("ring %u (%s): size %u kicks %llu calls %llu packets %llu bytes %llu errors %llu drops %llu", i,
                  viona::Link::is_tx_ring(i) ? "tx" : "rx", r.size(), static_cast<ull>(st.kicks[i]),
                  static_cast<ull>(st.calls[i]), static_cast<ull>(sum.vts_packets), static_cast<ull>(sum.vts_bytes),
                  static_cast<ull>(sum.vts_errors), static_cast<ull>(sum.vts_drops));
      for (size_t c = 0; c < viona::kRsCounterCount; c++) {
        const auto k = static_cast<viona::RsCounter>(c);
        if (r.rs.at(k) != 0) std::printf(" rs_%s %llu", viona::rs_counter_name(k), static_cast<ull>(r.rs.at(k)));
      }
      std::printf("\n");
    }
    return 0;
  });
}

int run_vhost(const VhostArgs& a) {
  std::string err;
  bhyve_glue::VhostUserServer::Options opts;
  if (!parse_quirks(a.quirks, &opts.quirks, &err)) return fail(err);
  if (!viona::memory_mode_from_name(a.memory.c_str(), &opts.memory)) {
    return fail("--memory " + a.memory + ": expected paged or contiguous");
  }
  opts.verbose = a.verbose;
  std::unique_ptr<TraceWriter> w;
  if (!a.record.empty()) {
    TraceError terr;
    TraceWriterOptions wopts;
    wopts.tool_version = "viona-rr 0.1";
    w = TraceWriter::open(a.record, wopts, &terr);
    if (!w) return fail(terr.message);
  }
  bhyve_glue::Responder resp;
  bhyve_glue::VhostUserServer srv(&resp, opts);
  std::unique_ptr<Recorder> rec;
  if (w) {
    // A live guest: SQLite (and its fsyncs at checkpoints) runs on the
    // writer thread, not on the thread that serves the guest's rings.
    rec = std::make_unique<Recorder>(w.get(), RecorderMode::writer_thread);
    srv.set_mirror(true);
    srv.set_ready_hook([&rec](bhyve_glue::Device& dev, viona::GuestMemory* mirror) {
      rec->watch_memory(*mirror);
      dev.set_observer(rec.get());
      dev.set_probe_listener(rec.get());
    });
  }
  std::fprintf(stderr, "viona-rr vhost: listening on %s\n", a.socket.c_str());
  const int fd = bhyve_glue::VhostUserServer::listen_accept(a.socket, &err);
  if (fd < 0) return fail(err);
  const bhyve_glue::VhostServeKind k = srv.serve(fd);
  print_counters(srv, resp);
  int rc = k == bhyve_glue::VhostServeKind::closed ? kExitOk : kExitFinding;
  if (!rec) return rc;
  bhyve_glue::Device* dev = srv.device();
  if (dev == nullptr) return fail("nothing to record: the front end never sent a memory table");
  TraceConfig cfg;
  cfg.memory_mode = opts.memory;
  cfg.guest_profile = "vhost-user";
  cfg.guest_layout = "{}";
  cfg.quirks = opts.quirks;
  cfg.offloads = resp.offload_caps();
  cfg.regions = srv.memory()->regions();
  cfg.direction = DirectionKind::both;
  dev->with_link([&](viona::Link* l) {
    rec->record_snapshot(*l);
    cfg.features_negotiated = l->features();
    cfg.features_offered = l->features_offered();
    cfg.mtu = static_cast<uint16_t>(l->mtu);
    cfg.params = l->params;
    cfg.mac = l->mac;
    for (uint16_t i = 0; i < l->nrings(); i++) cfg.ring_sizes.push_back(l->ring(i).size());
    return 0;
  });
  dev->set_observer(nullptr);
  dev->set_probe_listener(nullptr);
  rec->flush();
  if (TraceError e = w->write_config(cfg); !e.ok()) return fail(e.message);
  if (!rec->error().ok()) return fail(rec->error().message);
  if (TraceError e = w->close(); !e.ok()) return fail(e.message);
  std::printf("recorded %s: %llu packets, %llu ops\n", a.record.c_str(), static_cast<ull>(rec->packets()),
              static_cast<ull>(rec->ops()));
  return rc;
}

}  // namespace

void register_vhost(CLI::App& app, Action* run) {
  auto a = std::make_shared<VhostArgs>();
  CLI::App* c = app.add_subcommand("vhost", "serve one QEMU vhost-user net front end with the port");
  c->add_option("--socket", a->socket, "unix socket to listen on (QEMU -chardev socket,path=...)")->required();
  c->add_option("--record", a->record, "record the guest's ring traffic into this trace (must not exist)");
  c->add_option("--quirk", a->quirks, "run with a historic behaviour: " + quirk_help())->take_all();
  c->add_option("--memory", a->memory, "guest memory translation: paged (since illumos 13783) or contiguous");
  c->add_flag("-v,--verbose", a->verbose, "one line per vhost-user request on stderr");
  c->callback([run, a]() { *run = [a]() { return run_vhost(*a); }; });
}

}  // namespace viona_rr
