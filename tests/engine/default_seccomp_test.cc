// Berth's default seccomp policy: its entries follow the capabilities, every
// name is known to libseccomp, it compiles fast, and loaded into a child it
// denies what it says (namespace creation, clone3, keyrings) and nothing else.
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "engine/default_seccomp.h"
#include "engine/spec_builder.h"
#include "oci/config.h"
#include "runtime/seccomp.h"

namespace berth::engine {
namespace {

bool names(const oci::Seccomp& s, std::string_view name) {
  return std::ranges::any_of(s.syscalls, [&](const oci::SeccompSyscall& c) {
    return std::ranges::find(c.names, name) != c.names.end();
  });
}

TEST(DefaultSeccomp, FollowsCapabilities) {
  auto s = default_seccomp(default_capabilities());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ALLOW");
  for (auto n : {"mount", "umount2", "setns", "pivot_root", "init_module", "kexec_load", "reboot", "ptrace",
                 "clock_settime", "settimeofday", "adjtimex", "keyctl", "bpf", "perf_event_open", "open_by_handle_at",
                 "clone3", "clone", "unshare"})
    EXPECT_TRUE(names(s, n)) << n;
  EXPECT_FALSE(names(s, "chroot"));  // CAP_SYS_CHROOT is in the default set
  for (const auto& c : s.syscalls) {
    EXPECT_EQ(c.action, "SCMP_ACT_ERRNO");
    bool clone3 = c.names == std::vector<std::string>{"clone3"};
    EXPECT_EQ(c.errno_ret, clone3 ? uint32_t(ENOSYS) : uint32_t(EPERM)) << c.names[0];
    if (c.names[0] == "clone" || c.names[0] == "unshare") {
      ASSERT_EQ(c.args.size(), 1u);
      EXPECT_EQ(c.args[0].op, "SCMP_CMP_MASKED_EQ");
      EXPECT_EQ(c.args[0].value, c.args[0].value_two);
    }
  }

  auto admin = default_capabilities();
  admin.push_back("CAP_SYS_ADMIN");
  admin.push_back("CAP_SYS_PTRACE");
  auto a = default_seccomp(admin);
  for (auto n : {"mount", "setns", "clone3", "clone", "unshare", "bpf", "ptrace", "userfaultfd"})
    EXPECT_FALSE(names(a, n)) << n;
  EXPECT_TRUE(names(a, "init_module"));
  EXPECT_TRUE(names(a, "keyctl"));  // never allowed

  auto none = default_seccomp({});
  EXPECT_TRUE(names(none, "chroot"));
}

TEST(DefaultSeccomp, NamesKnownAndFastToCompile) {
  auto s = default_seccomp(default_capabilities());
  for (const auto& c : s.syscalls)
    for (const auto& n : c.names) EXPECT_NE(seccomp_syscall_resolve_name(n.c_str()), __NR_SCMP_ERROR) << n;
  oci::Spec spec = oci::default_spec(false);
  spec.linux->seccomp = s;
  ASSERT_TRUE(oci::validate(spec));
  auto t0 = std::chrono::steady_clock::now();
  auto prog = runtime::compile_seccomp(s);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(prog) << prog.error().what();
  std::printf("default seccomp: %zu rules, %zu BPF instructions, compiled in %lld us\n", s.syscalls.size(),
              prog->filter.size(), static_cast<long long>(us));
  EXPECT_LT(prog->filter.size(), 400u);
}

// Runs `check` in a child under the filter; returns its exit status.
int in_filtered_child(const oci::Seccomp& s, int (*check)()) {
  auto prog = runtime::compile_seccomp(s);
  if (!prog) return 100;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (!runtime::load_seccomp(*prog)) ::_exit(101);
    ::_exit(check());
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(DefaultSeccomp, DeniesInAChild) {
  // Without CAP_SYS_ADMIN: namespaces refused with EPERM, clone3 ENOSYS,
  // keyrings EPERM; ordinary calls and a namespace-less clone (fork) work.
  int st = in_filtered_child(default_seccomp(default_capabilities()), [] {
    if (::unshare(CLONE_NEWUSER) == 0 || errno != EPERM) return 1;
    if (::unshare(CLONE_NEWNET | CLONE_FILES) == 0 || errno != EPERM) return 2;
    if (::syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return 3;
    if (::syscall(SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno != EPERM) return 4;
    if (::unshare(CLONE_FILES) != 0) return 5;
    pid_t c = ::fork();
    if (c < 0) return 6;
    if (c == 0) ::_exit(0);
    ::waitpid(c, nullptr, 0);
    if (::getpid() <= 0) return 7;
    return 0;
  });
  EXPECT_EQ(st, 0);

  // With CAP_SYS_ADMIN granted the same calls pass the filter.
  auto caps = default_capabilities();
  caps.push_back("CAP_SYS_ADMIN");
  st = in_filtered_child(default_seccomp(caps), [] { return ::unshare(CLONE_NEWNET) == 0 ? 0 : 1; });
  EXPECT_EQ(st, 0);
}

}  // namespace
}  // namespace berth::engine
