// SPDX-License-Identifier: MIT
// library_test.cpp: the trace library's rules (traces/README.md): every trace
// passes without quirks, every quirk is detected, the README says so.
#include <algorithm>
#include <doctest/doctest.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "replay/replay_batch.h"
#include "tests/support/trace_scenario.h"

namespace {


std::string read_file(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = s.find_first_not_of(" \t");
  return i == std::string::npos ? "" : s.substr(i);
}

// The cells of a markdown table row "| a | b |".
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 1; i < line.size(); i++) {
    if (line[i] == '|') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  return out;
}

std::string stem(const std::string& path) {
  std::string n = path.substr(path.find_last_of('/') + 1);
  return n.size() > 6 && n.compare(n.size() - 6, 6, ".trace") == 0 ? n.substr(0, n.size() - 6) : n;
}

}  // namespace

TEST_CASE("library: every trace has a README row and its inspect text") {
  const std::string readme = read_file("traces/README.md");
  const std::vector<std::string> traces = viona::test::library_trace_paths();
  REQUIRE(traces.size() >= 16);
  for (const std::string& t : traces) {
    INFO(t);
    CHECK(readme.find("| " + stem(t) + " |") != std::string::npos);
    std::ifstream txt("traces/" + stem(t) + ".inspect.txt");
    CHECK(txt.good());
  }
}

TEST_CASE("library: no trace fails without quirks, every quirk is detected, and the README table says which") {
  const std::vector<std::string> traces = viona::test::library_trace_paths();
  const viona_rr::QuirkMatrix m = viona_rr::quirk_matrix(traces, 2);
  REQUIRE_FALSE(m.unreadable());
  for (const auto& r : m.baseline) {
    INFO(r.path << ": " << (r.findings.empty() ? std::string() : r.findings[0].headline()));
    CHECK(r.passed());
  }
  CHECK(m.ok());

  // The README's quirk matrix must name exactly the detecting traces.
  std::map<std::string, std::set<std::string>> table;
  std::istringstream in(read_file("traces/README.md"));
  bool in_matrix = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_matrix = line == "## Quirk matrix";
    if (!in_matrix || line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> c = cells(line);
    if (c.size() < 2) continue;
    viona::QuirkKind k;
    if (!viona::quirk_from_name(c[0], &k)) continue;
    std::istringstream names(c[1]);
    for (std::string n; std::getline(names, n, ',');) table[c[0]].insert(trim(n));
  }
  for (unsigned q = 0; q < viona::kQuirkCount; q++) {
    const std::string name = viona::quirk_name(static_cast<viona::QuirkKind>(q));
    INFO(name);
    std::set<std::string> want;
    for (const std::string& d : m.detected[q]) want.insert(stem(d));
    CHECK(table[name] == want);
  }
}

// What the README rows of the traces added in format 2 claim, checked in the
// files themselves (the replay tests only check that they replay).
TEST_CASE("library: pad56-linux-mrg pads 56-byte frames from the shared pad, uncounted") {
  const std::string t = "traces/pad56-linux-mrg.trace";
  using viona::test::sql_int;
  CHECK(sql_int(t, "SELECT count(*) FROM packets WHERE direction = 0 AND caplen = 56 AND orig_len = 56") == 4);
  CHECK(sql_int(t, "SELECT count(*) FROM used WHERE ring = 0") == 4);
  CHECK(sql_int(t, "SELECT count(*) FROM used WHERE ring = 0 AND len = 72") == 4);  // 12-byte header + 60
  CHECK(sql_int(t, "SELECT count(*) FROM probes WHERE name = 'rx_pad_short'") == 0);
  CHECK(sql_int(t, "SELECT count(*) FROM counters_final WHERE ring = 0 AND name = 'rs_rx_pad_short'") == 0);
  CHECK(sql_int(t, "SELECT value FROM counters_final WHERE ring = 0 AND name = 'vts_bytes'") == 240);
  CHECK(sql_int(t, "SELECT value FROM counters_final WHERE ring = 0 AND name = 'vts_packets'") == 4);
}

TEST_CASE("library: tx-csum traces negotiate CSUM and send every frame without a checksum failure") {
  using viona::test::sql_int;
  for (const char* t : {"traces/tx-csum-tcpreplay-partial.trace", "traces/tx-csum-tcpreplay-full.trace"}) {
    CAPTURE(t);
    CHECK((sql_int(t, "SELECT features_negotiated FROM config") & 1) == 1);  // VIRTIO_NET_F_CSUM
    CHECK(sql_int(t, "SELECT count(*) FROM packets WHERE direction = 1") == 179);
    CHECK(sql_int(t, "SELECT count(*) FROM used WHERE ring = 1") == 179);
    CHECK(sql_int(t, "SELECT count(*) FROM counters_final WHERE name LIKE 'rs_%' AND value <> 0") == 0);
    CHECK(sql_int(t, "SELECT value FROM counters_final WHERE ring = 1 AND name = 'vts_packets'") == 179);
  }
  CHECK(sql_int("traces/tx-csum-tcpreplay-partial.trace", "SELECT cksum_partial FROM config") == 1);
  CHECK(sql_int("traces/tx-csum-tcpreplay-full.trace", "SELECT cksum_full_v4 FROM config") == 1);
  CHECK(sql_int("traces/tx-csum-tcpreplay-full.trace", "SELECT cksum_partial FROM config") == 0);
}
