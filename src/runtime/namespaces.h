// Namespaces of a container: which to create, which to join by path, and the
// mappings and offsets that must be written before the container may proceed.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"

namespace berth::runtime {

struct NamespaceJoin {
  int type = 0;  // CLONE_NEW*
  std::string path;
  UniqueFd fd;
};

struct NamespacePlan {
  // Created by clone(): all new namespaces but cgroup and time, which must be
  // unshared later (cgroup after the child moved into its cgroup, so that the
  // namespace's root is the container's cgroup; time before the child exists).
  int clone_flags = 0;
  bool new_user = false;
  bool new_mount = false;
  bool new_cgroup = false;
  bool new_time = false;
  bool joins_mount = false;
  // Ordered: user first (it decides the owner of what is created after), mount last.
  std::vector<NamespaceJoin> joins;

  // Joining, or a new time namespace, needs an intermediate process: setns()
  // and unshare(CLONE_NEWTIME) only affect the caller's future children.
  bool needs_intermediate() const { return !joins.empty() || new_time; }

  // The new mount, network, IPC and UTS namespaces the init unshares itself,
  // first thing, instead of clone() making them in the runtime: clone then
  // returns at once and the runtime makes the cgroups while the init builds
  // them (a network and a mount namespace take about a millisecond). Not with
  // a new user namespace (the others must be made inside it, which the
  // runtime maps first) nor through an intermediate process.
  int init_unshare_flags() const {
    constexpr int kUnshareable = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    return new_user || needs_intermediate() ? 0 : clone_flags & kUnshareable;
  }
  // What the runtime's clone() of the init (or the intermediate's) creates.
  int init_clone_flags() const { return clone_flags & ~init_unshare_flags(); }
};

// CLONE_NEW* for a spec name ("network" -> CLONE_NEWNET), or an error naming it.
Result<int> namespace_flag(std::string_view type);
// /proc/self/ns file name of a CLONE_NEW* flag ("net").
const char* namespace_proc_name(int flag);

// Opens the namespace files to join. Errors name the path.
Result<NamespacePlan> plan_namespaces(const oci::Linux& linux);

// In the intermediate process: setns() into every joined namespace.
Result<> join_namespaces(const std::vector<NamespaceJoin>& joins);

// After unshare(CLONE_NEWTIME): /proc/self/timens_offsets, before any child.
Result<> write_time_offsets(const std::map<std::string, oci::TimeOffset>& offsets);

}  // namespace berth::runtime
