// SPDX-License-Identifier: MIT
// event_log.h: turns the port's probe callbacks into trace events; the
// small base the Recorder and the Replayer share.
#ifndef REPLAY_EVENT_LOG_H_
#define REPLAY_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replay/trace_records.h"
#include "viona/link.h"
#include "viona/probes.h"

namespace viona_rr {

// One device output, in event order.
enum class EventKind : uint8_t {
  chain = 0,
  used = 1,
  probe = 2,
  digest = 3,
  interrupt = 4,
  counters = 5,
};
const char* event_kind_name(EventKind k);

struct TraceEvent {
  EventKind kind = EventKind::probe;
  TraceChain chain;
  TraceUsed used;
  TraceProbe probe;
  TraceDigest digest;
  TraceInterrupt interrupt;
  TraceCounterSnapshot counters;

  uint64_t seq() const;
  uint64_t op_seq() const;
  void set_seq(uint64_t seq, uint64_t op_seq);
  std::optional<uint64_t> packet_seq() const;
  void set_packet_seq(std::optional<uint64_t> p);
  // Whether two events say the same thing (sequence numbers ignored).
  bool same_as(const TraceEvent& o) const;
  std::string dump() const;
};

// A reusable list of events. clear() keeps the slots, and the vectors
// inside them (a chain's descriptors and pieces), for the next batch, so a
// recorder in steady state allocates nothing per event. A slot past size()
// holds stale contents; add() hands one out for the caller to fill whole.
class EventBatch {
 public:
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  TraceEvent& operator[](size_t i) { return slots_[i]; }
  const TraceEvent& operator[](size_t i) const { return slots_[i]; }
  TraceEvent* begin() { return slots_.data(); }
  TraceEvent* end() { return slots_.data() + n_; }
  const TraceEvent* begin() const { return slots_.data(); }
  const TraceEvent* end() const { return slots_.data() + n_; }
  void clear() { n_ = 0; }
  // The next slot, stale: every member the event's kind uses must be set.
  TraceEvent& add() {
    if (n_ == slots_.size()) slots_.emplace_back();
    return slots_[n_++];
  }
  void swap(EventBatch& o) {
    slots_.swap(o.slots_);
    std::swap(n_, o.n_);
  }

 private:
  std::vector<TraceEvent> slots_;
  size_t n_ = 0;
};

// Merges a trace's event tables back into one list in event-seq order.
std::vector<TraceEvent> merge_events(const std::vector<TraceChain>& chains, const std::vector<TraceUsed>& used,
                                     const std::vector<TraceProbe>& probes, const std::vector<TraceDigest>& digests,
                                     const std::vector<TraceInterrupt>& intrs,
                                     const std::vector<TraceCounterSnapshot>& counters);

// A ProbeListener that builds TraceEvents. Events are collected in
// pending() until the caller stamps them with the op that caused them
// (the device reports an op only after it ran) and takes them.
// RX events are tagged with their frame's index in the batch; the caller
// maps indices to packet sequence numbers when it stamps.
class EventLog : public viona::ProbeListener {
 public:
  // Stamps pending events with |op_seq|. Events of an RX frame get packet
  // seq |first_packet| + k, where |frames|[k] is the frame they belong to
  // (rx_input may deliver a subset, reordered by steering and filtering).
  std::vector<TraceEvent> take(uint64_t op_seq, std::optional<uint64_t> first_packet = std::nullopt,
                               const viona::RxFrame* frames = nullptr, size_t nframes = 0);
  // The same, into |out| (whose old contents are dropped): the pending
  // buffer and |out| trade places, so both keep their slots. The recorder's
  // per-batch path.
  void take_into(EventBatch* out, uint64_t op_seq, std::optional<uint64_t> first_packet = std::nullopt,
                 const viona::RxFrame* frames = nullptr, size_t nframes = 0);
  // A TX packet of head |cookie| on |ring| reached the backend as packet
  // |packet_seq|: its pending chain, used entry and probes (everything on
  // that ring since its chain was popped) belong to it.
  void tag_tx_packet(uint16_t ring, uint16_t cookie, uint64_t packet_seq);
  // Appends one counter snapshot per mapped ring of |link|.
  void snapshot(const viona::Link& link);
  bool empty() const { return pending_.empty(); }
  uint64_t next_seq() const { return next_seq_; }

  void on_probe(const viona::ProbeEvent& ev) override;
  void on_chain(const viona::Ring& ring, const viona::Chain& chain) override;
  void on_used(const viona::Ring& ring, uint16_t slot, uint32_t id, uint32_t len) override;
  void on_interrupt(const viona::Ring& ring, viona::InterruptKind kind) override;
  void on_guest_write(const viona::Ring& ring, uint16_t cookie, uint64_t offset_in_chain, const uint8_t* data,
                      size_t len) override;
  void on_rx_frame(const viona::Ring& ring, const uint8_t* frame) override;

 private:
  // A chain the device is writing into, and the digest of what it wrote.
  struct OpenDigest {
    uint16_t ring;
    uint16_t cookie;
    TraceDigester d;
  };
  // A fresh pending slot of |kind|, its seq assigned (op seq 0 until take).
  TraceEvent& push(EventKind kind);
  void stamp(uint64_t op_seq, std::optional<uint64_t> first_packet, const viona::RxFrame* frames, size_t nframes);
  OpenDigest* find_digest(uint16_t ring, uint16_t cookie);

  EventBatch pending_;
  std::vector<const uint8_t*> frame_of_;  // per pending event: its RX frame's bytes, or null
  const uint8_t* cur_frame_ = nullptr;
  uint64_t next_seq_ = 1;
  // Open chains: a handful at a time (one, or a merged frame's few), so a
  // linear scan from the last one used beats a map and allocates nothing.
  std::vector<OpenDigest> digests_;
  size_t last_digest_ = 0;
  std::vector<std::pair<const uint8_t*, size_t>> frame_index_;  // take's scratch: (frame bytes, k), sorted
};

}  // namespace viona_rr

#endif  // REPLAY_EVENT_LOG_H_
