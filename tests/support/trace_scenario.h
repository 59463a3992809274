// SPDX-License-Identifier: MIT
// trace_scenario.h: test helpers to record scenarios into scratch traces and to alter traces.
#ifndef TESTS_SUPPORT_TRACE_SCENARIO_H_
#define TESTS_SUPPORT_TRACE_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replay/record_session.h"
#include "replay/replayer.h"

namespace viona {
namespace test {

// A mkdtemp directory, removed with its files when it goes out of scope.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Records |spec| (pcap resolved through shared_pcap(), out = dir/name);
// REQUIREs success and returns the trace path.
std::string record_scenario(const ScratchDir& dir, const std::string& name, viona_rr::RecordSpec spec,
                            viona_rr::RecordSummary* sum = nullptr);

// traces/*.trace, sorted (the tests run from the repository root).
std::vector<std::string> library_trace_paths();

// Byte copy; REQUIREs success.
void copy_file(const std::string& from, const std::string& to);
// Runs |sql| on the SQLite file |path| (read-write); returns rows changed,
// or -1 on an error.
int64_t sql_exec(const std::string& path, const std::string& sql);
// The first column of the first row of |sql|, as an integer (-1 if none).
int64_t sql_int(const std::string& path, const std::string& sql);
// Writes |bytes| to |path| (truncating).
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Every finding's headline, in order.
std::vector<std::string> headlines(const viona_rr::ReplayResult& r);

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_TRACE_SCENARIO_H_
