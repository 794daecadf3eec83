// A temporary fake rootfs for the spec builder's tests: /var/tmp/berth-test-*,
// removed with the object.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace berth::engine::testing {

class TempRootfs {
 public:
  TempRootfs() {
    std::string tmpl = "/var/tmp/berth-test-spec-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    rootfs_ = dir_ + "/rootfs";
    userdata_ = dir_ + "/userdata";
    std::filesystem::create_directories(rootfs_ + "/etc");
    std::filesystem::create_directories(userdata_);
  }
  ~TempRootfs() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempRootfs(const TempRootfs&) = delete;
  TempRootfs& operator=(const TempRootfs&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& rootfs() const { return rootfs_; }
  const std::string& userdata() const { return userdata_; }

  // Writes `data` to `path` under the rootfs (parents made).
  void write(const std::string& path, const std::string& data) const {
    std::filesystem::path p = rootfs_ + path;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::trunc) << data;
  }

  void write_users() const {
    write("/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "# a comment\n"
          "bob:x:1000:1000:Bob:/home/bob:/bin/sh\n"
          "broken line\n"
          "nohome:x:1001:1001\n");
    write("/etc/group",
          "root:x:0:\n"
          "bob:x:1000:\n"
          "wheel:x:10:root,bob\n"
          "audio:x:29:bob\n"
          "staff:x:50:carol\n");
  }

 private:
  std::string dir_, rootfs_, userdata_;
};

}  // namespace berth::engine::testing
