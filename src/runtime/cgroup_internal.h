// Helpers shared by the cgroup managers (cgroup_v1.cc, cgroup_v2.cc); not a
// public interface. Every error names the file or directory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "runtime/cgroup.h"

namespace berth::runtime::cgroup::detail {

// One directory of a container's cgroup, in the hierarchy mounted at mount_point.
struct Dir {
  std::string mount_point;
  std::string path;
  bool cpuset = false;   // v1 cpuset hierarchy: new cgroups need cpus/mems
  bool freezer = false;  // v1 freezer hierarchy
  bool pids = false;     // v1 pids hierarchy: preferred for listing
  bool unified = false;  // a cgroup2 hierarchy (a hybrid host's "unified" mount)
};

// `classified`: Dir::unified is known; else the manager asks statfs when it
// first needs it (a manager loaded from saved paths).
std::unique_ptr<Manager> new_v1_manager(std::vector<Dir> dirs, bool classified = true);
std::unique_ptr<Manager> new_v2_manager(Dir dir);
// A rootless container's when it may make no cgroup (cgroup_none.cc).
std::unique_ptr<Manager> new_empty_manager();

// mkdir -p of `path`, which lies below `mount_point`: one mkdir when the
// parent exists. Appends the directories it made to `created`, outermost first.
Result<> make_dirs(const std::string& path, const std::string& mount_point, std::vector<std::string>& created);
// Removes directories made by make_dirs, innermost first; best effort.
void remove_created(const std::vector<std::string>& created);

// A file's content with trailing whitespace removed.
Result<std::string> read_trimmed(const std::string& path);
// Writes "<pid>" to dir/cgroup.procs.
Result<> write_procs(const std::string& dir, pid_t pid);
// The pids of dir/cgroup.procs and of every sub-cgroup's.
Result<std::vector<pid_t>> read_pids_recursive(const std::string& dir);
// Signals the cgroup's processes without a freezer: repeats until a round finds
// no pid it has not signalled yet (a forking task can still race; best effort).
Result<> signal_unfrozen(const std::string& dir, int sig);
// Signals each pid; a pid that has exited already is fine.
Result<> signal_pids(const std::vector<pid_t>& pids, int sig);
// Polls `path` until its content contains `want`; false after ~1 s.
Result<bool> wait_for_content(const std::string& path, std::string_view want);
// rmdir of a container's cgroup: sub-cgroups first, retrying on EBUSY for up
// to ~1 s; a missing directory is fine.
Result<> remove_cgroup(const std::string& dir);

std::string parent_dir(const std::string& path);

// mkdir -p of a cgroup directory (kept when it exists), then an O_PATH fd to it.
Result<UniqueFd> make_and_open(const Dir& dir);

}  // namespace berth::runtime::cgroup::detail
