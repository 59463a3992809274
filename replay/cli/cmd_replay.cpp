// SPDX-License-Identifier: MIT
// cmd_replay.cpp: viona-rr replay: verify traces against the port.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "replay/cli/cli_options.h"
#include "replay/cli/commands.h"
#include "replay/replay_batch.h"
#include "replay/replayer.h"

namespace viona_rr {

namespace {

struct ReplayArgs {
  std::vector<std::string> paths;
  std::vector<std::string> quirks;
  bool json = false;
  std::string junit;
  unsigned jobs = 1;
  std::string shard;
  bool quirk_matrix = false;
  bool verbose = false;
};

// The terminal progress line (nullptr when stderr is not a terminal).
std::function<void(size_t, size_t)> progress_line(bool on) {
  if (!on) return nullptr;
  return [](size_t d, size_t total) {
    std::fprintf(stderr, "\rreplaying: %zu/%zu traces", d, total);
    if (d == total) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  };
}

const char* verdict(const ReplayResult& r) {
  if (!r.error.ok()) return "ERROR";
  return r.passed() ? "PASS" : "FAIL";
}

nlohmann::json finding_json(const Finding& f) {
  nlohmann::json j = {{"kind", finding_kind_name(f.kind)},
                      {"source", finding_source_name(f.source)},
                      {"rule", f.rule},
                      {"op", f.op_seq},
                      {"ring", f.ring},
                      {"message", f.message},
                      {"expected", f.expected},
                      {"actual", f.actual},
                      {"context", f.context}};
  j["packet"] = f.packet_seq ? nlohmann::json(*f.packet_seq) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json result_json(const ReplayResult& r) {
  nlohmann::json j = {{"path", r.path},         {"verdict", verdict(r)}, {"packets", r.packets},
                      {"ops", r.ops},           {"events", r.events},    {"incomplete", r.incomplete},
                      {"divergences", r.count(FindingKind::divergence)}, {"oracle_violations", r.count(FindingKind::oracle)}};
  j["error"] = r.error.ok() ? nlohmann::json(nullptr) : nlohmann::json(r.error.message);
  nlohmann::json fs = nlohmann::json::array();
  for (const Finding& f : r.findings) fs.push_back(finding_json(f));
  j["findings"] = fs;
  return j;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

bool write_junit(const std::string& path, const std::vector<ReplayResult>& rs) {
  std::ofstream f(path);
  if (!f) return false;
  size_t fails = 0, errors = 0;
  for (const auto& r : rs) {
    fails += r.error.ok() && !r.passed();
    errors += !r.error.ok();
  }
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  f << "<testsuite name=\"viona-rr replay\" tests=\"" << rs.size() << "\" failures=\"" << fails << "\" errors=\""
    << errors << "\">\n";
  for (const auto& r : rs) {
    f << "  <testcase classname=\"traces\" name=\"" << xml_escape(r.path) << "\">\n";
    if (!r.error.ok()) {
      f << "    <error message=\"" << xml_escape(r.error.message) << "\"/>\n";
    } else if (!r.findings.empty()) {
      f << "    <failure message=\"" << xml_escape(r.findings[0].headline()) << "\">";
      for (const auto& x : r.findings) f << xml_escape(x.headline()) << "\n";
      f << "</failure>\n";
    }
    f << "  </testcase>\n";
  }
  f << "</testsuite>\n";
  return static_cast<bool>(f);
}

void print_text(const ReplayResult& r, bool verbose) {
  if (!r.error.ok()) {
    std::printf("ERROR %s: %s\n", r.path.c_str(), r.error.message.c_str());
    return;
  }
  std::printf("%-5s %s  %llu packets, %llu ops%s\n", verdict(r), r.path.c_str(),
              static_cast<unsigned long long>(r.packets), static_cast<unsigned long long>(r.ops),
              r.incomplete ? " (incomplete trace)" : "");
  size_t shown = 0;
  for (const Finding& f : r.findings) {
    if (!verbose && shown == 1) {
      if (r.findings.size() > 1) std::printf("      (+%zu more findings; --verbose shows them)\n", r.findings.size() - 1);
      break;
    }
    std::printf("      %s\n", f.headline().c_str());
    if (!f.expected.empty() || !f.actual.empty()) {
      std::printf("        expected: %s\n        actual:   %s\n", f.expected.c_str(), f.actual.c_str());
    }
    if (!f.context.empty()) std::printf("        chains:\n%s", f.context.c_str());
    shown++;
  }
}

int run_quirk_matrix(const std::vector<std::string>& paths, const ReplayArgs& a,
                     const std::function<void(size_t, size_t)>& progress) {
  const QuirkMatrix m = quirk_matrix(paths, a.jobs, progress);
  for (const auto& r : m.baseline) {
    if (!r.error.ok()) {
      std::fprintf(stderr, "viona-rr replay: %s\n", r.error.message.c_str());
      return kExitUsage;
    }
  }
  const size_t base_fail = m.baseline_failures();
  nlohmann::json j;
  j["baseline"] = {{"traces", paths.size()}, {"failed", base_fail}};
  if (!a.json) {
    std::printf("%-26s %s\n", "quirk", "detected by");
    std::printf("%-26s %s\n", "(none)",
                base_fail == 0 ? ("all " + std::to_string(paths.size()) + " traces pass").c_str()
                               : (std::to_string(base_fail) + " traces FAIL without quirks").c_str());
  }
  for (unsigned q = 0; q < viona::kQuirkCount; q++) {
    const auto& det = m.detected[q];
    const char* name = viona::quirk_name(static_cast<viona::QuirkKind>(q));
    j["quirks"][name] = det;
    if (!a.json) {
      std::string list;
      for (const auto& d : det) list += (list.empty() ? "" : ", ") + d;
      std::printf("%-26s %s\n", name, det.empty() ? "NOT DETECTED" : list.c_str());
    }
  }
  if (a.json) std::printf("%s\n", j.dump(2).c_str());
  return m.ok() ? kExitOk : kExitFinding;
}

int run_replay(const ReplayArgs& a) {
  std::vector<std::string> paths;
  std::string err;
  if (!collect_traces(a.paths, &paths, &err)) {
    std::fprintf(stderr, "viona-rr replay: %s\n", err.c_str());
    return kExitUsage;
  }
  if (!a.shard.empty()) {
    unsigned k, n;
    if (!parse_shard(a.shard, &k, &n)) {
      std::fprintf(stderr, "viona-rr replay: --shard wants K/N with 1 <= K <= N, not '%s'\n", a.shard.c_str());
      return kExitUsage;
    }
    std::vector<std::string> mine;
    for (size_t i = 0; i < paths.size(); i++) {
      if (i % n == k - 1) mine.push_back(paths[i]);
    }
    paths.swap(mine);
  }
  ReplayOptions opts;
  if (!parse_quirks(a.quirks, &opts.quirks, &err)) {
    std::fprintf(stderr, "viona-rr replay: %s\n", err.c_str());
    return kExitUsage;
  }
  const bool progress = !a.json && isatty(STDERR_FILENO) && paths.size() > 1;
  if (a.quirk_matrix) return run_quirk_matrix(paths, a, progress_line(progress));
  std::vector<ReplayResult> rs = replay_all(paths, opts, a.jobs, progress_line(progress));
  size_t passed = 0, failed = 0, errors = 0;
  for (const auto& r : rs) {
    if (!r.error.ok()) {
      errors++;
    } else if (r.passed()) {
      passed++;
    } else {
      failed++;
    }
  }
  if (a.json) {
    nlohmann::json j;
    j["traces"] = nlohmann::json::array();
    for (const auto& r : rs) j["traces"].push_back(result_json(r));
    j["summary"] = {{"traces", rs.size()}, {"passed", passed}, {"failed", failed}, {"errors", errors},
                    {"quirks", opts.quirks.to_string()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    for (const auto& r : rs) print_text(r, a.verbose);
    std::printf("replay: %zu passed, %zu failed\n", passed, failed + errors);
  }
  if (!a.junit.empty() && !write_junit(a.junit, rs)) {
    std::fprintf(stderr, "viona-rr replay: cannot write %s\n", a.junit.c_str());
    return kExitUsage;
  }
  return replay_exit_status(rs);
}

}  // namespace

void register_replay(CLI::App& app, Action* run) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* c = app.add_subcommand("replay", "replay traces through the port and verify what it does");
  c->add_option("traces", a->paths, "trace files or directories of *.trace")->required();
  c->add_option("--quirk", a->quirks, "replay with a historic behaviour: " + quirk_help())->take_all();
  c->add_flag("--json", a->json, "machine-readable output");
  c->add_option("--junit", a->junit, "also write a JUnit XML report to FILE");
  c->add_option("-j,--jobs", a->jobs, "traces replayed in parallel (output is the same at any -j)")
      ->check(CLI::Range(1u, 256u));
  c->add_option("--shard", a->shard, "replay only shard K of N (K/N) of the trace list");
  c->add_flag("--quirk-matrix", a->quirk_matrix, "for each quirk, list the traces that detect it");
  c->add_flag("-v,--verbose", a->verbose, "print every finding, not only the first of each trace");
  c->callback([run, a]() { *run = [a]() { return run_replay(*a); }; });
}

}  // namespace viona_rr
