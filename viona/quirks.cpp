// SPDX-License-Identifier: MIT
// quirks.cpp: quirk names and symptoms.
#include "viona/quirks.h"

namespace viona {

const char* quirk_name(QuirkKind k) {
  switch (k) {
    case QuirkKind::illumos_14032:
      return "illumos-14032";
    case QuirkKind::illumos_13783_batch_slot:
      return "illumos-13783-batch-slot";
    case QuirkKind::pre_os_6815:
      return "pre-OS-6815";
  }
  __builtin_unreachable();
}

const char* quirk_symptom(QuirkKind k) {
  switch (k) {
    case QuirkKind::illumos_14032:
      return "merged RX over-counts copied bytes on page-split buffers: too_short, bad_rx_frame";
    case QuirkKind::illumos_13783_batch_slot:
      return "batched used entries all written to one slot; the others stay stale";
    case QuirkKind::pre_os_6815:
      return "RX frames shorter than 60 bytes are delivered unpadded";
  }
  __builtin_unreachable();
}

bool quirk_from_name(const std::string& name, QuirkKind* out) {
  for (unsigned i = 0; i < kQuirkCount; i++) {
    auto k = static_cast<QuirkKind>(i);
    if (name == quirk_name(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

std::string Quirks::to_string() const {
  std::string s;
  for (unsigned i = 0; i < kQuirkCount; i++) {
    auto k = static_cast<QuirkKind>(i);
    if (!has(k)) continue;
    if (!s.empty()) s += ",";
    s += quirk_name(k);
  }
  return s;
}

}  // namespace viona
