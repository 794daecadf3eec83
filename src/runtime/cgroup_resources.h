// linux.resources applied to a container's cgroup, on v1, v2 and hybrid
// hosts. Each controller is written where it is mounted: a v1 hierarchy that
// has it, else the cgroup2 hierarchy (pure v2, or a hybrid host's "unified"
// mount) if it offers it, with the controller enabled in every parent's
// cgroup.subtree_control. A field whose controller is nowhere is an error
// naming both (`linux.resources.rdma: the rdma cgroup controller is not
// mounted`); a controller the config does not ask for is never needed.
//
// Devices: v1 devices.deny "a" then the rules in order (runc's order); on
// cgroup2 a BPF_PROG_TYPE_CGROUP_DEVICE program replacing the old one. Both get
// runc's default allow rules after the spec's (cgroup_convert.h).
#pragma once

#include <map>
#include <string>

#include "base/error.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"

namespace berth::runtime::cgroup {

struct ApplyOptions {
  // `update` of a running container: only the fields given are written (the
  // device rules only when the update has some), and memory.checkBeforeUpdate
  // compares a new limit with the current usage.
  bool update = false;
  // Leave the device rules out (a rootless container: its device nodes are the
  // host's, bind-mounted, and a devices cgroup or BPF filter needs privileges;
  // runc ignores them too).
  bool skip_devices = false;
};

// Writes `r` to the container's cgroup whose directories are `paths`
// (Manager::paths(): hierarchy mount point -> directory) on `layout`.
Result<> apply_resources(const Layout& layout, const std::map<std::string, std::string>& paths,
                         const oci::Resources& r, const ApplyOptions& opts = {});

}  // namespace berth::runtime::cgroup
