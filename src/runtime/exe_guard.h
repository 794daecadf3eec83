// CVE-2019-5736: a container must never be able to overwrite the runtime
// binary through /proc/<pid>/exe of a runtime process that entered it. Before
// such a process touches a container, the runtime re-executes itself from a
// sealed, read-only copy (memfd with F_SEAL_WRITE...) or an equivalent
// read-only mapping, so /proc/self/exe never points at the host binary.
#pragma once

#include "base/error.h"

namespace berth::runtime {

// Called first thing in main() by verbs that enter a container (create, run,
// exec). Returns normally when the process already runs from a protected copy;
// otherwise re-executes (argv and envp unchanged) and does not return on success.
// Fds without O_CLOEXEC (stdio, --preserve-fds, LISTEN_FDS) survive the re-exec.
// The re-executed process finds the environment exactly as before: the marker
// variable kBerthClonedEnv is removed again before this returns.
Result<> ensure_protected_exe(int argc, char** argv);

// Whether /proc/self/exe is a memfd carrying all of F_SEAL_SEAL, F_SEAL_SHRINK,
// F_SEAL_GROW and F_SEAL_WRITE (the check runc's exeseal.IsSelfExeCloned makes).
bool exe_is_sealed();

// Set for the re-executed process only; guards against an exec loop.
inline constexpr const char* kBerthClonedEnv = "_BERTH_CLONED";

}  // namespace berth::runtime
