// SPDX-License-Identifier: MIT
// cmd_export.cpp: viona-rr export: a trace's packets to pcap or pcapng (the work is in replay/trace_export).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "replay/cli/commands.h"
#include "replay/trace_export.h"

namespace viona_rr {

namespace {

int run_export(const ExportOptions& o) {
  ExportResult r = export_trace(o);
  if (!r.warning.empty()) std::fprintf(stderr, "viona-rr export: warning: %s\n", r.warning.c_str());
  switch (r.kind) {
    case ExportStatusKind::ok:
      break;
    case ExportStatusKind::bad_trace:
    case ExportStatusKind::bad_output:
      std::fprintf(stderr, "viona-rr export: %s\n", r.message.c_str());
      return kExitUsage;
  }
  if (r.truncated > 0) {
    std::fprintf(stderr, "viona-rr export: %llu frames cut to %u bytes\n", static_cast<unsigned long long>(r.truncated),
                 kExportSnaplen);
  }
  return kExitOk;
}

}  // namespace

void register_export(CLI::App& app, Action* run) {
  struct Args {
    ExportOptions opts;
    std::string format;
    std::string direction = "all";
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("export", "write a trace's packets as pcap or pcapng (pcapng frames carry their "
                                             "ring outcome as a comment)");
  c->add_option("--format", a->format, "pcap (libpcap, ns timestamps) or pcapng (per-packet outcome comments)")
      ->required()
      ->check(CLI::IsMember({"pcap", "pcapng"}));
  c->add_option("-o,--output", a->opts.output_path, "output file, - for standard output")->required();
  c->add_option("--direction", a->direction, "rx (host to guest), tx (guest to host) or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "rx", "tx"}));
  c->add_option("trace", a->opts.trace_path, "trace file")->required();
  c->footer(
      "Frames are written in capture order: caplen = captured bytes, len = orig_len, time =\n"
      "timestamp_ns. Exit status: 0 success; 2 usage error, unreadable or corrupt trace, or\n"
      "unwritable output. See viona-rr-export(1).");
  c->callback([run, a]() {
    a->opts.format = a->format == "pcap" ? ExportFormatKind::pcap : ExportFormatKind::pcapng;
    a->opts.direction = a->direction == "rx"   ? ExportDirectionKind::rx
                        : a->direction == "tx" ? ExportDirectionKind::tx
                                               : ExportDirectionKind::all;
    *run = [a]() { return run_export(a->opts); };
  });
}

}  // namespace viona_rr
