// SPDX-License-Identifier: MIT
// recorder.h: logs what crosses the device (guest actions, packets, ring
// events, counters) into a trace through TraceWriter.
#ifndef REPLAY_RECORDER_H_
#define REPLAY_RECORDER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "bhyve_glue/device.h"
#include "replay/event_log.h"
#include "replay/trace_writer.h"

namespace viona_rr {

// The recorder hears three things: the driver's writes into guest memory
// (GuestMemory's write observer), the control calls and batches the Device
// reports (DeviceObserver), and the port's probes (EventLog). The device
// reports an op after it ran, so the events it caused are held back and
// stamped with that op's sequence number; each op is written before its
// events. Everything goes to the writer in the calling thread; the writer
// batches rows into one transaction per kTraceBatch records.
class Recorder : public EventLog, public bhyve_glue::DeviceObserver {
 public:
  explicit Recorder(TraceWriter* w);
  ~Recorder() override;

  // mem_write ops from the driver's writes into |mem|.
  void watch_memory(viona::GuestMemory& mem);
  // A snapshot op followed by one counter snapshot per mapped ring.
  void record_snapshot(const viona::Link& link);
  // Flushes the writer's batch (everything so far survives a crash).
  void flush();

  // The first writer error, if any (recording continues silently after it).
  const TraceError& error() const { return err_; }
  uint64_t packets() const { return next_packet_ - 1; }
  uint64_t ops() const { return next_op_ - 1; }

  void on_ioctl(const bhyve_glue::IoctlRecord& rec) override;
  void on_rx_batch(int ring, const viona::RxFrame* frames, size_t n, const viona::RxBatchResult& r) override;
  void on_tx_packet(const viona::TxPacket& pkt) override;
  void on_tx_drain(uint16_t ring, const viona::TxDrainResult& r) override;
  void on_loan_release(uint16_t ring, uint16_t cookie) override;

 private:
  // Writes |op| (assigning its seq) and then the held-back events.
  void write_op(TraceOp op, std::optional<uint64_t> first_packet = std::nullopt,
                const viona::RxFrame* frames = nullptr, size_t nframes = 0);
  void write_events(std::vector<TraceEvent>&& evs);
  void check(TraceError e);

  TraceWriter* w_;
  viona::GuestMemory* mem_ = nullptr;
  uint64_t next_op_ = 1;
  uint64_t next_packet_ = 1;
  uint64_t clock_ns_ = 0;  // TX packet timestamps: recorder clock, 1 us apart
  TraceError err_;
};

// The op an ioctl becomes, if it changes device state (false for queries
// and for calls that failed: they leave no state behind to replay).
bool op_from_ioctl(const bhyve_glue::IoctlRecord& rec, TraceOp* op);

}  // namespace viona_rr

#endif  // REPLAY_RECORDER_H_
