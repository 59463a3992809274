// SPDX-License-Identifier: MIT
// probes.cpp: probe names and argument descriptions.
#include "viona/probes.h"

#include <cstring>

namespace viona {

const char* probe_name(ProbeKind k) {
  switch (k) {
#define VIONA_PROBE(name, args) \
  case ProbeKind::name:         \
    return #name;
#include "viona/probes.inc"
#undef VIONA_PROBE
  }
  __builtin_unreachable();
}

const char* probe_arg_names(ProbeKind k) {
  switch (k) {
#define VIONA_PROBE(name, args) \
  case ProbeKind::name:         \
    return args;
#include "viona/probes.inc"
#undef VIONA_PROBE
  }
  __builtin_unreachable();
}

bool probe_from_name(const char* name, ProbeKind* out) {
  for (size_t i = 0; i < kProbeKindCount; i++) {
    auto k = static_cast<ProbeKind>(i);
    if (std::strcmp(name, probe_name(k)) == 0) {
      *out = k;
      return true;
    }
  }
  return false;
}

}  // namespace viona
