// Attributes of the container's process (runtime-spec "POSIX process",
// "Linux process", linux.personality). Everything here runs in the container
// child between clone and exec: no exceptions, errors are values naming the
// value that failed.
//
// Call order in the child (each step needs what the previous ones left; runc's
// finalizeNamespace does the same):
//
//   1. apply_personality(linux.personality)          // LINUX32 -> uname says i686
//   2. apply_rlimits(process.rlimits)                  // before dropping privileges
//   3. apply_oom_score_adj(*process.oomScoreAdj)        // only when set (MUST NOT touch it otherwise)
//   4. apply_scheduler(*process.scheduler)
//   5. apply_io_priority(*process.ioPriority)
//   6. set_identity(process.user)     // setgroups, setresgid, setresuid keeping caps
//                                     // (PR_SET_KEEPCAPS), then umask (given, else 0022)
//   7. apply_capabilities(*process.capabilities)   // bounding dropped, E/P/I set, ambient raised last
//      (without process.capabilities: runc keeps whatever the uid change left; so do we)
//   8. chdir(cwd)                     // not here (rootfs code)
//   9. set_no_new_privileges()        // when noNewPrivileges; before seccomp
//  10. apply_exec_cpu_affinity_final(*process.execCPUAffinity)   // exec only, right before exec
//
// apply_capabilities works whatever the uid is after step 6: it raises the
// effective set to the permitted one (CAP_SETPCAP is needed for
// PR_CAPBSET_DROP) before dropping the bounding set. drop_bounding_set() is
// also available as a separate step to run before set_identity.
//
// Capabilities follow the spec ("cannot be mapped ... or cannot be granted
// MUST be logged as a warning"; "SHOULD NOT fail"), as runc does: a name the
// running kernel does not know (number > /proc/sys/kernel/cap_last_cap) and a
// capability this process cannot grant (not in its own permitted/bounding set,
// e.g. CAP_SYS_RESOURCE on this machine) are skipped with a warning. A name
// that is no Linux capability at all ("CAP_FOO") is skipped too: config
// validation (oci::config_warnings) already warned about it, and rejected
// malformed names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

// personality(2): domain LINUX or LINUX32. The spec defines no flag values, so
// any flag is an error naming it.
Result<> apply_personality(const oci::Personality& p);

// setrlimit for each entry; a duplicated or unknown type is an error. A hard
// limit above the current one fails with EPERM without CAP_SYS_RESOURCE, and
// the error says so.
Result<> apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; error `unknown rlimit "X"`.
Result<int> rlimit_from_name(std::string_view name);

// Writes /proc/self/oom_score_adj; lowering it needs CAP_SYS_RESOURCE, and the
// error says so.
Result<> apply_oom_score_adj(int value);
// sched_setattr(2) with policy, nice, priority, flags, runtime/deadline/period.
Result<> apply_scheduler(const oci::Scheduler& s);
// ioprio_set(IOPRIO_WHO_PROCESS, 0, class<<13 | priority).
Result<> apply_io_priority(const oci::IoPriority& p);

// "0-3,7" -> {0,1,2,3,7}; empty string, bad numbers and reversed ranges are errors.
Result<std::vector<int>> parse_cpu_list(std::string_view cpus);
// sched_setaffinity(0, cpus) for the calling thread/process.
Result<> apply_cpu_affinity(const std::string& cpus);  // "0-3,5"
// execCPUAffinity (exec only, never the init process), in two steps:
//  - initial: in the runtime process that will fork the exec'd process, before
//    it (or its child) joins the container's cgroup; does nothing when empty.
//  - final: in the child after it joined the cgroup, right before exec. When
//    final is empty but initial was set, the affinity is reset to every CPU the
//    cgroup allows (the spec's "container's default CPU affinity").
Result<> apply_exec_cpu_affinity_initial(const oci::ExecCpuAffinity& a);
Result<> apply_exec_cpu_affinity_final(const oci::ExecCpuAffinity& a);

// setgroups(additionalGids), setresgid, setresuid; capabilities survive the
// uid change (PR_SET_KEEPCAPS) so apply_capabilities can set them after. In a
// user namespace where setgroups is denied, an empty additionalGids is not an
// error (as in runc). Raw syscalls: safe in a clone child. Ends with
// apply_umask(user).
Result<> set_identity(const oci::User& user);
// umask(user.umask), or 0022 when unset (runc's and crun's default; the spec
// says "should not be changed", but the caller's umask is an accident of how
// the runtime was started).
Result<> apply_umask(const oci::User& user);

// All five sets; the bounding set is dropped first, ambient raised last.
// Unknown and ungrantable capabilities are skipped (see the top comment).
Result<> apply_capabilities(const oci::Capabilities& caps);
// PR_CAPBSET_DROP for every capability not in caps.bounding (needs CAP_SETPCAP
// in the effective set). Optional: apply_capabilities does it too.
Result<> drop_bounding_set(const oci::Capabilities& caps);
Result<> set_no_new_privileges();

// Capability name ("CAP_SYS_ADMIN") <-> number; for validation and `features`.
// Knows every capability through CAP_CHECKPOINT_RESTORE (40), whatever the
// running kernel supports (the table is oci/names.h's). Names are exact (upper
// case, "CAP_" prefix); error `unknown capability "X"`.
Result<int> capability_from_name(std::string_view name);
// "" for a number not in the table.
std::string_view capability_name(int cap);
// Every name of the table, in number order (for `features`).
std::vector<std::string> all_capability_names();
// The running kernel's highest capability (/proc/sys/kernel/cap_last_cap).
int last_capability();
}  // namespace berth::runtime
