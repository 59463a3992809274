// SPDX-License-Identifier: MIT
// cmd_diff.cpp: viona-rr diff: what differs between two traces, or between a trace and its replay.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/trace_diff.h"

namespace viona_rr {

namespace {

struct DiffArgs {
  std::vector<std::string> paths;
  std::string replay;
  std::vector<std::string> quirks;
  bool json = false;
  size_t max = 100;
};

int run_diff(const DiffArgs& a) {
  std::string err;
  viona::Quirks q;
  if (!parse_quirks(a.quirks, &q, &err)) {
    std::fprintf(stderr, "viona-rr diff: %s\n", err.c_str());
    return kExitUsage;
  }
  TraceDiffOptions opts;
  opts.max_differences = a.max;
  TraceDiffResult r;
  if (!a.replay.empty()) {
    if (!a.paths.empty()) {
      std::fprintf(stderr, "viona-rr diff: --replay TRACE takes no other trace\n");
      return kExitUsage;
    }
    r = diff_with_replay(a.replay, q, opts);
  } else {
    if (a.paths.size() != 2 || !a.quirks.empty()) {
      std::fprintf(stderr, "viona-rr diff: expected two traces A B (or --replay TRACE [--quirk Q])\n");
      return kExitUsage;
    }
    r = diff_traces(a.paths[0], a.paths[1], opts);
  }
  if (a.json) {
    std::printf("%s\n", trace_diff_json(r).c_str());
  } else if (!r.error.ok()) {
    std::fprintf(stderr, "viona-rr diff: %s\n", r.error.message.c_str());
  } else {
    std::fputs(trace_diff_text(r).c_str(), stdout);
  }
  static_assert(kExitOk == 0 && kExitFinding == 1 && kExitUsage == 2, "trace_diff_exit_status uses these values");
  return trace_diff_exit_status(r);
}

}  // namespace

void register_diff(CLI::App& app, Action* run) {
  auto a = std::make_shared<DiffArgs>();
  CLI::App* c = app.add_subcommand("diff", "compare two traces packet by packet, or a trace with its replay");
  c->add_option("traces", a->paths, "the two traces A B");
  c->add_option("--replay", a->replay, "compare TRACE with a re-recording of its packets under its configuration");
  c->add_option("--quirk", a->quirks, "with --replay: re-record with a historic behaviour: " + quirk_help())
      ->take_all();
  c->add_flag("--json", a->json, "machine-readable output");
  c->add_option("--max", a->max, "differences listed at most (all are counted)")->check(CLI::Range(size_t{1}, size_t{1000000}));
  c->callback([run, a]() { *run = [a]() { return run_diff(*a); }; });
}

}  // namespace viona_rr
