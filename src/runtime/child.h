// Steps shared by the two kinds of container process between clone and exec:
// the container's init (init.cc) and a process exec'd into a running
// container (exec.cc). Allocation is fine here, exceptions are not.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::runtime {

// Unblocks every signal and restores default dispositions: the runtime
// blocks signals it forwards, and the container's process must not inherit that.
Result<> reset_signals();
// setresgid/setresuid(0) in a just-entered user namespace, so files created
// before the identity change belong to the namespace's root. Keeps the
// overflow ids when 0 is not mapped: capabilities still apply.
Result<> become_root_in_userns();
// chdir(cwd), then a check that the cwd is inside the process's root: a cwd
// reached through a leaked fd (/proc/self/fd/N of a host directory) is
// outside it, and the kernel's getcwd says "(unreachable)" (CVE-2024-21626).
Result<> enter_cwd(const std::string& cwd);
// A session keyring of the container's own ("_ses.<id>"), not the
// runtime's: the host's keys stay out of reach. ENOSYS is no error.
Result<> join_session_keyring(const std::string& id);
// argv/envp for execve: pointers into `v`, null-terminated.
std::vector<char*> c_strings(const std::vector<std::string>& v);

}  // namespace berth::runtime
