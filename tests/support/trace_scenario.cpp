// SPDX-License-Identifier: MIT
// trace_scenario.cpp: scratch recordings and direct SQLite edits for the replay tests.
#include "tests/support/trace_scenario.h"

#include <dirent.h>
#include <sqlite3.h>

#include <algorithm>
#include <doctest/doctest.h>
#include <fstream>
#include <iterator>

#include "replay/minimize.h"
#include "tests/support/pcap_frames.h"

namespace viona {
namespace test {

ScratchDir::ScratchDir() {
  std::string err;
  path_ = viona_rr::make_work_dir(&err);
  REQUIRE_MESSAGE(!path_.empty(), err);
}

ScratchDir::~ScratchDir() { viona_rr::remove_work_dir(path_); }

std::string record_scenario(const ScratchDir& dir, const std::string& name, viona_rr::RecordSpec spec,
                            viona_rr::RecordSummary* sum) {
  spec.pcap = shared_pcap(spec.pcap);
  spec.out = dir.file(name);
  std::string err;
  REQUIRE_MESSAGE(viona_rr::record_session(spec, sum, &err), name << ": " << err);
  return spec.out;
}

std::vector<std::string> library_trace_paths() {
  std::vector<std::string> out;
  DIR* d = opendir("traces");
  REQUIRE_MESSAGE(d != nullptr, "run the tests from the repository root");
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 6 && n.compare(n.size() - 6, 6, ".trace") == 0) out.push_back("traces/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), from);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  REQUIRE_MESSAGE(out.good(), to);
}

int64_t sql_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  int64_t n = -1;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) n = sqlite3_changes(db);
  sqlite3_close(db);
  return n;
}

int64_t sql_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE_MESSAGE(out.good(), path);
}

std::vector<std::string> headlines(const viona_rr::ReplayResult& r) {
  std::vector<std::string> out;
  for (const viona_rr::Finding& f : r.findings) out.push_back(f.headline());
  return out;
}

}  // namespace test
}  // namespace viona
