// SPDX-License-Identifier: MIT
// recorder.h: logs what crosses the device (guest actions, packets, ring
// events, counters) into a trace through TraceWriter.
#ifndef REPLAY_RECORDER_H_
#define REPLAY_RECORDER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bhyve_glue/device.h"
#include "replay/event_log.h"
#include "replay/trace_writer.h"

namespace viona_rr {

// The recorder hears three things: the driver's writes into guest memory
// (GuestMemory's write observer), the control calls and batches the Device
// reports (DeviceObserver), and the port's probes (EventLog). The device
// reports an op after it ran, so the events it caused are held back and
// stamped with that op's sequence number; each op is written before its
// events. The writer batches rows into one transaction per kTraceBatch
// records.
//
// Where the rows are written:
//   * RecorderMode::inline_writer: in the calling thread, as each call
//     returns (the default).
//   * RecorderMode::writer_thread: the calling thread appends records to a
//     block; every kRecorderBlock records the block is handed to a writer
//     thread (one mutex hand-off per block, not per record), which adds them
//     to the TraceWriter in the same order. At most one block waits while
//     another is written: when the writer falls behind, the caller blocks
//     (the queue is bounded; nothing is dropped). The trace is identical to
//     the inline one, row for row. The writer is only touched by the thread
//     while it drains; the caller must not use |w| itself until drain(),
//     flush() or the destructor returned.
// All calls into the Recorder come from one thread (the device's).
enum class RecorderMode : uint8_t { inline_writer = 0, writer_thread = 1 };
constexpr size_t kRecorderBlock = 1024;  // records per hand-off to the writer thread

class Recorder : public EventLog, public bhyve_glue::DeviceObserver {
 public:
  explicit Recorder(TraceWriter* w, RecorderMode mode = RecorderMode::inline_writer);
  // Drains the queue into the writer (not a commit: call flush() for that).
  ~Recorder() override;

  // mem_write ops from the driver's writes into |mem|.
  void watch_memory(viona::GuestMemory& mem);
  // A snapshot op followed by one counter snapshot per mapped ring.
  void record_snapshot(const viona::Link& link);
  // Hands every record so far to the writer and commits its batch: when it
  // returns, everything recorded before the call survives a crash (SIGKILL).
  void flush();
  // Hands every record so far to the writer, without a commit. After it
  // returns the caller may use the writer directly (close() it, say).
  void drain();

  // The first writer error, if any (recording continues silently after it).
  // With the writer thread, an error shows here once the block that hit it
  // was drained: after the next drain() or flush() at the latest.
  const TraceError& error() const { return err_; }
  RecorderMode mode() const { return mode_; }
  uint64_t packets() const { return next_packet_ - 1; }
  uint64_t ops() const { return next_op_ - 1; }

  void on_ioctl(const bhyve_glue::IoctlRecord& rec) override;
  void on_rx_batch(int ring, const viona::RxFrame* frames, size_t n, const viona::RxBatchResult& r) override;
  void on_tx_packet(const viona::TxPacket& pkt) override;
  void on_tx_drain(uint16_t ring, const viona::TxDrainResult& r) override;
  void on_loan_release(uint16_t ring, uint16_t cookie) override;

 private:
  // A cleared op of |kind| to fill; end_op() assigns its seq and writes it,
  // then the held-back events. (Inline: a reused scratch op; writer thread:
  // the next slot of the block.)
  TraceOp& begin_op(OpKind kind);
  void end_op(TraceOp& op, std::optional<uint64_t> first_packet = std::nullopt,
              const viona::RxFrame* frames = nullptr, size_t nframes = 0);
  TracePacket& begin_packet();
  void end_packet(TracePacket& p);
  void check(TraceError e);

  // Records in call order: one tag per record, the records themselves in
  // per-kind lists whose slots (and their byte vectors) are reused.
  enum class RecordTag : uint8_t { op, packet, events };
  struct Block {
    std::vector<RecordTag> order;
    std::vector<TraceOp> ops;
    size_t nops = 0;
    std::vector<TracePacket> packets;
    size_t npackets = 0;
    std::vector<EventBatch> events;  // one batch per write_op
    size_t nevents = 0;
    size_t records = 0;  // rows: ops + packets + events
    void clear();
    TraceOp& add_op();
    TracePacket& add_packet();
    EventBatch& add_events();
  };
  // Adds |b|'s records to the writer; returns the first error.
  TraceError write_block(Block& b);
  // Hands fill_ to the writer thread (waits while a block is still queued).
  void hand_off();
  void writer_main();

  TraceWriter* w_;
  RecorderMode mode_;
  // Inline mode's reused scratch records.
  EventBatch batch_;
  TraceOp op_;
  TracePacket packet_;
  Block fill_;        // writer-thread mode: filled by the caller
  // Shared with the writer thread, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  Block queued_;
  bool queued_full_ = false;
  bool writing_ = false;  // the thread is adding a block to the writer
  bool stop_ = false;
  TraceError thread_err_;
  std::thread thread_;

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
