// Cgroup managers: create the container's cgroup at linux.cgroupsPath, put
// processes in it, list and signal them, remove it. Variants are siblings
// behind this interface (cgroup_v1.cc, cgroup_v2.cc); this machine is hybrid
// (v1 controllers + a cgroup2 mount holding only hugetlb), and pure v1 and pure
// v2 hosts must work too. Resource limits: cgroup_resources.h.
//
// Lifecycle (what the container code calls, in order):
//   create:  detect_layout() -> make_manager() -> open_clone_target() ->
//            [clone3 into it] -> create() -> [the child writes "0" to each of
//            self_join_files()] -> save paths() in the state
//   exec:    add_process(pid)
//   kill:    load_manager(saved paths) -> signal_all(sig)   (kill --all)
//   delete:  load_manager(saved paths) -> destroy()
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "runtime/cgroup_stats.h"

namespace berth::runtime::cgroup {

// One mounted hierarchy, read from /proc/self/mountinfo.
struct Hierarchy {
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::string root;                      // mountinfo "root" field (usually "/")
  std::vector<std::string> controllers;  // v1: from mount options (incl. "name=systemd"); v2: cgroup.controllers
  bool unified = false;                  // cgroup2
  // The caller's own cgroup in this hierarchy, from /proc/self/cgroup ("" if
  // not listed); what a relative cgroupsPath is resolved against.
  std::string self;
};

enum class Mode { v1, v2, hybrid };

struct Layout {
  Mode mode = Mode::v2;
  // v2: exactly one (unified) hierarchy. v1/hybrid: every v1 hierarchy, in
  // mountinfo order, then the unified one (hybrid).
  std::vector<Hierarchy> hierarchies;
};

// Reads the host's layout: /proc/self/mountinfo, /proc/self/cgroup and the
// unified hierarchy's cgroup.controllers, nothing else.
Result<Layout> detect_layout();

// The pure part of detect_layout(), from the two files' texts (v2 controllers
// are left empty: they need a read of the mounted cgroup.controllers).
//  - v2:     a cgroup2 mount at /sys/fs/cgroup, or no v1 hierarchy at all;
//  - hybrid: v1 hierarchies plus a cgroup2 mount elsewhere;
//  - v1:     v1 hierarchies only.
// A hierarchy mounted twice (bind mounts) counts once, at its first mount.
Result<Layout> layout_from_mountinfo(std::string_view mountinfo, std::string_view self_cgroup);

// The absolute directory of the container's cgroup in hierarchy `h` (runc's
// fs/fs2 rules):
//  - absolute cgroupsPath: below the hierarchy's root as mounted here
//    ("/a/b" -> "<mount_point>/a/b");
//  - relative cgroupsPath: below the caller's own cgroup (Hierarchy::self, taken
//    relative to the mount's root; when the own cgroup is not visible under
//    the mount, the mount point). In Mode::v2 it is below the *parent* of the
//    own cgroup, as runc's fs2 does: the own cgroup usually holds processes,
//    so controllers could never be enabled for a child of it;
//  - empty cgroupsPath: the relative path "<container_id>" (what runc does).
// The path is cleaned lexically; a ".." that climbs above the start, or a path
// that names the start itself ("/", "."), is refused.
Result<std::string> resolve_dir(const Hierarchy& h, Mode mode, std::string_view cgroups_path,
                                std::string_view container_id);

class Manager {
 public:
  virtual ~Manager() = default;
  // Creates the cgroup directories (idempotent: an existing one is reused).
  // One mkdir per hierarchy when the parent exists; a new v1 cpuset cgroup gets
  // its parent's cpuset.cpus/mems (else adding a task fails with ENOSPC). On
  // failure the directories this call made are removed again.
  virtual Result<> create() = 0;
  // Moves `pid` into the container's cgroup in every hierarchy (one write of
  // cgroup.procs each). Writing another process's pid takes the kernel's
  // global threadgroup lock, whose first taker after a quiet spell waits an RCU
  // grace period (about 20 ms here): a new container enters at birth instead,
  // with the two calls below.
  virtual Result<> add_process(pid_t pid) = 0;
  // The cgroup2 directory (pure v2, or a hybrid's unified mount) for clone3's
  // CLONE_INTO_CGROUP, made if missing (create() reuses it); an invalid fd
  // when there is none. The v1 directories can then be made while the child
  // already runs.
  virtual Result<UniqueFd> open_clone_target() const = 0;
  // The v1 "tasks" files a new process writes "0" to, to move itself: moving
  // only the calling thread skips the global lock (the process has one thread).
  virtual Result<std::vector<std::string>> self_join_files() const = 0;
  // Every pid in the container's cgroup and its sub-cgroups (v1: the pids
  // hierarchy if mounted, else the first).
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // Sends `sig` to every process in the cgroup (runc kill --all): the cgroup is
  // frozen while the pids are read and signalled, so a fork cannot escape;
  // v2 SIGKILL uses cgroup.kill where the kernel has it (5.14+). A cgroup that
  // was frozen before (a paused container) stays frozen unless sig is SIGKILL.
  virtual Result<> signal_all(int sig) = 0;
  // Removes the container's cgroup directories (the leaves, and any
  // sub-cgroups made inside them; parents made by create() stay, as with
  // runc), retrying briefly on EBUSY while dying tasks leave. A missing
  // directory is not an error.
  virtual Result<> destroy() = 0;
  // pause / resume (runc's Freeze): freezes every task of the cgroup, waiting
  // until v1's FREEZING settles or v2's cgroup.events says "frozen 1"; a freeze
  // that does not settle within ~1 s is undone and reported. Hybrid hosts use
  // v1's freezer. Without a freezer, freezing fails and thawing is a no-op.
  virtual Result<> set_frozen(bool frozen) = 0;
  // Whether the cgroup itself was frozen (v1 freezer.self_freezing, v2
  // cgroup.freeze): a paused container. False without a freezer.
  virtual Result<bool> frozen() = 0;
  // Resource usage for `events` (runc's cgroups.Stats), read from the v1
  // controllers' or v2 files (cgroup_stats_v1.cc, cgroup_stats_v2.cc).
  virtual Result<Stats> stats() const = 0;
  // Out-of-memory notifications (oom_watch.cc): v1 memory.oom_control through
  // cgroup.event_control, v2 inotify on memory.events. ENOENT without a memory
  // controller.
  virtual Result<std::unique_ptr<OomWatch>> watch_oom() const = 0;
  // Hierarchy mount point -> absolute directory of this container's cgroup;
  // saved in the container state so a later command can load the manager.
  virtual std::map<std::string, std::string> paths() const = 0;
};

// The manager for a new container. `cgroups_path` as in config.json, resolved
// in every hierarchy of `layout` by resolve_dir() (see there: empty means
// "<container_id>" below the caller's own cgroup). Nothing is created yet.
Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, const std::string& cgroups_path,
                                              const std::string& container_id);
// For a rootless runtime (rootless.h), with an empty cgroupsPath: makes the
// container's directory in every hierarchy now and leaves out each hierarchy
// where the caller may not (EACCES, EPERM, EROFS; runc's rule), appending its
// mount point to `skipped`. A cgroup2 tree delegated to the user (a systemd
// user slice) is thus used, a root-owned one is not. With every hierarchy left
// out, a manager of nothing: no directory, no process, nothing to remove.
Result<std::unique_ptr<Manager>> make_permitted_manager(const Layout& layout, const std::string& container_id,
                                                        std::vector<std::string>& skipped);
// The manager of an existing container, from Manager::paths() saved earlier;
// it behaves as the one make_manager() made. No syscall here, except one
// statfs when there is a single path (v1 or v2?); with several (v1 or hybrid),
// the calls that must tell a hybrid's cgroup2 hierarchy from the v1 ones
// (open_clone_target, self_join_files, stats, and pids/signal_all without a
// pids hierarchy) statfs each mount point once.
Result<std::unique_ptr<Manager>> load_manager(const std::map<std::string, std::string>& paths);

}  // namespace berth::runtime::cgroup
