// SPDX-License-Identifier: MIT
// trace_reader.cpp: libFuzzer target for TraceReader::open + read_all on arbitrary bytes as a trace file.
//
// Invariant: a hostile file is either read (open ok or incomplete, then
// read_config/read_all ok) or refused with a TraceError whose kind is not
// ok and whose message is one non-empty line (no '\n'); never a crash, a
// sanitizer report or an exception.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz/fuzz_check.h"
#include "replay/trace_reader.h"
#include "replay/trace_records.h"

namespace {

// One scratch file per fuzzing process, rewritten for every input.
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir != nullptr ? dir : "/tmp") + "/viona-fuzz-trace-" + std::to_string(getpid()) + ".trace";
    return p;
  }();
  return path;
}

void check_error(const viona_rr::TraceError& e) {
  if (e.ok()) return;
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(e.message.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(size == 0 || std::fwrite(data, 1, size, f) == size);
  std::fclose(f);
  viona_rr::TraceError err;
  std::unique_ptr<viona_rr::TraceReader> r = viona_rr::TraceReader::open(path, &err);
  if (r == nullptr) {
    FUZZ_CHECK(!err.ok() && err.kind != viona_rr::TraceErrorKind::incomplete);
    check_error(err);
  } else {
    FUZZ_CHECK(err.ok() || err.kind == viona_rr::TraceErrorKind::incomplete);
    check_error(err);
    viona_rr::TraceConfig cfg;
    check_error(r->read_config(&cfg));
    viona_rr::TraceContents all;
    check_error(r->read_all(&all));
  }
  std::remove(path.c_str());
  return 0;
}
