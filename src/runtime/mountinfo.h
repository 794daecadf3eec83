// /proc/<pid>/mountinfo parsing (proc(5)). Pure: no syscalls except
// read_mountinfo(), so it is unit-tested on fixtures and fuzzable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::runtime {

// One line of mountinfo:
// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
struct MountInfo {
  int mount_id = 0;
  int parent_id = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::string root;                          // the root of the mount inside its filesystem
  std::string mount_point;                   // relative to the reader's root
  std::string options;                       // per-mount options: "rw,relatime"
  std::vector<std::string> optional_fields;  // "shared:1", "master:2", ...
  std::string fs_type;                       // "cgroup2"; "fuse.sshfs" kept whole
  std::string source;                        // may be empty
  std::string super_options;                 // per-superblock options: "rw,memory"
};

// Decodes the kernel's octal escapes ("\040" space, "\011", "\012", "\134").
std::string unescape_mountinfo(std::string_view s);

// Parses one line (without its newline); path fields are unescaped.
Result<MountInfo> parse_mountinfo_line(std::string_view line);

// Parses a whole file; empty lines are skipped, a bad line is an error naming it.
Result<std::vector<MountInfo>> parse_mountinfo(std::string_view text);

// Reads and parses /proc/self/mountinfo.
Result<std::vector<MountInfo>> read_mountinfo();

// True when `option` is one of the comma-separated `options` ("ro" in "rw,ro").
bool has_option(std::string_view options, std::string_view option);

}  // namespace berth::runtime
