// SPDX-License-Identifier: MIT
// cli_options.h: option values several subcommands share (quirk lists, trace paths).
#ifndef REPLAY_CLI_CLI_OPTIONS_H_
#define REPLAY_CLI_CLI_OPTIONS_H_

#include <string>
#include <vector>

#include "viona/quirks.h"

namespace viona_rr {

// Parses quirk names ("illumos-14032", ...); false with |*err| on an unknown one.
bool parse_quirks(const std::vector<std::string>& names, viona::Quirks* out, std::string* err);
// The --quirk help text: every quirk name with its symptom.
std::string quirk_help();

// TRACE|DIR arguments to trace files: a directory contributes its *.trace
// files in name order (C locale), so the list is the same on every host.
// False with |*err| for a path that does not exist.
bool collect_traces(const std::vector<std::string>& args, std::vector<std::string>* out, std::string* err);

// "K/N" (1 <= K <= N); false on anything else.
bool parse_shard(const std::string& s, unsigned* k, unsigned* n);

}  // namespace viona_rr

#endif  // REPLAY_CLI_CLI_OPTIONS_H_
