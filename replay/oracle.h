// SPDX-License-Identifier: MIT
// oracle.h: invariants a correct device keeps, whatever a recording says.
#ifndef REPLAY_ORACLE_H_
#define REPLAY_ORACLE_H_

#include <map>
#include <vector>

#include "replay/event_log.h"
#include "replay/finding.h"
#include "replay/trace_records.h"

namespace viona_rr {

// Checks the events of one op at a time, in op order, keeping what it must
// across ops (queue sizes, TX chain lengths by head id). The same Oracle
// type runs over the recorded events and over the replayed ones.
//
// Rules (the `rule` names of the findings):
//   used-slot        a used entry goes to slot used_idx mod qsize (consecutive slots)
//   used-len-sum     an accepted RX frame's used lengths sum to header + frame
//                    length (padded to 60 bytes unless it was 56)
//   unpadded-frame   a frame shorter than 60 bytes was delivered unpadded
//   too-short-overcount  too_short reported copied > size
//   too-short-room   too_short although the chains offered room for the frame
//   tx-used-len      a TX used length equals its chain's total length
//   guest-bytes      (replay only) the guest buffers hold the frame's bytes
//   num-buffers      (replay only) the header's num_buffers equals the chains used
class Oracle {
 public:
  Oracle(const TraceConfig& cfg, FindingSourceKind source);
  // |packets| indexed by packet seq (entry 0 unused); |op| the op that ran.
  void check_op(const TraceOp& op, const std::vector<TraceEvent>& evs, const std::vector<const TracePacket*>& packets,
                std::vector<Finding>* out);
  uint32_t rx_header_len() const { return hdr_len_; }
  uint16_t qsize(uint16_t ring) const;

 private:
  FindingSourceKind source_;
  uint32_t hdr_len_;
  std::map<uint16_t, uint16_t> qsize_;                     // ring -> queue size, from ring ops
  std::map<std::pair<uint16_t, uint32_t>, uint32_t> tx_len_;  // (ring, head id) -> chain length
};

// Expected bytes of a frame as the guest must see it: padded with zeros
// to 60 bytes unless it is 56 bytes (shared pad) or already >= 60.
size_t padded_frame_len(size_t len);

}  // namespace viona_rr

#endif  // REPLAY_ORACLE_H_
