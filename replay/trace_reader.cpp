// SPDX-License-Identifier: MIT
// trace_reader.cpp: TraceReader: open-time validation and checked row-to-record decoding.
#include "replay/trace_reader.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

#include "replay/trace_format.h"

namespace viona_rr {

namespace {

constexpr uint64_t kU16 = 0xffff;
constexpr uint64_t kU32 = 0xffffffffull;
constexpr uint64_t kU64 = ~0ull;

const char* type_name(int t) {
  switch (t) {
    case SQLITE_INTEGER:
      return "integer";
    case SQLITE_FLOAT:
      return "real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "blob";
    case SQLITE_NULL:
      return "null";
    default:
      return "unknown";
  }
}

// Owns a prepared statement.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt** out() { return &st_; }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

// Decodes the columns of the current row of one statement, checking each
// against its "must" rule. The first violation is kept as a corrupt
// TraceError naming file, table, row and column; later checks are no-ops.
class RowCheck {
 public:
  RowCheck(const std::string& path, const char* table, sqlite3_stmt* st) : path_(path), table_(table), st_(st) {}

  void set_row(std::string row) { row_ = std::move(row); }
  bool ok() const { return err_.ok(); }
  const TraceError& error() const { return err_; }

  // Unsigned column of at most |max|; kU64 means the full 64 bits, stored
  // as the same bit pattern.
  template <typename T>
  void u(int col, uint64_t max, T* out) {
    if (!ok()) return;
    int t = sqlite3_column_type(st_, col);
    if (t != SQLITE_INTEGER) return bad(col, "an integer", type_name(t));
    int64_t v = sqlite3_column_int64(st_, col);
    uint64_t uv;
    std::memcpy(&uv, &v, sizeof uv);
    if (max != kU64 && (v < 0 || uv > max)) {
      return bad(col, "0.." + std::to_string(max), std::to_string(v));
    }
    *out = static_cast<T>(uv);
  }
  void i(int col, int64_t min, int64_t max, int64_t* out) {
    if (!ok()) return;
    int t = sqlite3_column_type(st_, col);
    if (t != SQLITE_INTEGER) return bad(col, "an integer", type_name(t));
    int64_t v = sqlite3_column_int64(st_, col);
    if (v < min || v > max) return bad(col, std::to_string(min) + ".." + std::to_string(max), std::to_string(v));
    *out = v;
  }
  void b(int col, bool* out) {
    uint64_t v = 0;
    u(col, 1, &v);
    if (ok()) *out = v != 0;
  }
  void opt_u64(int col, std::optional<uint64_t>* out) {
    if (!ok()) return;
    if (sqlite3_column_type(st_, col) == SQLITE_NULL) {
      out->reset();
      return;
    }
    uint64_t v = 0;
    u(col, kU64, &v);
    if (ok()) *out = v;
  }
  void text(int col, std::string* out) {
    if (!ok()) return;
    int t = sqlite3_column_type(st_, col);
    if (t != SQLITE_TEXT) return bad(col, "text", type_name(t));
    const unsigned char* p = sqlite3_column_text(st_, col);
    int n = sqlite3_column_bytes(st_, col);
    out->assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  void blob(int col, std::vector<uint8_t>* out) {
    if (!ok()) return;
    int t = sqlite3_column_type(st_, col);
    if (t != SQLITE_BLOB) return bad(col, "a blob", type_name(t));
    const uint8_t* p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, col));
    int n = sqlite3_column_bytes(st_, col);
    out->assign(p, p + n);
  }
  // An enum column: |decode| is a from_trace_* function.
  template <typename E>
  void e(int col, bool (*decode)(int64_t, E*), const char* what, E* out) {
    if (!ok()) return;
    int t = sqlite3_column_type(st_, col);
    if (t != SQLITE_INTEGER) return bad(col, what, type_name(t));
    int64_t v = sqlite3_column_int64(st_, col);
    if (!decode(v, out)) bad(col, what, std::to_string(v));
  }
  // A rule that involves more than one column.
  void rule(bool holds, const char* col, const std::string& expected, const std::string& found) {
    if (!ok() || holds) return;
    err_ = TraceError::make(TraceErrorKind::corrupt, path_ + ": table " + table_ + ", row " + row_ + ": " + col +
                                                         ": expected " + expected + ", found " + found);
  }

 private:
  void bad(int col, const std::string& expected, const std::string& found) {
    rule(false, sqlite3_column_name(st_, col), expected, found);
  }

  const std::string& path_;
  const char* table_;
  sqlite3_stmt* st_;
  std::string row_;
  TraceError err_;
};

std::string seq_row(sqlite3_stmt* st) {
  return "seq=" + std::to_string(sqlite3_column_int64(st, 0));
}

// SQLite's messages can span lines (a quick_check report, a malformed
// schema quoting its SQL): a trace error is one line, so newlines become "; ".
std::string one_line(std::string s) {
  for (size_t at = s.find('\n'); at != std::string::npos; at = s.find('\n', at)) s.replace(at, 1, "; ");
  return s;
}

}  // namespace

TraceReader::TraceReader(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

TraceReader::~TraceReader() { sqlite3_close(db_); }

TraceError TraceReader::has_table(const char* name, bool* have) const {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, st.out(),
                         nullptr) != SQLITE_OK) {
    return sqlite_error("cannot read the schema");
  }
  sqlite3_bind_text(st.get(), 1, name, -1, SQLITE_STATIC);
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error("cannot read the schema");
  *have = rc == SQLITE_ROW;
  return TraceError{};
}

TraceError TraceReader::sqlite_error(const char* what) const {
  return TraceError::make(TraceErrorKind::corrupt, path_ + ": " + what + ": " + one_line(sqlite3_errmsg(db_)));
}

std::unique_ptr<TraceReader> TraceReader::open(const std::string& path, TraceError* err) {
  // Check the file ourselves first: SQLite would happily "open" a missing
  // path or an empty file as a new, empty database.
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) {
    *err = TraceError::make(TraceErrorKind::not_a_file, path + ": " + std::strerror(errno));
    return nullptr;
  }
  if (!S_ISREG(sb.st_mode)) {
    *err = TraceError::make(TraceErrorKind::not_a_file,
                            path + (S_ISDIR(sb.st_mode) ? ": is a directory, not a trace file" : ": not a regular file"));
    return nullptr;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = TraceError::make(TraceErrorKind::not_a_file, path + ": " + std::strerror(errno));
    return nullptr;
  }
  // The SQLite file header is 100 bytes; a trace cannot be shorter.
  unsigned char hdr[100];
  ssize_t n = ::pread(fd, hdr, sizeof hdr, 0);
  ::close(fd);
  static const char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  if (n < static_cast<ssize_t>(sizeof hdr) || std::memcmp(hdr, kMagic, sizeof kMagic) != 0) {
    *err = TraceError::make(TraceErrorKind::not_sqlite,
                            path + ": not an SQLite database (" +
                                (n < static_cast<ssize_t>(sizeof hdr)
                                     ? std::to_string(n < 0 ? 0 : n) + " bytes, shorter than the 100-byte header"
                                     : std::string("no \"SQLite format 3\" header")) +
                                "), so not a viona-rr trace");
    return nullptr;
  }

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    *err = TraceError::make(TraceErrorKind::not_sqlite,
                            path + ": sqlite cannot open it: " + one_line(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<TraceReader> r(new TraceReader(db, path));
  TraceError e = r->validate();
  *err = e;
  if (e.ok() || e.kind == TraceErrorKind::incomplete) return r;
  return nullptr;
}

TraceError TraceReader::validate() {
  auto pragma_int = [&](const char* sql, int64_t* out) -> int {
    Stmt st;
    int rc = sqlite3_prepare_v2(db_, sql, -1, st.out(), nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st.get(), 0);
      return SQLITE_OK;
    }
    return rc == SQLITE_DONE ? SQLITE_CORRUPT : sqlite3_errcode(db_);
  };
  int64_t app_id = 0;
  int rc = pragma_int("PRAGMA application_id", &app_id);
  if (rc != SQLITE_OK) {
    TraceErrorKind k = (rc == SQLITE_NOTADB) ? TraceErrorKind::not_sqlite : TraceErrorKind::corrupt;
    return TraceError::make(k, path_ + ": cannot read the database header: " + one_line(sqlite3_errmsg(db_)));
  }
  if (app_id != kTraceApplicationId) {
    char buf[160];
    snprintf(buf, sizeof buf, ": not a viona-rr trace: application_id is 0x%08" PRIx32 ", expected 0x%08" PRIx32,
             static_cast<uint32_t>(app_id), static_cast<uint32_t>(kTraceApplicationId));
    return TraceError::make(TraceErrorKind::not_a_trace, path_ + buf);
  }
  if (pragma_int("PRAGMA user_version", &user_version_) != SQLITE_OK) {
    return sqlite_error("cannot read user_version");
  }
  if (user_version_ > kTraceFormatVersion) {
    return TraceError::make(TraceErrorKind::too_new,
                            path_ + ": trace format " + std::to_string(user_version_) +
                                " is newer than this viona-rr, which reads format " +
                                std::to_string(kTraceFormatVersion) + " and older; use a newer viona-rr");
  }
  if (user_version_ < 1) {
    return TraceError::make(TraceErrorKind::corrupt,
                            path_ + ": header: user_version: expected 1.." + std::to_string(kTraceFormatVersion) +
                                ", found " + std::to_string(user_version_));
  }
  // Every table must exist. (Queried one by one so the message names the
  // first missing one in kTraceTables order.)
  for (const char* table : kTraceTables) {
    bool have = false;
    if (TraceError e = has_table(table, &have); !e.ok()) return e;
    if (!have) {
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": table " + table + " is missing (every trace of format " +
                                  std::to_string(user_version_) + " has it)");
    }
  }
  // Structural integrity (a truncated or overwritten file). quick_check
  // reads every page once: O(file size), the same order as replaying it.
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, st.out(), nullptr) != SQLITE_OK) {
      return sqlite_error("integrity check failed");
    }
    rc = sqlite3_step(st.get());
    if (rc != SQLITE_ROW) return sqlite_error("integrity check failed");
    const char* res = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    if (!res || std::strcmp(res, "ok") != 0) {
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": integrity check failed: " + one_line(res ? res : "(no result)"));
    }
  }
  TraceError e = read_meta();
  if (!e.ok()) return e;
  if (!meta_.complete) {
    return TraceError::make(TraceErrorKind::incomplete,
                            path_ + ": incomplete trace (meta.complete = 0): the recorder did not close it; "
                                    "the records committed before it stopped are readable");
  }
  return TraceError{};
}

TraceError TraceReader::read_meta() {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT key, value FROM meta ORDER BY key", -1, st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table meta");
  }
  RowCheck c(path_, "meta", st.get());
  bool have_format = false, have_tool = false, have_created = false, have_host = false, have_req = false,
       have_complete = false;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string key;
    c.text(0, &key);
    if (!c.ok()) return c.error();
    c.set_row("key='" + key + "'");
    if (key == "format_version") {
      c.i(1, 1, INT64_MAX, &meta_.format_version);
      have_format = true;
    } else if (key == "tool_version") {
      c.text(1, &meta_.tool_version);
      have_tool = true;
    } else if (key == "created_unix_ns") {
      c.i(1, INT64_MIN, INT64_MAX, &meta_.created_unix_ns);
      have_created = true;
    } else if (key == "host") {
      c.text(1, &meta_.host);
      have_host = true;
    } else if (key == "required_reader_version") {
      c.i(1, 1, INT64_MAX, &meta_.required_reader_version);
      have_req = true;
    } else if (key == "complete") {
      c.b(1, &meta_.complete);
      have_complete = true;
    } else if (key.compare(0, 6, "quirk_") == 0) {
      viona::QuirkKind k;
      bool on = false;
      c.b(1, &on);
      // A quirk this build does not know came from a newer recorder, which
      // raises required_reader_version when the quirk matters: ignore it.
      if (c.ok() && viona::quirk_from_name(key.substr(6), &k)) meta_.quirks.set(k, on);
    }
    // Other keys are additions of a later format: ignored.
    if (!c.ok()) return c.error();
  }
  if (rc != SQLITE_DONE) return sqlite_error("table meta");
  const struct {
    bool have;
    const char* key;
  } required[] = {{have_format, "format_version"},   {have_tool, "tool_version"},
                  {have_created, "created_unix_ns"}, {have_host, "host"},
                  {have_req, "required_reader_version"}, {have_complete, "complete"}};
  for (const auto& r : required) {
    if (!r.have) {
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": table meta, row key='" + r.key + "': expected a row, found none");
    }
  }
  if (meta_.required_reader_version > kTraceFormatVersion) {
    return TraceError::make(TraceErrorKind::too_new,
                            path_ + ": trace requires reader format " +
                                std::to_string(meta_.required_reader_version) + ", this viona-rr reads format " +
                                std::to_string(kTraceFormatVersion) + "; use a newer viona-rr");
  }
  return TraceError{};
}

// --- config -------------------------------------------------------------------

TraceError TraceReader::read_config(TraceConfig* out) {
  TraceConfig cfg;
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_,
                           "SELECT id, features_negotiated, features_offered, mtu, memory_mode, guest_profile,"
                           " guest_layout, tx_copy_data, tx_header_pad, quirks, quirk_names, cksum_partial,"
                           " cksum_full_v4, cksum_full_v6, cksum_ipv4_hdr, lso_tcpv4, lso_max, direction, mac"
                           " FROM config ORDER BY id",
                           -1, st.out(), nullptr) != SQLITE_OK) {
      return sqlite_error("table config");
    }
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) {
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": table config: expected one row, found none (recorder stopped before "
                                      "writing its configuration)");
    }
    if (rc != SQLITE_ROW) return sqlite_error("table config");
    RowCheck c(path_, "config", st.get());
    c.set_row("id=" + std::to_string(sqlite3_column_int64(st.get(), 0)));
    uint64_t id = 0, quirk_bits = 0;
    std::string names;
    std::vector<uint8_t> mac;
    c.u(0, kU64, &id);
    c.rule(id == 1, "id", "1", std::to_string(id));
    c.u(1, kU64, &cfg.features_negotiated);
    c.u(2, kU64, &cfg.features_offered);
    c.u(3, kU16, &cfg.mtu);
    c.e(4, &from_trace_memory_mode, "0 (paged) or 1 (contiguous)", &cfg.memory_mode);
    c.text(5, &cfg.guest_profile);
    c.text(6, &cfg.guest_layout);
    c.b(7, &cfg.params.tx_copy_data);
    c.u(8, 256, &cfg.params.tx_header_pad);
    c.u(9, (1ull << viona::kQuirkCount) - 1, &quirk_bits);
    cfg.quirks.bits = static_cast<uint32_t>(quirk_bits);
    c.text(10, &names);
    c.rule(names == cfg.quirks.to_string(), "quirk_names", "'" + cfg.quirks.to_string() + "'", "'" + names + "'");
    c.b(11, &cfg.offloads.cksum_partial);
    c.b(12, &cfg.offloads.cksum_full_v4);
    c.b(13, &cfg.offloads.cksum_full_v6);
    c.b(14, &cfg.offloads.cksum_ipv4_hdr);
    c.b(15, &cfg.offloads.lso_tcpv4);
    c.u(16, kU32, &cfg.offloads.lso_max);
    c.e(17, &from_trace_direction, "0 (rx), 1 (tx) or 2 (both)", &cfg.direction);
    c.blob(18, &mac);
    c.rule(mac.size() == 6, "mac", "6 bytes", std::to_string(mac.size()) + " bytes");
    if (c.ok()) std::memcpy(cfg.mac.data(), mac.data(), 6);
    c.rule(cfg.quirks.bits == meta_.quirks.bits, "quirks", "the meta quirk_* flags (" +
           std::to_string(meta_.quirks.bits) + ")", std::to_string(cfg.quirks.bits));
    if (!c.ok()) return c.error();
  }
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "SELECT ring, qsize FROM config_rings ORDER BY ring", -1, st.out(), nullptr) !=
        SQLITE_OK) {
      return sqlite_error("table config_rings");
    }
    RowCheck c(path_, "config_rings", st.get());
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      c.set_row("ring=" + std::to_string(sqlite3_column_int64(st.get(), 0)));
      uint64_t ring = 0;
      uint16_t qsize = 0;
      c.u(0, kU16, &ring);
      c.rule(ring == cfg.ring_sizes.size(), "ring", std::to_string(cfg.ring_sizes.size()) + " (dense from 0)",
             std::to_string(ring));
      c.u(1, kU16, &qsize);
      if (!c.ok()) return c.error();
      cfg.ring_sizes.push_back(qsize);
    }
    if (rc != SQLITE_DONE) return sqlite_error("table config_rings");
  }
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "SELECT pos, gpa, size FROM config_regions ORDER BY pos", -1, st.out(), nullptr) !=
        SQLITE_OK) {
      return sqlite_error("table config_regions");
    }
    RowCheck c(path_, "config_regions", st.get());
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      c.set_row("pos=" + std::to_string(sqlite3_column_int64(st.get(), 0)));
      uint64_t pos = 0;
      viona::MemoryRegion r{};
      c.u(0, kU32, &pos);
      c.rule(pos == cfg.regions.size(), "pos", std::to_string(cfg.regions.size()) + " (dense from 0)",
             std::to_string(pos));
      c.u(1, kU64, &r.gpa);
      c.u(2, kU64, &r.size);
      if (!c.ok()) return c.error();
      cfg.regions.push_back(r);
    }
    if (rc != SQLITE_DONE) return sqlite_error("table config_regions");
  }
  // The optional scenario table (trace_format.h): absent in format 1 and
  // in earlier format 2 traces, which then have no scenario.
  bool have_scenario_table = false;
  if (TraceError e = has_table("config_scenario", &have_scenario_table); !e.ok()) return e;
  if (have_scenario_table) {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "SELECT key, value FROM config_scenario ORDER BY key", -1, st.out(), nullptr) !=
        SQLITE_OK) {
      return sqlite_error("table config_scenario");
    }
    RowCheck c(path_, "config_scenario", st.get());
    TraceScenario scen;
    bool any = false;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      std::string key, value, expected;
      c.text(0, &key);
      if (!c.ok()) return c.error();
      c.set_row("key='" + key + "'");
      c.text(1, &value);
      c.rule(!c.ok() || scen.set_row(key, value, &expected), "value", expected, "'" + value + "'");
      if (!c.ok()) return c.error();
      any = true;
    }
    if (rc != SQLITE_DONE) return sqlite_error("table config_scenario");
    if (any) cfg.scenario = scen;
  }
  *out = std::move(cfg);
  return TraceError{};
}

// --- packets ---------------------------------------------------------------------

namespace {

constexpr const char kPacketCols[] = "SELECT seq, timestamp_ns, direction, caplen, orig_len, link_type, data FROM packets";

bool decode_packet(RowCheck& c, sqlite3_stmt* st, TracePacket* p) {
  c.set_row(seq_row(st));
  uint64_t caplen = 0;
  c.u(0, kU64, &p->seq);
  c.u(1, kU64, &p->timestamp_ns);
  c.e(2, &from_trace_direction, "0 (rx) or 1 (tx)", &p->direction);
  c.rule(p->direction != DirectionKind::both, "direction", "0 (rx) or 1 (tx)", "2 (both)");
  c.u(3, kU32, &caplen);
  c.u(4, kU32, &p->orig_len);
  c.e(5, &from_trace_link_type, "1 (ethernet)", &p->link_type);
  c.blob(6, &p->data);
  c.rule(caplen == p->data.size(), "caplen", "length(data) = " + std::to_string(p->data.size()),
         std::to_string(caplen));
  c.rule(p->orig_len >= caplen, "orig_len", ">= caplen " + std::to_string(caplen), std::to_string(p->orig_len));
  return c.ok();
}

}  // namespace

TraceError TraceReader::each_packet(const std::function<bool(const TracePacket&)>& fn) {
  Stmt st;
  std::string sql = std::string(kPacketCols) + " ORDER BY seq";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, st.out(), nullptr) != SQLITE_OK) return sqlite_error("table packets");
  RowCheck c(path_, "packets", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TracePacket p;
    if (!decode_packet(c, st.get(), &p)) return c.error();
    if (!fn(p)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table packets");
  return TraceError{};
}

TraceError TraceReader::read_packet_range(uint64_t first_seq, uint64_t count, std::vector<TracePacket>* out) {
  out->clear();
  if (count == 0) return TraceError{};
  Stmt st;
  std::string sql = std::string(kPacketCols) + " WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, st.out(), nullptr) != SQLITE_OK) return sqlite_error("table packets");
  sqlite3_bind_int64(st.get(), 1, static_cast<int64_t>(first_seq));
  sqlite3_bind_int64(st.get(), 2, static_cast<int64_t>(first_seq + count - 1));
  RowCheck c(path_, "packets", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TracePacket p;
    if (!decode_packet(c, st.get(), &p)) return c.error();
    out->push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return sqlite_error("table packets");
  if (out->size() != count) {
    return TraceError::make(TraceErrorKind::corrupt,
                            path_ + ": table packets, rows seq=" + std::to_string(first_seq) + ".." +
                                std::to_string(first_seq + count - 1) + ": expected " + std::to_string(count) +
                                " rows, found " + std::to_string(out->size()));
  }
  return TraceError{};
}

// --- ops -----------------------------------------------------------------------------

TraceError TraceReader::each_op(const std::function<bool(const TraceOp&)>& fn) {
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq, kind, ring, arg0, arg1, arg2, arg3, arg4, arg5, blob FROM ops ORDER BY seq", -1,
                         st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table ops");
  }
  RowCheck c(path_, "ops", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TraceOp op;
    c.set_row(seq_row(st.get()));
    c.u(0, kU64, &op.seq);
    c.e(1, &from_trace_op, "a known op kind (1..17)", &op.kind);
    if (!c.ok()) return c.error();
    bool null_ring = sqlite3_column_type(st.get(), 2) == SQLITE_NULL;
    c.rule(op.kind == OpKind::rx_batch || null_ring != op_has_ring(op.kind), "ring",
           op_has_ring(op.kind) ? std::string("a ring index for ") + op_kind_name(op.kind)
                                : std::string("NULL for ") + op_kind_name(op.kind),
           null_ring ? "NULL" : std::to_string(sqlite3_column_int64(st.get(), 2)));
    if (!null_ring) c.u(2, kU16 - 1, &op.ring);
    for (unsigned i = 0; i < kOpArgCount; i++) {
      c.u(3 + static_cast<int>(i), kU64, &op.args[i]);
      c.rule(i < op_arg_count(op.kind) || op.args[i] == 0, sqlite3_column_name(st.get(), 3 + static_cast<int>(i)),
             std::string("0 (unused by ") + op_kind_name(op.kind) + ")", std::to_string(op.args[i]));
    }
    c.blob(9, &op.blob);
    c.rule(op.kind == OpKind::mem_write || op.blob.empty(), "blob",
           std::string("empty for ") + op_kind_name(op.kind), std::to_string(op.blob.size()) + " bytes");
    if (!c.ok()) return c.error();
    if (!fn(op)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table ops");
  return TraceError{};
}

// --- chains -----------------------------------------------------------------------------

TraceError TraceReader::each_chain(const std::function<bool(const TraceChain&)>& fn) {
  // Orphan descriptor or piece rows break the "chain_seq must name a chains
  // row" rule; find the first one before iterating.
  for (const char* table : {"chain_descs", "chain_pieces"}) {
    Stmt st;
    std::string sql = std::string("SELECT chain_seq, pos FROM ") + table +
                      " WHERE chain_seq NOT IN (SELECT seq FROM chains) ORDER BY chain_seq, pos LIMIT 1";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, st.out(), nullptr) != SQLITE_OK) return sqlite_error(table);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      std::string cs = std::to_string(sqlite3_column_int64(st.get(), 0));
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": table " + table + ", row chain_seq=" + cs + " pos=" +
                                  std::to_string(sqlite3_column_int64(st.get(), 1)) +
                                  ": chain_seq: expected a chains row, found none with seq=" + cs);
    }
    if (rc != SQLITE_DONE) return sqlite_error(table);
  }
  Stmt chains, descs, pieces;
  if (sqlite3_prepare_v2(db_, "SELECT seq, op_seq, ring, avail_idx, cookie, total_len, packet_seq FROM chains"
                              " ORDER BY seq", -1, chains.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table chains");
  }
  if (sqlite3_prepare_v2(db_, "SELECT pos, idx, indirect_parent, addr, len, flags, next, first_piece, npieces"
                              " FROM chain_descs WHERE chain_seq = ?1 ORDER BY pos", -1, descs.out(),
                         nullptr) != SQLITE_OK) {
    return sqlite_error("table chain_descs");
  }
  if (sqlite3_prepare_v2(db_, "SELECT pos, gpa, len, write FROM chain_pieces WHERE chain_seq = ?1 ORDER BY pos", -1,
                         pieces.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table chain_pieces");
  }
  RowCheck c(path_, "chains", chains.get());
  RowCheck cd(path_, "chain_descs", descs.get());
  RowCheck cp(path_, "chain_pieces", pieces.get());
  int rc;
  while ((rc = sqlite3_step(chains.get())) == SQLITE_ROW) {
    TraceChain ch;
    c.set_row(seq_row(chains.get()));
    c.u(0, kU64, &ch.seq);
    c.u(1, kU64, &ch.op_seq);
    c.u(2, kU16, &ch.ring);
    c.u(3, kU16, &ch.avail_idx);
    c.u(4, kU16, &ch.cookie);
    c.u(5, kU32, &ch.total_len);
    c.opt_u64(6, &ch.packet_seq);
    if (!c.ok()) return c.error();
    std::string key = "chain_seq=" + std::to_string(ch.seq) + " pos=";

    sqlite3_reset(pieces.get());
    sqlite3_bind_int64(pieces.get(), 1, static_cast<int64_t>(ch.seq));
    int prc;
    while ((prc = sqlite3_step(pieces.get())) == SQLITE_ROW) {
      TraceChainPiece p;
      uint64_t pos = 0;
      cp.set_row(key + std::to_string(sqlite3_column_int64(pieces.get(), 0)));
      cp.u(0, kU16, &pos);
      cp.rule(pos == ch.pieces.size(), "pos", std::to_string(ch.pieces.size()) + " (dense from 0)",
              std::to_string(pos));
      cp.u(1, kU64, &p.gpa);
      cp.u(2, kU32, &p.len);
      cp.b(3, &p.write);
      if (!cp.ok()) return cp.error();
      ch.pieces.push_back(p);
    }
    if (prc != SQLITE_DONE) return sqlite_error("table chain_pieces");

    sqlite3_reset(descs.get());
    sqlite3_bind_int64(descs.get(), 1, static_cast<int64_t>(ch.seq));
    int drc;
    while ((drc = sqlite3_step(descs.get())) == SQLITE_ROW) {
      TraceChainDesc d;
      uint64_t pos = 0;
      int64_t parent = 0;
      cd.set_row(key + std::to_string(sqlite3_column_int64(descs.get(), 0)));
      cd.u(0, kU16, &pos);
      cd.rule(pos == ch.descs.size(), "pos", std::to_string(ch.descs.size()) + " (dense from 0)",
              std::to_string(pos));
      cd.u(1, kU16, &d.index);
      cd.i(2, -1, kU16, &parent);
      d.indirect_parent = static_cast<int32_t>(parent);
      cd.u(3, kU64, &d.addr);
      cd.u(4, kU32, &d.len);
      cd.u(5, kU16, &d.flags);
      cd.u(6, kU16, &d.next);
      cd.u(7, kU16, &d.first_piece);
      cd.u(8, kU16, &d.npieces);
      cd.rule(static_cast<size_t>(d.first_piece) + d.npieces <= ch.pieces.size(), "first_piece + npieces",
              "<= " + std::to_string(ch.pieces.size()) + " (pieces of the chain)",
              std::to_string(static_cast<size_t>(d.first_piece) + d.npieces));
      if (!cd.ok()) return cd.error();
      ch.descs.push_back(d);
    }
    if (drc != SQLITE_DONE) return sqlite_error("table chain_descs");
    if (!fn(ch)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table chains");
  return TraceError{};
}

// --- used, probes, digests, interrupts ---------------------------------------------------

TraceError TraceReader::each_used(const std::function<bool(const TraceUsed&)>& fn) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT seq, op_seq, ring, used_idx, slot, id, len, packet_seq FROM used ORDER BY seq",
                         -1, st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table used");
  }
  RowCheck c(path_, "used", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TraceUsed u;
    c.set_row(seq_row(st.get()));
    c.u(0, kU64, &u.seq);
    c.u(1, kU64, &u.op_seq);
    c.u(2, kU16, &u.ring);
    c.u(3, kU16, &u.used_idx);
    c.u(4, kU16, &u.slot);
    c.u(5, kU32, &u.id);
    c.u(6, kU32, &u.len);
    c.opt_u64(7, &u.packet_seq);
    if (!c.ok()) return c.error();
    if (!fn(u)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table used");
  return TraceError{};
}

TraceError TraceReader::each_probe(const std::function<bool(const TraceProbe&)>& fn) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT seq, op_seq, ring, name, arg0, arg1, arg2, packet_seq FROM probes ORDER BY seq",
                         -1, st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table probes");
  }
  RowCheck c(path_, "probes", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TraceProbe p;
    std::string name;
    c.set_row(seq_row(st.get()));
    c.u(0, kU64, &p.seq);
    c.u(1, kU64, &p.op_seq);
    c.u(2, kU16, &p.ring);
    c.text(3, &name);
    c.rule(!c.ok() || from_trace_probe(name, &p.kind), "name", "a probe of viona/probes.inc", "'" + name + "'");
    for (int i = 0; i < 3; i++) c.u(4 + i, kU64, &p.arg[static_cast<size_t>(i)]);
    c.opt_u64(7, &p.packet_seq);
    if (!c.ok()) return c.error();
    if (!fn(p)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table probes");
  return TraceError{};
}

TraceError TraceReader::each_counters(const std::function<bool(const TraceCounterSnapshot&)>& fn) {
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "SELECT snapshot_seq, name FROM counters WHERE snapshot_seq NOT IN"
                                " (SELECT seq FROM counter_snapshots) ORDER BY snapshot_seq, name LIMIT 1",
                           -1, st.out(), nullptr) != SQLITE_OK) {
      return sqlite_error("table counters");
    }
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      std::string s = std::to_string(sqlite3_column_int64(st.get(), 0));
      return TraceError::make(TraceErrorKind::corrupt,
                              path_ + ": table counters, row snapshot_seq=" + s + ": snapshot_seq: expected a "
                                      "counter_snapshots row, found none with seq=" + s);
    }
    if (rc != SQLITE_DONE) return sqlite_error("table counters");
  }
  // One pass over snapshots left-joined with their counter rows, in seq
  // order. Format 1 lists every counter in every snapshot (a missing one
  // reads as 0); format 2 lists only those that changed since the ring's
  // previous snapshot, so the others carry over from it.
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT s.seq, s.op_seq, s.ring, c.name, c.value FROM counter_snapshots s"
                              " LEFT JOIN counters c ON c.snapshot_seq = s.seq ORDER BY s.seq, c.name",
                         -1, st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table counter_snapshots");
  }
  const bool carry = user_version_ >= 2;
  std::vector<std::pair<uint16_t, TraceCounterSnapshot>> last;  // per ring, format 2
  RowCheck c(path_, "counter_snapshots", st.get());
  RowCheck cv(path_, "counters", st.get());
  TraceCounterSnapshot s;
  bool have = false;  // |s| holds a snapshot not yet handed to |fn|
  auto finish = [&]() {
    have = false;
    if (carry) {
      for (auto& [ring, snap] : last) {
        if (ring == s.ring) {
          snap = s;
          return fn(s);
        }
      }
      last.emplace_back(s.ring, s);
    }
    return fn(s);
  };
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const uint64_t seq = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 0));
    if (!have || seq != s.seq) {
      if (have && !finish()) return TraceError{};
      s = TraceCounterSnapshot{};
      c.set_row(seq_row(st.get()));
      c.u(0, kU64, &s.seq);
      c.u(1, kU64, &s.op_seq);
      c.u(2, kU16, &s.ring);
      if (!c.ok()) return c.error();
      if (carry) {
        for (const auto& [ring, snap] : last) {
          if (ring == s.ring) {
            s.rs = snap.rs;
            s.vts = snap.vts;
          }
        }
      }
      have = true;
    }
    if (sqlite3_column_type(st.get(), 3) == SQLITE_NULL) continue;  // a snapshot with no counter rows
    std::string name;
    uint64_t value = 0;
    const unsigned char* raw = sqlite3_column_text(st.get(), 3);
    cv.set_row("snapshot_seq=" + std::to_string(s.seq) + " name='" + (raw ? reinterpret_cast<const char*>(raw) : "") +
               "'");
    cv.text(3, &name);
    cv.u(4, kU64, &value);
    cv.rule(!cv.ok() || s.set_named(name, value), "name", "an rs_* counter of viona/counters.inc or vts_*",
            "'" + name + "'");
    if (!cv.ok()) return cv.error();
  }
  if (rc != SQLITE_DONE) return sqlite_error("table counter_snapshots");
  if (have) (void)finish();
  return TraceError{};
}

TraceError TraceReader::each_digest(const std::function<bool(const TraceDigest&)>& fn) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT seq, op_seq, ring, cookie, used_idx, digest, nbytes FROM digests ORDER BY seq",
                         -1, st.out(), nullptr) != SQLITE_OK) {
    return sqlite_error("table digests");
  }
  RowCheck c(path_, "digests", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TraceDigest d;
    c.set_row(seq_row(st.get()));
    c.u(0, kU64, &d.seq);
    c.u(1, kU64, &d.op_seq);
    c.u(2, kU16, &d.ring);
    c.u(3, kU16, &d.cookie);
    c.u(4, kU16, &d.used_idx);
    c.u(5, kU64, &d.digest);
    c.u(6, kU64, &d.nbytes);
    if (!c.ok()) return c.error();
    if (!fn(d)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table digests");
  return TraceError{};
}

TraceError TraceReader::each_interrupt(const std::function<bool(const TraceInterrupt&)>& fn) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT seq, op_seq, ring, kind FROM interrupts ORDER BY seq", -1, st.out(), nullptr) !=
      SQLITE_OK) {
    return sqlite_error("table interrupts");
  }
  RowCheck c(path_, "interrupts", st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TraceInterrupt i;
    c.set_row(seq_row(st.get()));
    c.u(0, kU64, &i.seq);
    c.u(1, kU64, &i.op_seq);
    c.u(2, kU16, &i.ring);
    c.e(3, &from_trace_interrupt, "0 (suppressed), 1 (msi), 2 (poll) or 3 (already)", &i.kind);
    if (!c.ok()) return c.error();
    if (!fn(i)) return TraceError{};
  }
  if (rc != SQLITE_DONE) return sqlite_error("table interrupts");
  return TraceError{};
}

// --- whole-table forms -------------------------------------------------------------------

namespace {
template <typename R, typename Each>
TraceError collect(Each each, std::vector<R>* out) {
  out->clear();
  std::vector<R> v;
  TraceError e = each([&](const R& r) {
    v.push_back(r);
    return true;
  });
  if (e.ok()) *out = std::move(v);
  return e;
}
}  // namespace

TraceError TraceReader::read_packets(std::vector<TracePacket>* out) {
  return collect<TracePacket>([&](const auto& f) { return each_packet(f); }, out);
}
TraceError TraceReader::read_ops(std::vector<TraceOp>* out) {
  return collect<TraceOp>([&](const auto& f) { return each_op(f); }, out);
}
TraceError TraceReader::read_chains(std::vector<TraceChain>* out) {
  return collect<TraceChain>([&](const auto& f) { return each_chain(f); }, out);
}
TraceError TraceReader::read_used(std::vector<TraceUsed>* out) {
  return collect<TraceUsed>([&](const auto& f) { return each_used(f); }, out);
}
TraceError TraceReader::read_probes(std::vector<TraceProbe>* out) {
  return collect<TraceProbe>([&](const auto& f) { return each_probe(f); }, out);
}
TraceError TraceReader::read_counters(std::vector<TraceCounterSnapshot>* out) {
  return collect<TraceCounterSnapshot>([&](const auto& f) { return each_counters(f); }, out);
}
TraceError TraceReader::read_digests(std::vector<TraceDigest>* out) {
  return collect<TraceDigest>([&](const auto& f) { return each_digest(f); }, out);
}
TraceError TraceReader::read_interrupts(std::vector<TraceInterrupt>* out) {
  return collect<TraceInterrupt>([&](const auto& f) { return each_interrupt(f); }, out);
}

TraceError TraceReader::read_all(TraceContents* out) {
  for (TraceError e : {read_config(&out->config), read_packets(&out->packets), read_ops(&out->ops),
                       read_chains(&out->chains), read_used(&out->used), read_probes(&out->probes),
                       read_counters(&out->counters), read_digests(&out->digests),
                       read_interrupts(&out->interrupts)}) {
    if (!e.ok()) return e;
  }
  return TraceError{};
}

TraceError TraceReader::count_rows(const std::string& table, uint64_t* out) {
  bool known = false;
  for (const char* t : kTraceTables) known = known || table == t;
  if (!known) return TraceError::make(TraceErrorKind::misuse, path_ + ": no table '" + table + "' in a trace");
  Stmt st;
  std::string sql = "SELECT count(*) FROM " + table;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, st.out(), nullptr) != SQLITE_OK ||
      sqlite3_step(st.get()) != SQLITE_ROW) {
    return sqlite_error(("table " + table).c_str());
  }
  *out = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 0));
  return TraceError{};
}

}  // namespace viona_rr
