// Berth's default seccomp policy: everything is allowed except the syscalls
// below, which fail with EPERM unless the container holds a capability that
// makes them legitimate. The kernel checks most of these capabilities itself;
// the filter is a second wall for what is reachable without one (user
// namespaces, keyrings, io_uring, bpf) and for kernel bugs behind the check.
// A deny-list keeps the compiled program short (fast to build and to run)
// and lets new, harmless syscalls through.
#include "engine/default_seccomp.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace berth::engine {
namespace {

struct Denied {
  std::initializer_list<std::string_view> names;
  // Any one of these lets the container make the calls; empty = never.
  std::initializer_list<std::string_view> unless;
  std::string_view reason;
};

// clang-format off
const Denied kDenied[] = {
  {{"init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms"},
   {"CAP_SYS_MODULE"}, "kernel modules run code in the host's kernel"},
  {{"kexec_load", "kexec_file_load", "reboot"},
   {"CAP_SYS_BOOT"}, "replaces or restarts the host's kernel"},
  {{"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
    "open_tree", "mount_setattr"},
   {"CAP_SYS_ADMIN"}, "rearranges the mount table the runtime set up (masked paths, read-only /proc/sys)"},
  {{"setns"}, {"CAP_SYS_ADMIN"}, "joins another process's namespaces"},
  {{"swapon", "swapoff"}, {"CAP_SYS_ADMIN"}, "host-wide memory configuration"},
  {{"quotactl", "quotactl_fd"}, {"CAP_SYS_ADMIN"}, "host filesystems' quotas"},
  {{"lookup_dcookie", "nfsservctl"}, {"CAP_SYS_ADMIN"}, "host-wide profiling and NFS server control"},
  {{"fanotify_init"}, {"CAP_SYS_ADMIN"}, "watches files across the whole host mount"},
  {{"bpf"}, {"CAP_SYS_ADMIN", "CAP_BPF"}, "loads programs into the kernel; a rich source of kernel exploits"},
  {{"perf_event_open"}, {"CAP_SYS_ADMIN", "CAP_PERFMON"}, "observes the host's processes and leaks kernel addresses"},
  {{"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"},
   {"CAP_SYS_PTRACE"}, "reads or changes another process's memory and descriptors"},
  {{"clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "settimeofday", "stime", "adjtimex"},
   {"CAP_SYS_TIME"}, "the clock is not namespaced: it is the host's"},
  {{"acct"}, {"CAP_SYS_PACCT"}, "host-wide process accounting"},
  {{"iopl", "ioperm"}, {"CAP_SYS_RAWIO"}, "direct hardware port access"},
  {{"syslog"}, {"CAP_SYSLOG"}, "the host kernel's log, which leaks addresses"},
  {{"open_by_handle_at"}, {"CAP_DAC_READ_SEARCH"}, "opens any file of a host filesystem by handle (the shocker escape)"},
  {{"vhangup"}, {"CAP_SYS_TTY_CONFIG"}, "hangs up the terminal"},
  {{"chroot"}, {"CAP_SYS_CHROOT"}, "changes root; harmless once dropped, kept with its capability"},
  {{"keyctl", "add_key", "request_key"}, {}, "the kernel keyrings are not namespaced"},
  {{"userfaultfd"}, {"CAP_SYS_PTRACE"}, "stalls kernel page faults: the usual tool to win kernel races"},
  {{"io_uring_setup", "io_uring_enter", "io_uring_register"}, {}, "does syscalls' work (open, connect...) out of this filter's sight; a long CVE record"},
  {{"uselib", "_sysctl", "ustat", "sysfs", "vm86", "vm86old", "afs_syscall", "tuxcall", "vserver", "security"},
   {}, "obsolete interfaces nobody needs and few have audited"},
};
// clang-format on

// The namespace flags of clone(2) and unshare(2). Without CAP_SYS_ADMIN the
// kernel refuses every one of them but CLONE_NEWUSER, which opens a large
// attack surface to any process; the filter denies them all alike.
constexpr uint64_t kCloneNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET};
// CLONE_NEWTIME (0x80) overlaps clone(2)'s exit-signal byte: unshare only.
constexpr uint64_t kCloneNewTime = 0x00000080;

std::vector<std::string> native_architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__i386__)
  return {"SCMP_ARCH_X86"};
#elif defined(__powerpc64__)
  return {"SCMP_ARCH_PPC64LE"};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"SCMP_ARCH_RISCV64"};
#else
  return {};  // the runtime always adds the native architecture
#endif
}

oci::SeccompSyscall deny(std::vector<std::string> names, uint32_t err, std::vector<oci::SeccompArg> args = {}) {
  return oci::SeccompSyscall{
      .names = std::move(names), .action = "SCMP_ACT_ERRNO", .errno_ret = err, .args = std::move(args)};
}

}  // namespace

oci::Seccomp default_seccomp(const std::vector<std::string>& capabilities) {
  auto has = [&](std::string_view cap) { return std::ranges::find(capabilities, cap) != capabilities.end(); };
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = native_architectures();
  for (const auto& d : kDenied) {
    if (std::ranges::any_of(d.unless, has)) continue;
    s.syscalls.push_back(deny(std::vector<std::string>(d.names.begin(), d.names.end()), EPERM));
  }
  if (!has("CAP_SYS_ADMIN")) {
    // clone3 passes its flags in a struct the filter cannot read: ENOSYS makes
    // glibc fall back to clone(2), whose flags it can (as Docker does).
    s.syscalls.push_back(deny({"clone3"}, ENOSYS));
    // One rule per flag: each matches when that bit is set, whatever else is.
    for (uint64_t flag : kCloneNamespaceFlags) {
      s.syscalls.push_back(deny({"clone"}, EPERM, {{.index = 0, .value = flag, .value_two = flag, .op = "SCMP_CMP_MASKED_EQ"}}));
      s.syscalls.push_back(deny({"unshare"}, EPERM, {{.index = 0, .value = flag, .value_two = flag, .op = "SCMP_CMP_MASKED_EQ"}}));
    }
    s.syscalls.push_back(
        deny({"unshare"}, EPERM, {{.index = 0, .value = kCloneNewTime, .value_two = kCloneNewTime, .op = "SCMP_CMP_MASKED_EQ"}}));
  }
  return s;
}

}  // namespace berth::engine
