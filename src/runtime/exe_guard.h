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
Result<> ensure_protected_exe(int argc, char** argv);

}  // namespace berth::runtime
