// Security-module labels of a container process: process.apparmorProfile and
// process.selinuxLabel, set for the next execve (/proc/self/attr/.../exec).
// On a host whose kernel does not run the module the label is skipped with a
// warning (crun's behaviour; this machine has neither AppArmor nor SELinux).
#pragma once

#include <string>

#include "base/error.h"

namespace berth::runtime {

// Call last before execve, in the container's mount namespace with its /proc.
Result<> apply_exec_labels(const std::string& apparmor_profile, const std::string& selinux_label);

}  // namespace berth::runtime
