// SPDX-License-Identifier: MIT
// bench_report.cpp: ratio lines, conclusions, and the --json document.
#include "bench/bench_report.h"

#include <thread>

#include <nlohmann/json.hpp>

namespace viona_bench {

const BenchLine& Report::add(const std::vector<Contender>& cs, const GroupSamples& g, size_t si, size_t bi,
                             const std::string& name, const std::string& unit, double scale,
                             const std::string& note) {
  BenchLine l;
  l.name = name;
  l.unit = unit;
  l.baseline = cs[bi].name;
  l.iters = g.iters[si];
  l.baseline_iters = g.iters[bi];
  l.subject_s = g.seconds[si];
  l.baseline_s = g.seconds[bi];
  l.reps = static_cast<unsigned>(l.subject_s.size());
  l.note = note;
  const double ws = cs[si].work_per_iter * static_cast<double>(l.iters);
  const double wb = cs[bi].work_per_iter * static_cast<double>(l.baseline_iters);
  const double ts = median(l.subject_s), tb = median(l.baseline_s);
  l.value = ts > 0 ? ws * scale / ts : 0;
  l.baseline_value = tb > 0 ? wb * scale / tb : 0;
  // Per-round ratios: both contenders of a round saw the same machine load.
  std::vector<double> ratios;
  for (size_t r = 0; r < l.subject_s.size(); r++) {
    const double rs = l.subject_s[r] > 0 ? ws / l.subject_s[r] : 0;
    const double rb = l.baseline_s[r] > 0 ? wb / l.baseline_s[r] : 0;
    ratios.push_back(rb > 0 ? rs / rb : 0);
  }
  l.ratio = median(ratios);
  if (!json_) {
    std::printf("%s: %.1f %s (ratio %.3f of baseline %s %.1f %s)\n", l.name.c_str(), l.value, l.unit.c_str(),
                l.ratio, l.baseline.c_str(), l.baseline_value, l.unit.c_str());
    std::fflush(stdout);
  }
  lines_.push_back(std::move(l));
  return lines_.back();
}

void Report::conclude(const std::string& key, const std::string& text, bool ok) {
  conclusions_.push_back(Conclusion{key, text, ok});
  if (!json_) {
    std::printf("%s: %s\n", key.c_str(), text.c_str());
    std::fflush(stdout);
  }
}

void Report::fail(const std::string& what) {
  failures_.push_back(what);
  std::fprintf(stderr, "viona-bench: %s\n", what.c_str());
}

const BenchLine* Report::find(const std::string& name) const {
  for (const BenchLine& l : lines_) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

void Report::print_json(std::FILE* out, unsigned reps, double target_s) const {
  nlohmann::json doc;
  doc["reps"] = reps;
  doc["clock"] = clock_name(bench_clock());
  doc["target_seconds_per_sample"] = target_s;
  doc["hardware_threads"] = std::thread::hardware_concurrency();
  doc["ratio_definition"] = "median over rounds of subject rate / baseline rate, both measured in the same round";
  nlohmann::json results = nlohmann::json::array();
  for (const BenchLine& l : lines_) {
    nlohmann::json j;
    j["name"] = l.name;
    j["unit"] = l.unit;
    j["value"] = l.value;
    j["ratio"] = l.ratio;
    j["baseline"] = l.baseline;
    j["baseline_value"] = l.baseline_value;
    j["iters_per_sample"] = l.iters;
    j["baseline_iters_per_sample"] = l.baseline_iters;
    j["subject_seconds"] = l.subject_s;
    j["baseline_seconds"] = l.baseline_s;
    if (!l.note.empty()) j["note"] = l.note;
    results.push_back(j);
  }
  doc["results"] = results;
  nlohmann::json concl = nlohmann::json::object();
  for (const Conclusion& c : conclusions_) concl[c.key] = {{"ok", c.ok}, {"text", c.text}};
  doc["conclusions"] = concl;
  doc["failures"] = failures_;
  std::fprintf(out, "%s\n", doc.dump(2).c_str());
}

}  // namespace viona_bench
