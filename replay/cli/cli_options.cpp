// SPDX-License-Identifier: MIT
// cli_options.cpp: shared option parsing.
#include "replay/cli/cli_options.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

namespace viona_rr {

bool parse_quirks(const std::vector<std::string>& names, viona::Quirks* out, std::string* err) {
  for (const std::string& n : names) {
    viona::QuirkKind k;
    if (!viona::quirk_from_name(n, &k)) {
      *err = "unknown quirk '" + n + "' (known: " + quirk_help() + ")";
      return false;
    }
    out->set(k);
  }
  return true;
}

std::string quirk_help() {
  std::string s;
  for (unsigned i = 0; i < viona::kQuirkCount; i++) {
    if (i) s += ", ";
    s += viona::quirk_name(static_cast<viona::QuirkKind>(i));
  }
  return s;
}

bool collect_traces(const std::vector<std::string>& args, std::vector<std::string>* out, std::string* err) {
  for (const std::string& a : args) {
    struct stat st;
    if (stat(a.c_str(), &st) != 0) {
      *err = a + ": no such file or directory";
      return false;
    }
    if (!S_ISDIR(st.st_mode)) {
      out->push_back(a);
      continue;
    }
    DIR* d = opendir(a.c_str());
    if (d == nullptr) {
      *err = a + ": cannot read directory";
      return false;
    }
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 6 && n.compare(n.size() - 6, 6, ".trace") == 0) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    std::string dir = a;
    if (!dir.empty() && dir.back() != '/') dir += '/';
    for (const std::string& n : names) out->push_back(dir + n);
  }
  return true;
}

bool parse_shard(const std::string& s, unsigned* k, unsigned* n) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= s.size()) return false;
  char* end = nullptr;
  unsigned long a = std::strtoul(s.c_str(), &end, 10);
  if (end != s.c_str() + slash) return false;
  unsigned long b = std::strtoul(s.c_str() + slash + 1, &end, 10);
  if (*end != '\0' || a < 1 || b < 1 || a > b || b > 100000) return false;
  *k = static_cast<unsigned>(a);
  *n = static_cast<unsigned>(b);
  return true;
}

}  // namespace viona_rr
