// SPDX-License-Identifier: MIT
// record_bench.cpp: what recording costs RX: event capture alone, and a
// full Recorder writing a trace, against RX with no listener.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bench/bench_suite.h"
#include "bench/rx_rig.h"
#include "replay/event_log.h"
#include "replay/recorder.h"
#include "replay/trace_writer.h"

namespace viona_bench {

using namespace viona;

namespace {

// The recorder's probe-to-event half on its own: every probe, chain, used
// entry, interrupt and guest-write digest becomes a TraceEvent, stamped and
// taken (take_into) after each batch as the Recorder does, then dropped.
// With |skip_digests| the guest-write digests (XXH64 over every byte the
// device wrote) are left out, which splits the capture cost in two.
class BatchEventLog : public viona_rr::EventLog {
 public:
  explicit BatchEventLog(bool skip_digests) : skip_digests_(skip_digests) {}
  void on_guest_write(const viona::Ring& ring, uint16_t cookie, uint64_t offset_in_chain, const uint8_t* data,
                      size_t len) override {
    if (!skip_digests_) EventLog::on_guest_write(ring, cookie, offset_in_chain, data, len);
  }
  void end_batch(const RxFrames& f) {
    take_into(&batch_, ++op_seq_, packet_, f.frames.data(), f.frames.size());
    events += batch_.size();
    packet_ += f.frames.size();
    batches++;
  }
  uint64_t events = 0;
  uint64_t batches = 0;

 private:
  bool skip_digests_;
  viona_rr::EventBatch batch_;  // reused, as the Recorder reuses its own
  uint64_t op_seq_ = 0;
  uint64_t packet_ = 1;
};

volatile uint64_t digest_sink = 0;

std::string temp_trace_path(unsigned n) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  return (dir / ("viona-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".trace")).string();
}

void remove_trace(const std::string& p) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((p + suffix).c_str());
}

// A full recording of |batches| RX batches into a fresh trace per sample.
// Timed: the deliveries, the Recorder's packet/op/event rows and the final
// flush (commit). Not timed: open, config and close (indexes, complete=1),
// which are once per trace, not per packet.
// With RecorderMode::writer_thread the rows are written by the Recorder's
// thread: on the thread CPU clock a sample then counts only what the RX
// thread spends (capture, copying records into blocks, hand-offs; waiting
// for a full queue costs it no CPU). |all_cpu| times with the process CPU
// clock instead, both threads together: what the recording costs the host.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class TraceRun {
 public:
  TraceRun(RxRig& rig, Report& rep, viona_rr::RecorderMode mode = viona_rr::RecorderMode::inline_writer,
           bool all_cpu = false)
      : rig_(rig), rep_(rep), mode_(mode), all_cpu_(all_cpu) {}
  double run(uint64_t batches) {
    const std::string path = temp_trace_path(n_++);
    remove_trace(path);
    viona_rr::TraceError err;
    std::unique_ptr<viona_rr::TraceWriter> w = viona_rr::TraceWriter::open(path, {}, &err);
    if (!w) {
      rep_.fail("record: " + err.message);
      return 0;
    }
    viona_rr::TraceConfig cfg;
    cfg.features_negotiated = rig_.link().features();
    cfg.features_offered = rig_.link().features_offered();
    cfg.mtu = static_cast<uint16_t>(rig_.link().mtu);
    cfg.ring_sizes = {kRxQsz, 0};
    cfg.memory_mode = rig_.mem().mode();
    cfg.guest_profile = "linux-mrg";
    cfg.regions = rig_.mem().regions();
    cfg.direction = viona_rr::DirectionKind::rx;
    cfg.mac = rig_.link().mac;
    (void)w->write_config(cfg);
    double t = 0;
    {
      viona_rr::Recorder rec(w.get(), mode_);
      rec.watch_memory(rig_.mem());  // the guest's re-posts become mem_write ops
      rig_.link().set_listener(&rec);
      const RxFrames& f = rig_.frames();
      auto clock = [this] { return all_cpu_ ? process_cpu_seconds() : now_seconds(); };
      const double t0 = clock();
      for (uint64_t i = 0; i < batches; i++) {
        const RxBatchResult r = rig_.link().rx_deliver(0, f.frames.data(), f.frames.size());
        rec.on_rx_batch(0, f.frames.data(), f.frames.size(), r);
        rig_.reclaim();
      }
      rec.flush();
      t = clock() - t0;
      rig_.link().set_listener(nullptr);
      if (!rec.error().ok()) rep_.fail("record: " + rec.error().message);
      packets_ += rec.packets();
    }
    err = w->close();
    if (!err.ok()) rep_.fail("record close: " + err.message);
    std::error_code ec;
    bytes_ += std::filesystem::file_size(path, ec);
    remove_trace(path);
    return t;
  }
  double bytes_per_packet() const { return packets_ > 0 ? double(bytes_) / double(packets_) : 0; }

 private:
  RxRig& rig_;
  Report& rep_;
  viona_rr::RecorderMode mode_;
  bool all_cpu_;
  unsigned n_ = 0;
  uint64_t bytes_ = 0;
  uint64_t packets_ = 0;
};

}  // namespace

void record_benches(const BenchOptions& o, Report& rep) {
  if (!o.selected("rx_record_1514")) return;
  RxRig rig(MemoryMode::paged, 1514);
  const std::string why = rig.verify();
  if (!why.empty()) {
    rep.fail("rx_record_1514: " + why);
    return;
  }
  BatchEventLog log(false), log_nd(true);
  auto with_log = [&rig](BatchEventLog& l, uint64_t n) {
    rig.link().set_listener(&l);
    const double t0 = now_seconds();
    for (uint64_t i = 0; i < n; i++) {
      (void)rig.step();
      l.end_batch(rig.frames());
    }
    const double t = now_seconds() - t0;
    rig.link().set_listener(nullptr);
    return t;
  };
  TraceRun trace(rig, rep);
  TraceRun trace_thread(rig, rep, viona_rr::RecorderMode::writer_thread);
  TraceRun trace_thread_all(rig, rep, viona_rr::RecorderMode::writer_thread, true);
  uint64_t sink = 0;
  const double bytes = double(kRxBatch) * 1514;
  const std::vector<Contender> cs = {
      {"rx_mrg_paged_1514_no_listener", bytes, [&](uint64_t n) { return rig.run(n); }},
      {"rx_record_events_1514", bytes, [&](uint64_t n) { return with_log(log, n); }},
      {"rx_record_events_no_digest_1514", bytes, [&](uint64_t n) { return with_log(log_nd, n); }},
      {"digest_xxh64_1514", bytes,
       [&](uint64_t n) {
         const double t0 = now_seconds();
         for (uint64_t i = 0; i < n; i++) {
           for (const RxFrame& f : rig.frames().frames) {
             viona_rr::TraceDigester d;
             d.update(f.data, f.len);
             sink += d.value();
           }
         }
         return now_seconds() - t0;
       }},
      {"rx_record_trace_1514", bytes, [&](uint64_t n) { return trace.run(n); }},
      {"rx_record_trace_thread_1514", bytes, [&](uint64_t n) { return trace_thread.run(n); }},
      {"rx_record_trace_thread_all_cpu_1514", bytes, [&](uint64_t n) { return trace_thread_all.run(n); }},
  };
  const GroupSamples g = run_group(cs, o.reps, o.target_s);
  if (rep.failed()) return;
  auto per_frame = [](const BatchEventLog& l) {
    return l.batches > 0 ? double(l.events) / double(l.batches * kRxBatch) : 0;
  };
  char buf[200];
  std::snprintf(buf, sizeof buf, "EventLog listener, take() after each batch; %.1f events per frame", per_frame(log));
  const double ev = rep.add(cs, g, 1, 0, cs[1].name, "MB/s", 1e-6, buf).ratio;
  std::snprintf(buf, sizeof buf, "the same with on_guest_write ignored (no digests); %.1f events per frame",
                per_frame(log_nd));
  rep.add(cs, g, 2, 0, cs[2].name, "MB/s", 1e-6, buf);
  digest_sink = sink;  // keeps the digests from being optimised away
  rep.add(cs, g, 3, 0, cs[3].name, "MB/s", 1e-6, "TraceDigester (XXH64) over the batch's frame bytes alone, no device");
  std::snprintf(buf, sizeof buf,
                "Recorder + TraceWriter (SQLite WAL, 4096-row transactions) in a temp file; %.0f trace bytes per frame",
                trace.bytes_per_packet());
  const double tr = rep.add(cs, g, 4, 0, cs[4].name, "MB/s", 1e-6, buf).ratio;
  const double tt = rep.add(cs, g, 5, 0, cs[5].name, "MB/s", 1e-6,
                            "the same with the Recorder's writer thread; RX thread CPU only (the datapath's cost)")
                        .ratio;
  rep.add(cs, g, 6, 0, cs[6].name, "MB/s", 1e-6,
          "the same, timed with the process CPU clock (RX and writer thread together)");
  // The target: recording every event costs at most 10% of RX
  // throughput, i.e. a ratio of at least 0.90.
  std::snprintf(buf, sizeof buf,
                "target ratio >= 0.90; event capture %.3f (%s), full trace %.3f (%s), full trace with writer "
                "thread %.3f on the RX thread (%s)",
                ev, ev >= 0.90 ? "met" : "not met", tr, tr >= 0.90 ? "met" : "not met", tt,
                tt >= 0.90 ? "met" : "not met");
  rep.conclude("recording_target", buf, ev >= 0.90 && tr >= 0.90);
}

}  // namespace viona_bench
