// SPDX-License-Identifier: MIT
// quirks.h: historic viona behaviours that can be switched back on at run time.
#ifndef VIONA_QUIRKS_H_
#define VIONA_QUIRKS_H_

#include <cstdint>
#include <string>

namespace viona {

// One flag per past behaviour, off by default (newest illumos semantics).
enum class QuirkKind : uint8_t {
  // illumos 14032 (fixed 2021-08, 49e0679264): merged RX added the running
  // per-chain total to the frame total on every copy. Symptom: too_short
  // with copied > size (2014 for 1514) once buffers are page-split.
  illumos_14032 = 0,
  // illumos 13783 (2021-05, 427f9b9a16): vq_pushchain_many wrote every
  // element into the same used slot while used.idx advanced by n.
  illumos_13783_batch_slot = 1,
  // Before OS-6815: short RX frames were not padded to 60 bytes.
  pre_os_6815 = 2,
};
constexpr unsigned kQuirkCount = 3;

const char* quirk_name(QuirkKind k);     // "illumos-14032", ...
const char* quirk_symptom(QuirkKind k);  // one line for --help and man pages
bool quirk_from_name(const std::string& name, QuirkKind* out);

struct Quirks {
  uint32_t bits = 0;  // bit k set: QuirkKind k active
  bool has(QuirkKind k) const { return (bits >> static_cast<unsigned>(k)) & 1; }
  void set(QuirkKind k, bool on = true) {
    if (on) {
      bits |= 1u << static_cast<unsigned>(k);
    } else {
      bits &= ~(1u << static_cast<unsigned>(k));
    }
  }
  std::string to_string() const;  // comma-separated names, "" when none
};

}  // namespace viona

#endif  // VIONA_QUIRKS_H_
