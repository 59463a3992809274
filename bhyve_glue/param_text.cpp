// SPDX-License-Identifier: MIT
// param_text.cpp: encoding and validating link params (viona_ioc_set_params' key rules).
#include "bhyve_glue/param_text.h"

#include <cstdint>
#include <set>

#include "viona/virtio_defs.h"

namespace bhyve_glue {

std::string encode_params(const viona::LinkParams& p) {
  std::string s = "tx_copy_data=boolean:";
  s += p.tx_copy_data ? "true" : "false";
  s += "\ntx_header_pad=uint16:" + std::to_string(p.tx_header_pad) + "\n";
  return s;
}

namespace {

bool parse_u64(const std::string& v, uint64_t* out) {
  if (v.empty() || v.size() > 20) return false;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *out = x;
  return true;
}

// The largest value each integer type can carry; 0 for non-integers.
uint64_t type_max(const std::string& t) {
  if (t == "uint8") return UINT8_MAX;
  if (t == "uint16") return UINT16_MAX;
  if (t == "uint32") return UINT32_MAX;
  if (t == "uint64") return UINT64_MAX;
  return 0;
}

}  // namespace

ParamDecodeKind decode_params(const std::string& text, const viona::LinkParams& base, viona::LinkParams* out,
                              std::string* errors) {
  viona::LinkParams next = base;
  std::string errs;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return ParamDecodeKind::unpackable;
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    size_t colon = eq == std::string::npos ? std::string::npos : line.find(':', eq + 1);
    if (eq == 0 || eq == std::string::npos || colon == std::string::npos) return ParamDecodeKind::unpackable;
    std::string key = line.substr(0, eq);
    std::string type = line.substr(eq + 1, colon - eq - 1);
    std::string val = line.substr(colon + 1);
    if (!seen.insert(key).second) return ParamDecodeKind::unpackable;
    uint64_t num = 0;
    bool boolean = false;
    if (type == "boolean") {
      if (val == "true") {
        boolean = true;
      } else if (val != "false") {
        return ParamDecodeKind::unpackable;
      }
    } else if (type_max(type) != 0) {
      if (!parse_u64(val, &num) || num > type_max(type)) return ParamDecodeKind::unpackable;
    } else if (type != "string") {
      return ParamDecodeKind::unpackable;
    }
    if (key == "tx_copy_data") {
      if (type != "boolean") {
        errs += key + "=invalid type\n";
      } else {
        next.tx_copy_data = boolean;
      }
    } else if (key == "tx_header_pad") {
      if (type != "uint16") {
        errs += key + "=invalid type\n";
      } else if (num > viona::VIONA_MAX_HEADER_PAD) {
        errs += key + "=value out of range\n";
      } else {
        next.tx_header_pad = static_cast<uint16_t>(num);
      }
    } else {
      errs += key + "=unknown key\n";
    }
  }
  if (!errs.empty()) {
    *errors = errs;
    return ParamDecodeKind::rejected;
  }
  errors->clear();
  *out = next;
  return ParamDecodeKind::ok;
}

}  // namespace bhyve_glue
