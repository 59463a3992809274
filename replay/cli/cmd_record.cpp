// SPDX-License-Identifier: MIT
// cmd_record.cpp: viona-rr record: a capture through the port into a simulated guest, recorded to a trace.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/record_session.h"
#include "replay/trace_records.h"

namespace viona_rr {

namespace {

struct RecordArgs {
  RecordSpec spec;
  std::vector<std::string> quirks;
  std::string writer = "thread";
  bool json = false;
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "viona-rr record: %s\n", msg.c_str());
  return kExitUsage;
}

nlohmann::json guest_json(const bhyve_glue::GuestStats& g) {
  return {{"rx_frames", g.rx_frames},       {"rx_verified", g.rx_verified}, {"rx_not_received", g.rx_not_received},
          {"rx_mismatch", g.rx_mismatch},   {"rx_unexpected", g.rx_unexpected}, {"rx_bad_used", g.rx_bad_used},
          {"tx_posted", g.tx_posted},       {"tx_completed", g.tx_completed}, {"tx_bad_used", g.tx_bad_used},
          {"first_mismatch", g.first_mismatch}};
}

nlohmann::json rings_json(const RecordSummary& s) {
  nlohmann::json rings = nlohmann::json::array();
  for (const RecordRingCounters& c : s.rings) {
    TraceCounterSnapshot snap;
    snap.rs = c.rs;
    snap.vts = c.vts;
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, v] : snap.named()) counters[name] = v;
    rings.push_back({{"ring", c.ring}, {"counters", counters}});
  }
  return rings;
}

int run_record(RecordArgs a) {
  std::string err;
  if (!parse_quirks(a.quirks, &a.spec.quirks, &err)) return fail(err);
  a.spec.writer_thread = a.writer == "thread";
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (tty) {
    a.spec.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rrecording: %llu/%llu frames", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total));
      std::fflush(stderr);
    };
  }
  RecordSummary s;
  const bool ok = record_session(a.spec, &s, &err);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!ok) return fail(err);
  if (a.json) {
    nlohmann::json j = {{"trace", a.spec.out}, {"frames", s.frames}, {"accepted", s.accepted},
                        {"dropped", s.dropped}, {"sent", s.sent},     {"packets", s.packets},
                        {"ops", s.ops},         {"guest_ok", s.guest_ok}, {"guest", guest_json(s.guest)},
                        {"rings", rings_json(s)}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("recorded %s: %llu frames (%llu delivered, %llu dropped, %llu sent), %llu packets, %llu ops\n",
                a.spec.out.c_str(), static_cast<unsigned long long>(s.frames),
                static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.dropped),
                static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.packets),
                static_cast<unsigned long long>(s.ops));
  }
  return kExitOk;
}

}  // namespace

void register_record(CLI::App& app, Action* run) {
  auto a = std::make_shared<RecordArgs>();
  CLI::App* c = app.add_subcommand("record", "record a capture's traffic through the port into a trace");
  c->add_option("--pcap", a->spec.pcap, "capture file (pcap or pcapng) whose frames cross the device");
  c->add_option("--filter", a->spec.filter, "BPF filter (libpcap syntax) selecting the frames");
  c->add_option("--guest", a->spec.guest, "guest profile: linux-mrg, linux-big, linux-small, custom:k=v,...");
  c->add_option("--direction", a->spec.direction, "rx (frames to the guest), tx (sent by the guest) or both");
  c->add_option("--mtu", a->spec.mtu, "device MTU (68..65535)");
  c->add_option("--ring-size", a->spec.ring_size, "queue size (power of two)");
  c->add_option("--memory", a->spec.memory, "guest memory model: paged (since illumos 13783) or contiguous");
  c->add_option("--feature-mask", a->spec.feature_mask, "feature bits withheld from the guest (bhyve feature_mask)");
  c->add_option("--quirk", a->quirks, "record with a historic behaviour: " + quirk_help())->take_all();
  c->add_option("--batch", a->spec.batch, "frames per RX batch (one MAC callback)")->check(CLI::Range(1u, 1024u));
  c->add_option("--repeat", a->spec.repeat, "deliver the capture this many times")->check(CLI::Range(1u, 1000u));
  c->add_option("-o,--output", a->spec.out, "trace file to write")->required();
  c->add_option("--writer", a->writer,
                 "where trace rows are written: thread (a writer thread, the default) or inline (the device's "
                 "thread); the trace is the same")
      ->check(CLI::IsMember({"thread", "inline"}));
  c->add_flag("--json", a->json, "machine-readable summary");
  // Scenarios (replay/record_scenario.h); record_session checks them.
  c->add_option("--iface", a->spec.iface, "record COUNT frames captured live on this interface instead of --pcap");
  c->add_option("-c,--count", a->spec.count, "frames taken from the source (needed with --iface; 0 = all)");
  c->add_option("--capture-timeout", a->spec.capture_timeout, "seconds to wait for --iface frames (0 = forever)");
  c->add_option("--corrupt", a->spec.corrupt, "KIND@N: after frame N the guest malforms its RX head chain");
  c->add_flag("--tx-offload", a->spec.tx_offload, "the guest asks for checksum offload and TSO on TX");
  c->add_option("--backend-offload", a->spec.backend_offload, "offloads the backend declares: none, partial, full, lso");
  c->add_option("--tx-pcap", a->spec.tx_pcap, "write the TX frames, finished for the wire, to this capture");
  c->add_option("--rx-lso", a->spec.rx_lso, "MSS: RX frames over MTU + 14 arrive as HW_LSO (one per batch)");
  c->add_option("--migrate-at", a->spec.migrate_at, "after frame N pause, save, reset and restore both rings");
  c->callback([run, a]() { *run = [a]() { return run_record(*a); }; });
}

}  // namespace viona_rr
