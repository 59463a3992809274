// SPDX-License-Identifier: MIT
// guest_profile.cpp: the named guest profiles and the custom profile's parser.
#include "bhyve_glue/guest/guest_profile.h"

#include <cerrno>
#include <cstdlib>

#include "viona/virtio_defs.h"

namespace bhyve_glue {

namespace {

using namespace viona;

// What every profile asks for: the MAC in config space, link status, the
// MTU field, indirect descriptors and NOTIFY_ON_EMPTY, as Linux does.
constexpr uint64_t kBaseFeatures =
    VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU | VIRTIO_F_RING_INDIRECT_DESC |
    VIRTIO_F_RING_NOTIFY_ON_EMPTY;

GuestProfile linux_mrg() {
  GuestProfile p;
  p.name = "linux-mrg";
  p.want_features = kBaseFeatures | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
                    VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4;
  // 1536-byte buffers carved back to back out of 32 KiB page-fragment
  // blocks: 21 per block, so buffers 2, 5, 7, 10, ... straddle a 4 KiB
  // page and become two iovecs (the layout behind illumos 14032).
  p.rx_buf = 1536;
  p.rx_stride = 1536;
  p.rx_block = 32768;
  p.rx_descs = 1;
  p.tx_indirect = true;  // header + data: two entries, so Linux goes indirect
  return p;
}

GuestProfile linux_big() {
  GuestProfile p;
  p.name = "linux-big";
  p.want_features = kBaseFeatures | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_CSUM |
                    VIRTIO_NET_F_HOST_TSO4;
  // add_recvbuf_big: a 10-byte header buffer then 16 whole pages (64 KiB),
  // one chain of 17 entries through an indirect table.
  p.rx_hdr_desc = kNetHdrLen;
  p.rx_buf = 4096;
  p.rx_stride = 4096;
  p.rx_descs = 16;
  p.rx_indirect = true;
  p.rx_chains = 256;  // bounds guest memory to 16 MiB of receive pages
  p.tx_indirect = true;
  return p;
}

GuestProfile linux_small() {
  GuestProfile p;
  p.name = "linux-small";
  p.want_features = kBaseFeatures;
  // add_recvbuf_small: one buffer holding the 10-byte header and a
  // 1518-byte frame (GOOD_PACKET_LEN), in 2 KiB slots that never straddle a page.
  p.rx_buf = kNetHdrLen + 1518;
  p.rx_stride = 2048;
  p.rx_descs = 1;
  p.tx_indirect = true;
  return p;
}

bool parse_u32(const std::string& v, uint32_t* out) {
  if (v.empty() || v[0] == '-' || v[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long x = std::strtoul(v.c_str(), &end, 0);
  if (errno != 0 || *end != '\0' || x > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(x);
  return true;
}

void set_bit(uint64_t* f, uint64_t bit, bool on) {
  if (on) {
    *f |= bit;
  } else {
    *f &= ~bit;
  }
}

}  // namespace

bool guest_profile_from_name(const std::string& spec, GuestProfile* out, std::string* err) {
  if (spec == "linux-mrg") {
    *out = linux_mrg();
    return true;
  }
  if (spec == "linux-big") {
    *out = linux_big();
    return true;
  }
  if (spec == "linux-small") {
    *out = linux_small();
    return true;
  }
  if (spec.compare(0, 6, "custom") != 0 || (spec.size() > 6 && spec[6] != ':')) {
    *err = "unknown guest profile \"" + spec + "\" (linux-mrg, linux-big, linux-small, custom:...)";
    return false;
  }
  // custom starts from linux-mrg's features with direct, page-aligned buffers.
  GuestProfile p = linux_mrg();
  p.name = "custom";
  p.rx_block = 0;
  p.tx_indirect = false;
  std::string rest = spec.size() > 7 ? spec.substr(7) : "";
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t comma = rest.find(',', pos);
    if (comma == std::string::npos) comma = rest.size();
    std::string tok = rest.substr(pos, comma - pos);
    pos = comma + 1;
    size_t eq = tok.find('=');
    uint32_t v = 0;
    if (eq == std::string::npos || !parse_u32(tok.substr(eq + 1), &v)) {
      *err = "custom profile: \"" + tok + "\" is not key=number";
      return false;
    }
    std::string k = tok.substr(0, eq);
    if (k == "ring") {
      if (v <= 2 || v > VRING_MAX_LEN || (v & (v - 1)) != 0) {
        *err = "custom profile: ring " + std::to_string(v) + " is not a power of two in 4..32768";
        return false;
      }
      p.ring_size = static_cast<uint16_t>(v);
    } else if (k == "msix") {
      p.msix = v != 0;
    } else if (k == "mrg") {
      set_bit(&p.want_features, VIRTIO_NET_F_MRG_RXBUF, v != 0);
    } else if (k == "csum") {
      set_bit(&p.want_features, VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_CSUM, v != 0);
    } else if (k == "tso") {
      set_bit(&p.want_features, VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_HOST_TSO4, v != 0);
    } else if (k == "indirect_desc") {
      set_bit(&p.want_features, VIRTIO_F_RING_INDIRECT_DESC, v != 0);
    } else if (k == "buf") {
      p.rx_buf = v;
    } else if (k == "offset") {
      p.rx_offset = v;
    } else if (k == "stride") {
      p.rx_stride = v;
    } else if (k == "block") {
      p.rx_block = v;
    } else if (k == "descs") {
      p.rx_descs = v;
    } else if (k == "hdr") {
      p.rx_hdr_desc = v;
    } else if (k == "rx_indirect") {
      p.rx_indirect = v != 0;
    } else if (k == "chains") {
      p.rx_chains = v;
    } else if (k == "tx_indirect") {
      p.tx_indirect = v != 0;
    } else if (k == "tx_slots") {
      p.tx_slots = v;
    } else {
      *err = "custom profile: unknown key \"" + k + "\"";
      return false;
    }
  }
  // Keep the stride at least the buffer unless the caller set both.
  if (p.rx_stride < p.rx_buf && spec.find("stride=") == std::string::npos) p.rx_stride = p.rx_buf;
  if (p.rx_buf == 0 || p.rx_descs == 0 || p.rx_descs + (p.rx_hdr_desc ? 1 : 0) > VTNET_MAXSEGS) {
    *err = "custom profile: buf must be > 0 and 1 <= descs (+ hdr) <= 32";
    return false;
  }
  if (p.rx_stride < p.rx_buf) {
    *err = "custom profile: stride is smaller than buf (buffers would overlap)";
    return false;
  }
  if (p.rx_block != 0 && p.rx_offset + p.rx_buf > p.rx_block) {
    *err = "custom profile: offset + buf exceeds block";
    return false;
  }
  if (p.tx_slots == 0) {
    *err = "custom profile: tx_slots must be > 0";
    return false;
  }
  *out = p;
  return true;
}

}  // namespace bhyve_glue
