// SPDX-License-Identifier: MIT
// cmd_inspect.cpp: viona-rr inspect: a trace's configuration, sizes and final counters.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "replay/cli/commands.h"
#include "replay/trace_reader.h"
#include "viona/ring_dump.h"

namespace viona_rr {

namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
};

int run_inspect(const InspectArgs& a) {
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(a.path, &err);
  if (!r) {
    std::fprintf(stderr, "viona-rr inspect: %s\n", err.message.c_str());
    return kExitUsage;
  }
  TraceConfig cfg;
  std::vector<TraceCounterSnapshot> snaps;
  uint64_t packets = 0, ops = 0, chains = 0, used = 0, probes = 0;
  for (TraceError e : {r->read_config(&cfg), r->read_counters(&snaps), r->count_rows("packets", &packets),
                       r->count_rows("ops", &ops), r->count_rows("chains", &chains), r->count_rows("used", &used),
                       r->count_rows("probes", &probes)}) {
    if (!e.ok()) {
      std::fprintf(stderr, "viona-rr inspect: %s\n", e.message.c_str());
      return kExitUsage;
    }
  }
  // The last snapshot of each ring is its final state.
  std::map<uint16_t, const TraceCounterSnapshot*> last;
  for (const auto& s : snaps) last[s.ring] = &s;
  if (a.json) {
    nlohmann::json j;
    j["trace"] = a.path;
    j["complete"] = r->complete();
    j["format_version"] = r->user_version();
    j["config"] = cfg.dump_raw();
    // The scenario as typed values; null for a trace without one.
    if (const std::optional<TraceScenario>& sc = cfg.scenario) {
      j["scenario"] = {{"backend_offload", sc->backend_offload},
                       {"batch", sc->batch},
                       {"corrupt", sc->corrupt()},
                       {"count", sc->count},
                       {"feature_mask", sc->feature_mask},
                       {"filter", sc->filter},
                       {"migrate_at", sc->migrate_at},
                       {"repeat", sc->repeat},
                       {"rx_lso", sc->rx_lso},
                       {"tx_offload", sc->tx_offload}};
    } else {
      j["scenario"] = nullptr;
    }
    j["counts"] = {{"packets", packets}, {"ops", ops}, {"chains", chains}, {"used", used}, {"probes", probes}};
    for (const auto& [ring, s] : last) {
      nlohmann::json c;
      for (const auto& [name, v] : s->named()) c[name] = v;
      j["rings"][std::to_string(ring)] = c;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("trace: %s\n", a.path.c_str());
  std::printf("format: %lld%s\n", static_cast<long long>(r->user_version()), r->complete() ? "" : " (incomplete)");
  std::printf("config: %s\n", cfg.dump().c_str());
  const std::string scen =
      cfg.scenario ? cfg.scenario->dump() : std::string("(not recorded: the trace predates config_scenario)");
  std::printf("scenario: %s\n", scen.c_str());
  std::printf("packets: %llu  ops: %llu  chains: %llu  used: %llu  probes: %llu\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(chains), static_cast<unsigned long long>(used),
              static_cast<unsigned long long>(probes));
  for (const auto& [ring, s] : last) {
    std::printf("ring %u (%s) final counters:\n%s", ring, (ring & 1) ? "tx" : "rx",
                viona::dump_ring_stats(s->rs, s->vts, 1).c_str());
  }
  return kExitOk;
}

}  // namespace

void register_inspect(CLI::App& app, Action* run) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand("inspect", "print a trace's configuration, sizes and final counters");
  c->add_option("trace", a->path, "trace file")->required();
  c->add_flag("--json", a->json, "machine-readable output");
  c->callback([run, a]() { *run = [a]() { return run_inspect(*a); }; });
}

}  // namespace viona_rr
