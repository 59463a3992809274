// SPDX-License-Identifier: MIT
// cmd_minimize.cpp: viona-rr minimize: the fewest packets of a failing trace that still fail the same way.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/minimize.h"

namespace viona_rr {

namespace {

struct MinimizeArgs {
  std::string trace;
  std::vector<std::string> quirks;
  std::string out;
  unsigned max_tests = 4000;
  bool json = false;
};

int run_minimize(const MinimizeArgs& a) {
  std::string err;
  MinimizeOptions opts;
  if (!parse_quirks(a.quirks, &opts.replay_quirks, &err)) {
    std::fprintf(stderr, "viona-rr minimize: %s\n", err.c_str());
    return kExitUsage;
  }
  opts.out = a.out;
  opts.max_tests = a.max_tests;
  if (!a.json && isatty(STDERR_FILENO)) {
    opts.progress = [](unsigned tests, size_t n) {
      std::fprintf(stderr, "\rminimizing: %u re-recordings, trying %zu packets   ", tests, n);
      std::fflush(stderr);
    };
  }
  MinimizeResult res;
  int rc = minimize_trace(a.trace, opts, &res, &err);
  if (opts.progress) std::fprintf(stderr, "\r\033[K");
  if (rc != 0) {
    std::fprintf(stderr, "viona-rr minimize: %s\n", err.c_str());
    return rc == 1 ? kExitFinding : kExitUsage;
  }
  if (a.json) {
    nlohmann::json j = {{"trace", a.trace},
                        {"output", a.out},
                        {"quirks", opts.replay_quirks.to_string()},
                        {"original_packets", res.original_packets},
                        {"packets", res.kept.size()},
                        {"kept", res.kept},
                        {"tests", res.tests},
                        {"exhausted", res.exhausted},
                        {"kind", finding_kind_name(res.target.kind)},
                        {"rule", res.target.rule},
                        {"first_finding", res.final_finding.headline()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::string kept;
    for (uint64_t s : res.kept) kept += (kept.empty() ? "" : " ") + std::to_string(s);
    std::printf("minimized %s: %zu of %zu packets (%s) after %u re-recordings%s\n", a.trace.c_str(), res.kept.size(),
                res.original_packets, kept.c_str(), res.tests,
                res.exhausted ? " (--max-tests reached: may not be minimal)" : "");
    std::printf("  %s %s [%s]; wrote %s\n", finding_kind_name(res.target.kind),
                res.target.kind == FindingKind::oracle ? finding_source_name(res.target.source) : "",
                res.target.rule.c_str(), a.out.c_str());
    std::printf("  first finding now: %s\n", res.final_finding.headline().c_str());
  }
  return kExitOk;
}

}  // namespace

void register_minimize(CLI::App& app, Action* run) {
  auto a = std::make_shared<MinimizeArgs>();
  CLI::App* c = app.add_subcommand("minimize", "shrink a failing trace to the packets that still show its first finding");
  c->add_option("trace", a->trace, "the failing trace")->required();
  c->add_option("--quirk", a->quirks, "the historic behaviour it fails under: " + quirk_help())->take_all();
  c->add_option("-o,--output", a->out, "minimized trace to write (must not exist)")->required();
  c->add_option("--max-tests", a->max_tests, "re-recordings at most")->check(CLI::Range(1u, 1000000u));
  c->add_flag("--json", a->json, "machine-readable summary");
  c->callback([run, a]() { *run = [a]() { return run_minimize(*a); }; });
}

}  // namespace viona_rr
