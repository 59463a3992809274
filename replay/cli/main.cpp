// SPDX-License-Identifier: MIT
// main.cpp: viona-rr, the one command-line tool; subcommands register here.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "replay/cli/commands.h"

// Registrars that are not built yet are weak, so the tool links while the
// subcommands land one by one.
namespace viona_rr {
__attribute__((weak)) void register_run(CLI::App&, Action*);
__attribute__((weak)) void register_record(CLI::App&, Action*);
__attribute__((weak)) void register_replay(CLI::App&, Action*);
__attribute__((weak)) void register_inspect(CLI::App&, Action*);
__attribute__((weak)) void register_export(CLI::App&, Action*);
__attribute__((weak)) void register_diff(CLI::App&, Action*);
__attribute__((weak)) void register_minimize(CLI::App&, Action*);
__attribute__((weak)) void register_vhost(CLI::App&, Action*);
}  // namespace viona_rr

int main(int argc, char** argv) {
  CLI::App app{"viona-rr: record and replay the viona virtio-net device port"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "viona-rr 0.1");
  viona_rr::Action action;
  using Reg = void (*)(CLI::App&, viona_rr::Action*);
  const Reg regs[] = {viona_rr::register_run,     viona_rr::register_record, viona_rr::register_replay,
                      viona_rr::register_inspect, viona_rr::register_export, viona_rr::register_diff,
                      viona_rr::register_minimize, viona_rr::register_vhost};
  for (Reg r : regs) {
    if (r != nullptr) r(app, &action);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? viona_rr::kExitOk : viona_rr::kExitUsage;
  }
  if (!action) {
    std::fprintf(stderr, "viona-rr: no action for this subcommand\n");
    return viona_rr::kExitUsage;
  }
  return action();
}
