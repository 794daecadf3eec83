// Seccomp (runtime-spec linux.seccomp) in two halves, so that nothing of
// libseccomp runs between clone and exec:
//
//   parent (runtime, before clone):
//     program = compile_seccomp(*spec.linux->seccomp)   // libseccomp -> BPF bytes
//   child (between clone and exec, no allocation, no exception):
//     listener = load_seccomp(program)                   // seccomp(2) directly
//     if (program.notify)                                // SCMP_ACT_NOTIFY rules
//       pass_seccomp_listener(channel, kSyncSeccompFd, listener)
//   parent, on that message:
//     fd = receive_seccomp_listener(channel)
//     send_to_seccomp_agent(seccomp, fd, pid, state_json)  // listenerPath, SCM_RIGHTS
//
// When to load (runc's order, libcontainer/standard_init_linux.go): without
// noNewPrivileges, seccomp(2) needs CAP_SYS_ADMIN, so the filter is loaded
// before the uid change and the capability drop; with noNewPrivileges it is
// loaded as late as possible, after no_new_privs is set. Either way every
// syscall that follows it must pass the filter.
//
// Profiles are read as runc reads them: a syscall name unknown to libseccomp
// is skipped (debug log); a rule whose action is the default action is
// skipped; ERRNO and TRACE without errnoRet return EPERM; several conditions
// on one syscall are ANDed in one rule, unless two of them test the same
// argument index, then each condition becomes a rule of its own (ORed).
// The native architecture is always in the filter. With a denying default
// action, a syscall numbered above all those the profile names (for each
// listed architecture) gets ENOSYS, so a libc falls back (runc's stub).
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/channel.h"
#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"

namespace berth::runtime {

// A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER).
struct SeccompProgram {
  std::vector<sock_filter> filter;
  // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags, plus NEW_LISTENER when
  // `notify` (TSYNC is left out then: the kernel refuses the pair, and the
  // process that loads the filter has a single thread).
  unsigned int flags = 0;
  bool notify = false;  // some rule is SCMP_ACT_NOTIFY: load returns a listener fd
};

// Builds the BPF program of a profile (already validated by oci::validate).
// Errors name the field: `linux.seccomp.syscalls[2].args[0]: ...`; a flag the
// running kernel does not support is an error naming it.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& profile);

// compile_seccomp through a cache of compiled programs under the runtime
// root (`<root>/.seccomp-cache:1/<hash>`): compiling a default-sized profile
// (podman's, ~430 names on 3 architectures) costs libseccomp ~40 ms, several
// times a whole container start; reading the cached program costs ~0.05 ms.
// The key is the profile (without listenerPath/Metadata, which the program
// does not depend on), libseccomp's and Berth's versions, the build of
// compile_seccomp and the kernel release; an entry is used only when its stored key equals the profile's
// and its sizes check out, else it is rebuilt. Cache failures only log.
Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& profile, const std::string& root);

// Loads `program` into the calling process (and its future children) with
// seccomp(2). Safe between clone and exec: raw syscalls, no allocation except
// for an error's message. Without no_new_privs the caller needs CAP_SYS_ADMIN.
// Returns the notify listener fd (close-on-exec) when program.notify, else an
// invalid fd.
Result<UniqueFd> load_seccomp(const SeccompProgram& program);

// Child side of the notify hand-off: message `type` on the sync channel, then
// the listener fd as an SCM_RIGHTS record on the same socket.
Result<> pass_seccomp_listener(const Channel& channel, uint32_t type, const UniqueFd& listener);
// Parent side, after the message of `type` arrived: the fd that follows.
Result<UniqueFd> receive_seccomp_listener(const Channel& channel);

// The runtime-spec "containerProcessState" document sent with the listener
// fd: ociVersion, fds ["seccompFd"], pid, metadata (listenerMetadata), state
// (the state JSON object, `state_json` as the hooks get it).
std::string container_process_state_json(const oci::Seccomp& profile, pid_t pid, std::string_view state_json);
// Connects to linux.seccomp.listenerPath (a unix stream socket) and sends the
// container process state with `listener` as SCM_RIGHTS in one message.
Result<> send_to_seccomp_agent(const oci::Seccomp& profile, const UniqueFd& listener, pid_t pid,
                               std::string_view state_json);

// Tables for validation and `features` (the same ones compile_seccomp uses).
std::vector<std::string> seccomp_action_names();
std::vector<std::string> seccomp_operator_names();
std::vector<std::string> seccomp_arch_names();
std::vector<std::string> seccomp_flag_names();            // every flag Berth knows
std::vector<std::string> seccomp_supported_flag_names();  // those the running kernel accepts
// When compile_seccomp was built: part of the cache key, so that a rebuilt
// runtime never reuses programs of an older compiler.
std::string_view seccomp_compiler_build();
// libseccomp's version, "2.5.4".
std::string libseccomp_version();

}  // namespace berth::runtime
