// SPDX-License-Identifier: MIT
// commands.h: the viona-rr subcommands; each lives in its own cmd_*.cpp.
#ifndef REPLAY_CLI_COMMANDS_H_
#define REPLAY_CLI_COMMANDS_H_

#include <functional>

namespace CLI {
class App;
}

namespace viona_rr {

// Exit statuses (documented in viona-rr(1)).
constexpr int kExitOk = 0;       // success
constexpr int kExitFinding = 1;  // a verification finding
constexpr int kExitUsage = 2;    // usage error or unreadable input

// Each registrar adds its subcommand to |app| and stores the action that
// runs it into |run| when that subcommand is the one parsed.
using Action = std::function<int()>;
void register_run(CLI::App& app, Action* run);
void register_record(CLI::App& app, Action* run);
void register_replay(CLI::App& app, Action* run);
void register_inspect(CLI::App& app, Action* run);
void register_export(CLI::App& app, Action* run);
void register_diff(CLI::App& app, Action* run);
void register_minimize(CLI::App& app, Action* run);
void register_vhost(CLI::App& app, Action* run);

}  // namespace viona_rr

#endif  // REPLAY_CLI_COMMANDS_H_
