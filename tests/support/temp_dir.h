// SPDX-License-Identifier: MIT
// temp_dir.h: a fresh directory for one test, removed with everything in it.
#ifndef TESTS_SUPPORT_TEMP_DIR_H_
#define TESTS_SUPPORT_TEMP_DIR_H_

#include <set>
#include <string>

namespace viona::test {

// Made under $TMPDIR (or /tmp) as |prefix|.XXXXXX; the destructor restores
// write permission (tests make it read-only) and removes the tree.
class TempDir {
 public:
  explicit TempDir(const char* prefix = "viona-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::set<std::string> entries() const;  // names in the directory, "." and ".." included

 private:
  std::string path_;
};

}  // namespace viona::test

#endif  // TESTS_SUPPORT_TEMP_DIR_H_
