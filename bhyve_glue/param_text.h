// SPDX-License-Identifier: MIT
// param_text.h: the text encoding of link params that stands in for viona's packed nvlists.
#ifndef BHYVE_GLUE_PARAM_TEXT_H_
#define BHYVE_GLUE_PARAM_TEXT_H_

#include <string>

#include "viona/link.h"

// viona passes VNA_IOC_{GET,SET,DEFAULT}_PARAMS a packed nvlist. We use a
// small text list instead, one pair per line, each line ending in '\n':
//
//     KEY=TYPE:VALUE
//
// TYPE is one of boolean, uint8, uint16, uint32, uint64, string (the nvpair
// types a caller could plausibly send). boolean VALUE is "true" or "false";
// integer VALUEs are decimal without sign; string VALUE runs to the end of
// the line. A malformed line, an unknown TYPE or a repeated key makes the
// whole buffer "unpackable" (EINVAL, no error list), as a corrupt nvlist does.
//
// GET/DEFAULT produce exactly, in this order:
//     tx_copy_data=boolean:true\ntx_header_pad=uint16:0\n
//
// The SET error list uses the same framing, KEY=MESSAGE per line, with
// viona's messages "invalid type", "value out of range", "unknown key", in
// the order the keys appeared in the input.

namespace bhyve_glue {

std::string encode_params(const viona::LinkParams& p);

// Result of decode_params.
enum class [[nodiscard]] ParamDecodeKind : uint8_t {
  ok = 0,          // |*out| updated from |*base| with every key
  unpackable = 1,  // malformed buffer; nothing applied, no error list
  rejected = 2,    // well formed, but keys failed; |*errors| lists them
};
// Validate-then-commit: |*out| is written only on ok.
ParamDecodeKind decode_params(const std::string& text, const viona::LinkParams& base, viona::LinkParams* out,
                              std::string* errors);

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_PARAM_TEXT_H_
