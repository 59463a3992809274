// SPDX-License-Identifier: MIT
// trace_reader_regress_test.cpp: reproducers found by fuzz/trace_reader (make fuzz), kept as plain tests so make test guards them.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "replay/trace_reader.h"
#include "replay/trace_records.h"
#include "tests/support/temp_dir.h"

namespace viona_rr {
namespace {

// The fuzzer's reproducer: one byte of a library trace changed (offset
// 94247 of merge-overrun-custom-9000.trace set to 55) makes two cells of
// a b-tree page overlap. PRAGMA quick_check then reports several lines
// ("*** in database main ***\nMultiple uses for byte ... of page 24"),
// and the reader put them into its message verbatim: a corrupt trace must
// get a one-line error (DEVELOPERS.md).
TEST_CASE("fuzz trace_reader: an integrity-check failure is reported on one line") {
  viona::test::TempDir dir("viona-fuzz-regress");
  std::ifstream in("traces/merge-overrun-custom-9000.trace", std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 94247);
  bytes[94247] = 55;
  const std::string path = dir.file("corrupt.trace");
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(path, &err);
  CHECK(r == nullptr);
  CHECK(err.kind == TraceErrorKind::corrupt);
  CHECK(err.message.find("integrity check failed") != std::string::npos);
  CHECK(err.message.find('\n') == std::string::npos);
}

// The second reproducer: ten bytes of the same trace changed break the
// SQL of a view in sqlite_schema; SQLite's "malformed database schema"
// message quotes that SQL, newlines included.
TEST_CASE("fuzz trace_reader: a malformed-schema message is reported on one line") {
  viona::test::TempDir dir("viona-fuzz-regress");
  std::ifstream in("traces/merge-overrun-custom-9000.trace", std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 139264);
  const std::pair<size_t, unsigned char> edits[] = {{10650, 247}, {40877, 23},  {56789, 97},  {56790, 98},
                                                    {56791, 115}, {56792, 101}, {56793, 110}, {56794, 116},
                                                    {75266, 39},  {138161, 126}};
  for (const auto& e : edits) bytes[e.first] = static_cast<char>(e.second);
  const std::string path = dir.file("corrupt.trace");
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  TraceError err;
  std::unique_ptr<TraceReader> r = TraceReader::open(path, &err);
  CHECK(r == nullptr);
  CHECK(err.kind == TraceErrorKind::corrupt);
  CHECK(err.message.find("malformed database schema") != std::string::npos);
  CHECK(err.message.find('\n') == std::string::npos);
}

}  // namespace
}  // namespace viona_rr
