// SPDX-License-Identifier: MIT
// oracle.cpp: device invariants checked over the events of each op.
#include "replay/oracle.h"

#include <algorithm>

#include "viona/virtio_defs.h"

namespace viona_rr {

size_t padded_frame_len(size_t len) { return std::max<size_t>(len, viona::MIN_BUF_SIZE); }

Oracle::Oracle(const TraceConfig& cfg, FindingSourceKind source) : source_(source) {
  const uint64_t f = cfg.features_negotiated;
  hdr_len_ = (f & (viona::VIRTIO_NET_F_MRG_RXBUF | viona::VIRTIO_F_VERSION_1)) ? viona::kNetHdrMrgLen
                                                                                 : viona::kNetHdrLen;
  for (size_t i = 0; i < cfg.ring_sizes.size(); i++) {
    if (cfg.ring_sizes[i] != 0) qsize_[static_cast<uint16_t>(i)] = cfg.ring_sizes[i];
  }
}

uint16_t Oracle::qsize(uint16_t ring) const {
  auto it = qsize_.find(ring);
  return it == qsize_.end() ? 0 : it->second;
}

void Oracle::check_op(const TraceOp& op, const std::vector<TraceEvent>& evs,
                      const std::vector<const TracePacket*>& packets, std::vector<Finding>* out) {
  auto finding = [&](const char* rule, uint16_t ring, std::optional<uint64_t> pkt, std::string msg,
                     std::string expected, std::string actual) {
    out->push_back(Finding::make(FindingKind::oracle, source_, rule, op.seq, pkt, ring, std::move(msg),
                                 std::move(expected), std::move(actual)));
  };
  if (op.kind == OpKind::ring_init || op.kind == OpKind::ring_init_modern) qsize_[op.ring] = static_cast<uint16_t>(op.args[0]);
  if (op.kind == OpKind::ring_set_state) qsize_[op.ring] = static_cast<uint16_t>(op.args[2]);

  // Per RX packet: used-length sum, room offered, whether it was accepted.
  struct PacketView {
    uint16_t ring = 0;
    uint64_t used_sum = 0;
    uint64_t room = 0;  // total length of writable chains offered to it
    bool accepted = false;
    bool gro = false;
  };
  std::map<uint64_t, PacketView> rx;
  for (const TraceEvent& e : evs) {
    switch (e.kind) {
      case EventKind::chain:
        if (viona::Link::is_tx_ring(e.chain.ring)) {
          tx_len_[{e.chain.ring, e.chain.cookie}] = e.chain.total_len;
        } else if (e.chain.packet_seq) {
          PacketView& v = rx[*e.chain.packet_seq];
          v.ring = e.chain.ring;
          v.room += e.chain.total_len;
        }
        break;
      case EventKind::used: {
        const uint16_t q = qsize(e.used.ring);
        if (q != 0 && e.used.slot != (e.used.used_idx & (q - 1))) {
          finding("used-slot", e.used.ring, e.used.packet_seq,
                  "used entry " + std::to_string(e.used.used_idx) + " written to slot " + std::to_string(e.used.slot) +
                      ", not slot " + std::to_string(e.used.used_idx & (q - 1)),
                  std::to_string(e.used.used_idx & (q - 1)), std::to_string(e.used.slot));
        }
        if (viona::Link::is_tx_ring(e.used.ring)) {
          auto it = tx_len_.find({e.used.ring, e.used.id});
          if (it != tx_len_.end() && it->second != e.used.len) {
            finding("tx-used-len", e.used.ring, std::nullopt,
                    "TX used length " + std::to_string(e.used.len) + " for head " + std::to_string(e.used.id) +
                        " is not its chain length " + std::to_string(it->second),
                    std::to_string(it->second), std::to_string(e.used.len));
          }
        } else if (e.used.packet_seq) {
          rx[*e.used.packet_seq].used_sum += e.used.len;
        }
        break;
      }
      case EventKind::probe: {
        const TraceProbe& p = e.probe;
        if (p.kind == viona::ProbeKind::pkt_rx && p.packet_seq) rx[*p.packet_seq].accepted = true;
        if (p.kind == viona::ProbeKind::rx_gro_fallback && p.packet_seq) rx[*p.packet_seq].gro = true;
        if (p.kind == viona::ProbeKind::too_short) {
          const uint64_t copied = p.arg[1], size = p.arg[2];
          if (copied > size) {
            finding("too-short-overcount", p.ring, p.packet_seq,
                    "too_short reports copied " + std::to_string(copied) + " > frame size " + std::to_string(size),
                    "copied <= " + std::to_string(size), std::to_string(copied));
          }
        }
        break;
      }
      case EventKind::digest:
      case EventKind::interrupt:
      case EventKind::counters:
        break;
    }
  }
  // too_short despite room: checked once the whole op's chains are known.
  for (const TraceEvent& e : evs) {
    if (e.kind != EventKind::probe || e.probe.kind != viona::ProbeKind::too_short || !e.probe.packet_seq) continue;
    const PacketView& v = rx[*e.probe.packet_seq];
    const uint64_t need = hdr_len_ + e.probe.arg[2];
    if (v.room >= need) {
      finding("too-short-room", e.probe.ring, e.probe.packet_seq,
              "too_short although the chains offered " + std::to_string(v.room) + " bytes for " +
                  std::to_string(need),
              "no too_short", "too_short copied " + std::to_string(e.probe.arg[1]));
    }
  }
  for (const auto& [seq, v] : rx) {
    if (!v.accepted || v.gro || seq >= packets.size() || packets[seq] == nullptr) continue;
    const size_t len = packets[seq]->data.size();
    const uint64_t want = hdr_len_ + padded_frame_len(len);
    if (v.used_sum == hdr_len_ + len && len < viona::MIN_BUF_SIZE) {
      finding("unpadded-frame", v.ring, seq,
              "frame of " + std::to_string(len) + " bytes delivered unpadded", std::to_string(want),
              std::to_string(v.used_sum));
    } else if (v.used_sum != want) {
      finding("used-len-sum", v.ring, seq,
              "used lengths sum to " + std::to_string(v.used_sum) + ", expected header " + std::to_string(hdr_len_) +
                  " + frame " + std::to_string(padded_frame_len(len)),
              std::to_string(want), std::to_string(v.used_sum));
    }
  }
}

}  // namespace viona_rr
