// The container's init: the child side of container creation, from clone to
// exec. It runs in the new namespaces, talks to the runtime over the sync
// channel and never returns. No exceptions here: every step returns a Result
// and the first error travels back over the channel.
#pragma once

#include <cstdint>
#include <string>

#include "base/channel.h"
#include "base/fd.h"
#include "base/fds.h"
#include "oci/spec.h"
#include "runtime/namespaces.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"

namespace berth::runtime {

// Sync channel messages.
enum SyncMessage : uint32_t {
  kSyncGo = 1,          // runtime -> init: mappings and cgroup done; text: state JSON
  kSyncRuntimeHooks,    // init -> runtime: rootfs mounted, run prestart/createRuntime hooks
  kSyncHooksDone,       // runtime -> init
  kSyncPty,             // init -> runtime: the pty master follows as an SCM_RIGHTS record
  kSyncCreated,         // init -> runtime: ready; blocking on the exec fifo (or on kSyncStart)
  kSyncChildPid,        // intermediate -> runtime: value = the init's pid
  kSyncCgroupsReady,    // runtime -> init: the cgroup dirs exist (and a joined-mount init is in them)
  kSyncSeccompFd,       // init -> runtime: the seccomp notify listener follows as an SCM_RIGHTS record
  kSyncStart,           // runtime -> init (run, no exec fifo): exec the process; EOF at exec, else its error
};

struct InitContext {
  const oci::Spec* spec = nullptr;
  const NamespacePlan* plan = nullptr;
  RootfsOptions rootfs;
  const Channel* channel = nullptr;
  // O_PATH to exec.fifo; null when the runtime that creates the container
  // also starts it (run): kSyncStart on the channel then.
  const UniqueFd* fifo = nullptr;
  const UniqueFd* state_dir = nullptr;  // O_PATH to the container's state dir
  const UniqueFd* cgroup2_dir = nullptr;      // clone3 CLONE_INTO_CGROUP target (may be invalid)
  std::vector<std::string> cgroup_self_join;  // v1 "tasks" files the init moves itself with
  std::string id;
  InheritedFds inherited;  // fds 3.. passed on (LISTEN_FDS, --preserve-fds)
  bool no_new_keyring = false;
  const SeccompProgram* seccomp = nullptr;  // compiled linux.seccomp, or null
};

[[noreturn]] void container_init(const InitContext& ctx);

// $PATH lookup as execvp does it, with the container's env; errors name args[0].
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace berth::runtime
