// Attributes of the container's process, applied between clone and exec in
// this order: personality, rlimits, oom_score_adj (done by parent? see
// container.cc), scheduler, io priority, identity (groups, gid, uid keeping
// capabilities), capabilities, umask, cwd, no_new_privs. No exceptions here.
#pragma once

#include <string>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

Result<> apply_personality(const oci::Personality& p);
Result<> apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
// Writes /proc/self/oom_score_adj; lowering it needs CAP_SYS_RESOURCE, and the
// error says so.
Result<> apply_oom_score_adj(int value);
Result<> apply_scheduler(const oci::Scheduler& s);
Result<> apply_io_priority(const oci::IoPriority& p);
Result<> apply_cpu_affinity(const std::string& cpus);  // "0-3,5"

// setgroups(additionalGids), setresgid, setresuid; capabilities survive the
// uid change (PR_SET_KEEPCAPS) so apply_capabilities can set them after.
Result<> set_identity(const oci::User& user);
// All five sets; the bounding set is dropped first, ambient raised last.
// An unknown capability name is an error naming it.
Result<> apply_capabilities(const oci::Capabilities& caps);
Result<> set_no_new_privileges();

// Capability name ("CAP_SYS_ADMIN") <-> number; for validation and `features`.
Result<int> capability_from_name(std::string_view name);
}  // namespace berth::runtime
