// Cgroup managers: create the container's cgroup at linux.cgroupsPath, put
// processes in it, list and signal them, remove it. Variants are siblings
// behind this interface (cgroup_v1.cc, cgroup_v2.cc); this machine is hybrid
// (v1 controllers + a cgroup2 mount holding only hugetlb), and pure v1 and pure
// v2 hosts must work too. Resource limits are applied in part 2.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::runtime::cgroup {

// One mounted hierarchy, read from /proc/self/mountinfo.
struct Hierarchy {
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::string root;                      // mountinfo "root" field (usually "/")
  std::vector<std::string> controllers;  // v1: from mount options (incl. "name=systemd"); v2: cgroup.controllers
  bool unified = false;                  // cgroup2
};

enum class Mode { v1, v2, hybrid };

struct Layout {
  Mode mode = Mode::v2;
  std::vector<Hierarchy> hierarchies;
};

// Reads the host's layout (cheap: one read of /proc/self/mountinfo).
Result<Layout> detect_layout();

class Manager {
 public:
  virtual ~Manager() = default;
  // Creates the cgroup directories (idempotent: an existing one is reused).
  virtual Result<> create() = 0;
  // Moves `pid` into the container's cgroup in every hierarchy.
  virtual Result<> add_process(pid_t pid) = 0;
  // Every pid in the container's cgroup (the first hierarchy that has them).
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // Sends `sig` to every process in the cgroup (runc kill --all).
  virtual Result<> signal_all(int sig) = 0;
  // Removes the cgroup directories, retrying briefly while dying tasks leave.
  virtual Result<> destroy() = 0;
  // Hierarchy mount point -> absolute directory of this container's cgroup;
  // saved in the container state so a later command can load the manager.
  virtual std::map<std::string, std::string> paths() const = 0;
};

// The manager for a new container. `cgroups_path` as in config.json (absolute:
// from the hierarchy root; relative: below the caller's own cgroup; empty: a
// default of "/berth-runtime/<id>"... see cgroup.cc for the exact rule).
Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, const std::string& cgroups_path,
                                              const std::string& container_id);
// The manager of an existing container, from Manager::paths() saved earlier.
Result<std::unique_ptr<Manager>> load_manager(const std::map<std::string, std::string>& paths);

}  // namespace berth::runtime::cgroup
