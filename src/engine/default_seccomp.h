// Berth's default seccomp policy: a deny-list of the syscalls that break out
// of or reach across containers (kernel modules, kexec, mount/namespace
// manipulation without CAP_SYS_ADMIN, keyrings, bpf, perf, ptrace of others,
// clock setting, reboot, swap, ...), written as a table of Berth's own with
// the reason for each entry, each conditioned on the capability that makes
// it legitimate (granted by --cap-add) as the peers' profiles do.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace berth::engine {

// The policy for a container with `capabilities` ("CAP_SYS_ADMIN" ...).
oci::Seccomp default_seccomp(const std::vector<std::string>& capabilities);

}  // namespace berth::engine
