// SPDX-License-Identifier: MIT
// pipeline_bench.cpp: what recording costs the whole `viona-rr record`
// pipeline (capture -> stepping Device -> simulated linux-mrg guest -> trace),
// against the same pipeline with no trace.
#include <pcap/pcap.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_frames.h"
#include "bench/bench_suite.h"
#include "replay/record_session.h"
#include "replay/trace_reader.h"

namespace viona_bench {

namespace {

// The three clocks one sample is read with. The subject and its baseline
// are compared clock for clock, every clock read at the same two instants.
struct ClockReading {
  double wall = 0;     // std::chrono::steady_clock: what a user waits for
  double thread = 0;   // CLOCK_THREAD_CPUTIME_ID: the calling (datapath) thread
  double process = 0;  // CLOCK_PROCESS_CPUTIME_ID: every thread, the writer's too
};

double cpu_seconds(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

ClockReading read_clocks() {
  ClockReading c;
  c.wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  c.thread = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  c.process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  return c;
}

std::string temp_path(const std::string& what, unsigned n) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  return (dir / ("viona-bench-pipeline-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(n)))
      .string();
}

void remove_trace(const std::string& p) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((p + suffix).c_str());
}

// What a capture holds, read with libpcap: the frame count, and how many
// frames the device pads with rs_rx_pad_short (shorter than 60, not the
// 56-byte VLAN size, which is padded without a counter).
struct CaptureShape {
  uint64_t frames = 0;
  uint64_t pad_short = 0;
};

bool capture_shape(const std::string& path, CaptureShape* out, std::string* err) {
  char eb[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_open_offline(path.c_str(), eb);
  if (p == nullptr) {
    *err = path + ": " + eb;
    return false;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) {
    out->frames++;
    if (h->caplen < 60 && h->caplen != 56) out->pad_short++;
  }
  pcap_close(p);
  return true;
}

// |n| distinct 1514-byte UDP frames written once to a temp pcap.
bool write_1514_pcap(const std::string& path, unsigned n, std::string* err) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = dead != nullptr ? pcap_dump_open(dead, path.c_str()) : nullptr;
  if (d == nullptr) {
    *err = path + ": cannot write a pcap";
    if (dead != nullptr) pcap_close(dead);
    return false;
  }
  const std::array<uint8_t, 6> dst = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  for (unsigned i = 0; i < n; i++) {
    const std::vector<uint8_t> f = udp_frame(1514, dst, i);
    pcap_pkthdr h{};
    h.ts.tv_sec = 1;
    h.ts.tv_usec = static_cast<suseconds_t>(i);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return true;
}

// One contender: record_session() of the whole capture |repeat| times per
// iteration, with a fresh trace each time (created, written, closed: what
// the user pays), deleted after the clocks are read.
class PipelineRun {
 public:
  PipelineRun(const viona_rr::RecordSpec& spec, std::string tag, Report& rep)
      : spec_(spec), tag_(std::move(tag)), rep_(rep) {}

  // Runs one session and checks what the timing will rely on.
  void verify(const CaptureShape& shape) {
    viona_rr::RecordSpec s = spec_;
    s.out = temp_path(tag_ + "-verify", 0);
    remove_trace(s.out);
    viona_rr::RecordSummary sum;
    std::string err;
    const std::string name = "record_pipeline_" + tag_;
    if (!viona_rr::record_session(s, &sum, &err)) {
      rep_.fail(name + ": " + err);
      return;
    }
    const uint64_t offered = shape.frames * spec_.repeat;
    if (sum.frames != offered || sum.accepted != offered || sum.dropped != 0) {
      rep_.fail(name + ": " + std::to_string(sum.accepted) + " of " + std::to_string(offered) + " frames accepted, " +
                std::to_string(sum.dropped) + " dropped");
    }
    for (const viona_rr::RecordRingCounters& c : sum.rings) {
      viona::RingStats rs = c.rs;
      const uint64_t pad = c.ring == 0 ? shape.pad_short * spec_.repeat : 0;
      if (rs.rs_rx_pad_short != pad) rep_.fail(name + ": rs_rx_pad_short " + std::to_string(rs.rs_rx_pad_short));
      rs.rs_rx_pad_short = 0;  // the capture's short frames: expected, counted above
      if (!(rs == viona::RingStats{})) rep_.fail(name + ": an rs_* counter moved on ring " + std::to_string(c.ring));
    }
    if (!sum.guest_ok || sum.guest.rx_verified != offered) {
      rep_.fail(name + ": the guest verified " + std::to_string(sum.guest.rx_verified) + " of " +
                std::to_string(offered) + " frames: " + sum.guest.first_mismatch);
    }
    if (s.trace) {
      viona_rr::TraceError terr;
      std::unique_ptr<viona_rr::TraceReader> rd = viona_rr::TraceReader::open(s.out, &terr);
      std::vector<viona_rr::TracePacket> pk;
      if (!rd || !rd->read_packets(&pk).ok() || pk.size() != offered || sum.packets != offered) {
        rep_.fail(name + ": the trace does not hold the " + std::to_string(offered) + " packets offered" +
                  (terr.ok() ? "" : ": " + terr.message));
      }
    } else if (std::filesystem::exists(s.out)) {
      rep_.fail(name + ": a trace was written with trace = false");
    }
    remove_trace(s.out);
  }

  double run(uint64_t iters) {
    const ClockReading t0 = read_clocks();
    std::vector<std::string> made;
    for (uint64_t i = 0; i < iters; i++) {
      viona_rr::RecordSpec s = spec_;
      s.out = temp_path(tag_, n_++);
      remove_trace(s.out);
      std::string err;
      if (!viona_rr::record_session(s, nullptr, &err)) rep_.fail("record_pipeline_" + tag_ + ": " + err);
      if (s.trace) made.push_back(s.out);
    }
    const ClockReading t1 = read_clocks();
    for (const std::string& p : made) remove_trace(p);
    samples.push_back({t1.wall - t0.wall, t1.thread - t0.thread, t1.process - t0.process});
    return samples.back().wall;
  }

  std::vector<ClockReading> samples;  // every run(), calibration first

 private:
  viona_rr::RecordSpec spec_;
  std::string tag_;
  Report& rep_;
  unsigned n_ = 0;
};

// The group's samples re-timed with one clock: the last |reps| samples of
// each contender are its rounds (run_group calibrates first).
GroupSamples with_clock(const GroupSamples& g, const std::vector<PipelineRun*>& runs, unsigned reps,
                        double ClockReading::*clock) {
  GroupSamples out;
  out.iters = g.iters;
  for (const PipelineRun* r : runs) {
    std::vector<double> s;
    for (size_t k = r->samples.size() - reps; k < r->samples.size(); k++) s.push_back(r->samples[k].*clock);
    out.seconds.push_back(std::move(s));
  }
  return out;
}

void pipeline_group(const BenchOptions& o, Report& rep, const std::string& group, const std::string& pcap,
                    unsigned repeat, const std::string& what) {
  std::string err;
  CaptureShape shape;
  if (!capture_shape(pcap, &shape, &err)) {
    rep.fail(group + ": " + err);
    return;
  }
  viona_rr::RecordSpec spec;
  spec.pcap = pcap;
  spec.guest = "linux-mrg";
  spec.batch = 32;
  spec.repeat = repeat;
  viona_rr::RecordSpec none = spec, inl = spec, thr = spec;
  none.trace = false;
  inl.writer_thread = false;
  thr.writer_thread = true;
  PipelineRun r_none(none, group + "-none", rep), r_inl(inl, group + "-inline", rep), r_thr(thr, group + "-thread", rep);
  for (PipelineRun* r : {&r_none, &r_inl, &r_thr}) r->verify(shape);
  if (rep.failed()) return;
  const double frames = double(shape.frames) * repeat;
  const std::string base = group + "_no_trace";
  const std::vector<Contender> cs = {
      {base, frames, [&](uint64_t n) { return r_none.run(n); }},
      {group + "_inline", frames, [&](uint64_t n) { return r_inl.run(n); }},
      {group + "_thread", frames, [&](uint64_t n) { return r_thr.run(n); }},
  };
  const GroupSamples g = run_group(cs, o.reps, o.target_s);
  if (rep.failed()) return;
  const std::vector<PipelineRun*> runs = {&r_none, &r_inl, &r_thr};
  struct Clock {
    const char* suffix;
    double ClockReading::*field;
    const char* note;
  };
  const Clock clocks[] = {
      {"wall", &ClockReading::wall, "steady_clock: the throughput a user waits for"},
      {"cpu", &ClockReading::thread, "the calling thread's CPU: what recording costs the datapath thread"},
      {"all_cpu", &ClockReading::process, "process CPU: both threads"},
  };
  const char* modes[] = {"inline", "thread"};
  std::string verdict = "target ratio >= 0.90 of the pipeline without a trace (" + what + ");";
  bool all_met = true;
  for (size_t m = 0; m < 2; m++) {
    for (const Clock& c : clocks) {
      const GroupSamples gc = with_clock(g, runs, o.reps, c.field);
      const std::string name = group + "_" + modes[m] + "_" + c.suffix;
      const std::string note = std::string(m == 0 ? "inline writer" : "writer thread") + ", " + c.note + "; " + what;
      const double ratio = rep.add(cs, gc, m + 1, 0, name, "packets/s", 1, note).ratio;
      char buf[96];
      std::snprintf(buf, sizeof buf, " %s %s %.3f (%s)", modes[m], c.suffix, ratio, ratio >= 0.90 ? "met" : "not met");
      verdict += buf;
      // The target's measure is wall time; CPU clocks are reported alongside.
      if (c.field == &ClockReading::wall) all_met = all_met && ratio >= 0.90;
    }
  }
  rep.conclude(group + "_target", verdict, all_met);
}

}  // namespace

void pipeline_benches(const BenchOptions& o, Report& rep) {
  // 179 mixed-size frames (60-1514 bytes) x 28 = 5012 frames per session.
  if (o.selected("record_pipeline")) {
    const char* env = std::getenv("VIONA_SHARED_DIR");
    std::string pcap = std::string(env != nullptr ? env : "/work/shared") + "/pcaps/tcpreplay__test.pcap";
    pipeline_group(o, rep, "record_pipeline", pcap, 28, "tcpreplay__test.pcap x 28, batch 32, linux-mrg");
  }
  // 64 distinct 1514-byte frames x 78 = 4992 frames per session.
  if (o.selected("record_pipeline_1514")) {
    const std::string pcap = temp_path("1514", 0) + ".pcap";
    std::string err;
    if (!write_1514_pcap(pcap, 64, &err)) {
      rep.fail("record_pipeline_1514: " + err);
      return;
    }
    pipeline_group(o, rep, "record_pipeline_1514", pcap, 78, "64 UDP frames of 1514 bytes x 78, batch 32, linux-mrg");
    std::remove(pcap.c_str());
  }
}

}  // namespace viona_bench
