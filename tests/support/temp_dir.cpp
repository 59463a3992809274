// SPDX-License-Identifier: MIT
// temp_dir.cpp: per-test temporary directories.
#include "tests/support/temp_dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace viona::test {

TempDir::TempDir(const char* prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  chmod(path_.c_str(), 0700);
  std::string cmd = "rm -rf '" + path_ + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
}

std::set<std::string> TempDir::entries() const {
  std::set<std::string> s;
  DIR* d = opendir(path_.c_str());
  if (d == nullptr) return s;
  while (dirent* e = readdir(d)) s.insert(e->d_name);
  closedir(d);
  return s;
}

}  // namespace viona::test
