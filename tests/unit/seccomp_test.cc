// Seccomp profiles -> BPF programs: errors that name the field, runc's rule
// shapes, and the programs' effect, checked by loading them in a forked
// child with no_new_privs (no root needed).
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "runtime/seccomp.h"

namespace berth::runtime {
namespace {

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errno_ret = std::nullopt, std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

oci::SeccompArg arg(uint32_t index, std::string op, uint64_t value, uint64_t value_two = 0) {
  return oci::SeccompArg{index, value, value_two, std::move(op)};
}

oci::Seccomp allow_all() {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  return s;
}

std::string compile_error(const oci::Seccomp& s) {
  auto r = compile_seccomp(s);
  if (r) return "";
  return r.error().what();
}

// Forks; the child loads `program` under no_new_privs and exits with body()'s
// value. Returns the exit status, or 128+signal.
int run_filtered(const SeccompProgram& program, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(200);
    if (!load_seccomp(program)) _exit(201);
    _exit(body());
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// errno of a syscall that failed, 0 when it succeeded.
int errno_of(long rc) { return rc < 0 ? errno : 0; }

TEST(SeccompCompile, MinimalProfile) {
  auto p = compile_seccomp(allow_all());
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_FALSE(p->filter.empty());
  EXPECT_EQ(p->flags, 0u);
  EXPECT_FALSE(p->notify);
}

TEST(SeccompCompile, ErrorsNameTheField) {
  auto s = allow_all();
  s.syscalls = {rule({"getpid"}, "SCMP_ACT_ERRNO"), rule({"getppid"}, "SCMP_ACT_ERRNO"),
                rule({""}, "SCMP_ACT_ERRNO")};
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].names[0]: must not be empty");

  s.syscalls[2] = rule({"gettid"}, "SCMP_ACT_BOGUS");
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_BOGUS\"");

  s.syscalls[2] = rule({"gettid"}, "SCMP_ACT_ERRNO", std::nullopt, {arg(0, "SCMP_CMP_EQ", 1), arg(7, "SCMP_CMP_EQ", 1)});
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].args[1].index: must be between 0 and 5, got 7");

  s.syscalls[2] = rule({"gettid"}, "SCMP_ACT_ERRNO", std::nullopt, {arg(0, "SCMP_CMP_LIKE", 1)});
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].args[0].op: unknown operator \"SCMP_CMP_LIKE\"");

  s.syscalls[2] = rule({"gettid"}, "SCMP_ACT_ERRNO", 70000);
  EXPECT_EQ(compile_error(s),
            "linux.seccomp.syscalls[2].action: errnoRet 70000 does not fit the filter's 16-bit return data");

  s.syscalls[2] = rule({"gettid"}, "SCMP_ACT_NOTIFY");
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");

  auto d = allow_all();
  d.default_action = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(compile_error(d), "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  d.default_action = "SCMP_ACT_NOPE";
  EXPECT_EQ(compile_error(d), "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");

  auto a = allow_all();
  a.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  EXPECT_TRUE(compile_error(a).starts_with("linux.seccomp.architectures[1]: \"SCMP_ARCH_VAX\" is not supported by libseccomp"))
      << compile_error(a);

  auto f = allow_all();
  f.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FOO"};
  EXPECT_EQ(compile_error(f), "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
}

TEST(SeccompCompile, UnknownSyscallNamesAreSkipped) {
  auto s = allow_all();
  s.syscalls = {rule({"no_such_syscall", "getppid"}, "SCMP_ACT_ERRNO", 77)};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getppid)); }), 77);
}

TEST(SeccompCompile, RuleWithTheDefaultActionIsSkipped) {
  auto s = allow_all();
  s.syscalls = {rule({"getpid"}, "SCMP_ACT_ALLOW")};
  auto with = compile_seccomp(s);
  auto without = compile_seccomp(allow_all());
  ASSERT_TRUE(with) << with.error().what();
  ASSERT_TRUE(without);
  EXPECT_EQ(with->filter.size(), without->filter.size());
}

TEST(SeccompCompile, Flags) {
  auto s = allow_all();
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->flags, unsigned(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC));
  EXPECT_EQ(run_filtered(*p, [] { return 0; }), 0);
}

TEST(SeccompCompile, NotifyAddsANewListenerAndDropsTsync) {
  auto s = allow_all();
  s.listener_path = "/run/agent.sock";
  s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_NOTIFY")};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_TRUE(p->notify);
  EXPECT_TRUE(p->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  EXPECT_FALSE(p->flags & SECCOMP_FILTER_FLAG_TSYNC);
  // Without a listener the kernel refuses WAIT_KILLABLE_RECV: it is dropped.
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO")};
  auto q = compile_seccomp(s);
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->flags, unsigned(SECCOMP_FILTER_FLAG_TSYNC));
}

TEST(SeccompLoad, ErrnoDefaultsToEperm) {
  auto s = allow_all();
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO"), rule({"gettid"}, "SCMP_ACT_ERRNO", 42)};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getppid)); }), EPERM);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_gettid)); }), 42);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getuid)); }), 0);
}

TEST(SeccompLoad, DefaultErrnoWithAnAllowList) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = 38;
  s.syscalls = {rule({"exit_group", "exit", "getppid"}, "SCMP_ACT_ALLOW")};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getppid)); }), 0);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getuid)); }), 38);
}

// runc's -ENOSYS stub: a syscall numbered above all the profile names (for a
// listed architecture) gets ENOSYS, not the default action.
TEST(SeccompLoad, NewerSyscallsGetEnosys) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";  // EPERM
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  // Highest x86_64 number named: exit_group (231).
  s.syscalls = {rule({"exit_group", "exit", "getppid", "getpid"}, "SCMP_ACT_ALLOW")};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getppid)); }), 0);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getuid)); }), EPERM) << "102 < 231: default action";
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getcpu, 0, 0, 0)); }), ENOSYS) << "309 > 231";

  // A killing default action too.
  s.default_action = "SCMP_ACT_KILL_PROCESS";
  auto k = compile_seccomp(s);
  ASSERT_TRUE(k) << k.error().what();
  EXPECT_EQ(run_filtered(*k, [] { return errno_of(syscall(SYS_getcpu, 0, 0, 0)); }), ENOSYS);
  EXPECT_EQ(run_filtered(*k, [] { return errno_of(syscall(SYS_getuid)); }), 128 + SIGSYS);

  // No architectures listed: no stub (runc's rule).
  s.default_action = "SCMP_ACT_ERRNO";
  s.architectures.clear();
  auto n = compile_seccomp(s);
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ(run_filtered(*n, [] { return errno_of(syscall(SYS_getcpu, 0, 0, 0)); }), EPERM);
}

TEST(SeccompLoad, KillAndTrap) {
  auto s = allow_all();
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_KILL_PROCESS"), rule({"gettid"}, "SCMP_ACT_TRAP"),
                rule({"getuid"}, "SCMP_ACT_KILL")};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getppid)); }), 128 + SIGSYS);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_gettid)); }), 128 + SIGSYS);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getuid)); }), 128 + SIGSYS);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getgid)); }), 0);
}

// Two conditions on different arguments are ANDed in one rule.
TEST(SeccompLoad, ConditionsOnDifferentArgumentsAreAnded) {
  auto s = allow_all();
  s.syscalls = {rule({"getpriority"}, "SCMP_ACT_ERRNO", 77,
                     {arg(0, "SCMP_CMP_EQ", PRIO_PROCESS), arg(1, "SCMP_CMP_EQ", 0)})};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_PROCESS, 0)); }), 77);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_PROCESS, getpid())); }), 0);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_PGRP, 0)); }), 0);
}

// runc: two conditions on the same argument become two rules (ORed).
TEST(SeccompLoad, ConditionsOnTheSameArgumentAreSeparateRules) {
  auto s = allow_all();
  s.syscalls = {rule({"getpriority"}, "SCMP_ACT_ERRNO", 77,
                     {arg(0, "SCMP_CMP_EQ", PRIO_PROCESS), arg(0, "SCMP_CMP_EQ", PRIO_PGRP)})};
  auto p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_PROCESS, 0)); }), 77);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_PGRP, 0)); }), 77);
  EXPECT_EQ(run_filtered(*p, [] { return errno_of(syscall(SYS_getpriority, PRIO_USER, 0)); }), 0);
}

TEST(SeccompLoad, Operators) {
  struct Case {
    std::string op;
    uint64_t value, value_two;
    long who;
    bool denied;
  };
  // getpriority(PRIO_USER, who): a uid that need not exist is fine.
  const Case cases[] = {
      {"SCMP_CMP_EQ", 5, 0, 5, true},         {"SCMP_CMP_EQ", 5, 0, 6, false},
      {"SCMP_CMP_NE", 5, 0, 6, true},         {"SCMP_CMP_NE", 5, 0, 5, false},
      {"SCMP_CMP_LT", 5, 0, 4, true},         {"SCMP_CMP_LT", 5, 0, 5, false},
      {"SCMP_CMP_LE", 5, 0, 5, true},         {"SCMP_CMP_LE", 5, 0, 6, false},
      {"SCMP_CMP_GT", 5, 0, 6, true},         {"SCMP_CMP_GT", 5, 0, 5, false},
      {"SCMP_CMP_GE", 5, 0, 5, true},         {"SCMP_CMP_GE", 5, 0, 4, false},
      {"SCMP_CMP_MASKED_EQ", 0xff00, 0x1200, 0x1234, true},
      {"SCMP_CMP_MASKED_EQ", 0xff00, 0x1200, 0x1334, false},
  };
  for (const auto& c : cases) {
    auto s = allow_all();
    s.syscalls = {rule({"getpriority"}, "SCMP_ACT_ERRNO", 77, {arg(1, c.op, c.value, c.value_two)})};
    auto p = compile_seccomp(s);
    ASSERT_TRUE(p) << p.error().what();
    long who = c.who;
    int got = run_filtered(*p, [who] { return errno_of(syscall(SYS_getpriority, PRIO_USER, who)); });
    EXPECT_EQ(got == 77, c.denied) << c.op << " " << c.value << " who=" << c.who << " -> " << got;
  }
}

TEST(SeccompLoad, WithoutNoNewPrivsOrCapSysAdminIsRefused) {
  auto p = compile_seccomp(allow_all());
  ASSERT_TRUE(p);
  pid_t pid = fork();
  if (pid == 0) {
    // As root, becoming another uid clears the capabilities.
    if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0) _exit(200);
    auto r = load_seccomp(*p);
    _exit(r ? 0 : r.error().code());
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), EACCES);
}

TEST(SeccompNotify, ContainerProcessState) {
  auto s = allow_all();
  s.listener_path = "/run/agent.sock";
  s.listener_metadata = "MKNOD=/dev/null";
  std::string doc = container_process_state_json(
      s, 4422, R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4422,"bundle":"/b"})");
  EXPECT_EQ(doc,
            R"({"ociVersion":"1.2.0","fds":["seccompFd"],"pid":4422,"metadata":"MKNOD=/dev/null",)"
            R"("state":{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4422,"bundle":"/b"}})");
}

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-seccomp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::vector<std::filesystem::path> entries() {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(root_ + "/.seccomp-cache:1")) out.push_back(e.path());
    return out;
  }
  std::string root_;
};

bool same(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.notify == b.notify && a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

TEST_F(SeccompCache, StoresAndReusesThenRebuildsABadEntry) {
  auto s = allow_all();
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", 77)};
  auto direct = compile_seccomp(s);
  ASSERT_TRUE(direct);
  auto first = compile_seccomp_cached(s, root_);
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_TRUE(same(*first, *direct));
  auto files = entries();
  ASSERT_EQ(files.size(), 1u);
  auto second = compile_seccomp_cached(s, root_);
  ASSERT_TRUE(second);
  EXPECT_TRUE(same(*second, *direct));

  // A truncated entry is not used: the program is rebuilt and rewritten.
  std::filesystem::resize_file(files[0], std::filesystem::file_size(files[0]) - 3);
  auto third = compile_seccomp_cached(s, root_);
  ASSERT_TRUE(third);
  EXPECT_TRUE(same(*third, *direct));
  EXPECT_EQ(run_filtered(*third, [] { return errno_of(syscall(SYS_getppid)); }), 77);

  // Another profile, another entry; the listener path does not matter.
  s.syscalls[0].errno_ret = 78;
  auto other = compile_seccomp_cached(s, root_);
  ASSERT_TRUE(other);
  EXPECT_EQ(entries().size(), 2u);
  EXPECT_EQ(run_filtered(*other, [] { return errno_of(syscall(SYS_getppid)); }), 78);
}

TEST_F(SeccompCache, ErrorsAreNotCached) {
  auto s = allow_all();
  s.syscalls = {rule({"getppid"}, "SCMP_ACT_BOGUS")};
  auto r = compile_seccomp_cached(s, root_);
  ASSERT_FALSE(r);
  EXPECT_EQ(std::string(r.error().what()), "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_BOGUS\"");
  EXPECT_FALSE(std::filesystem::exists(root_ + "/.seccomp-cache:1") && !entries().empty());
}

TEST(SeccompTables, Names) {
  auto actions = seccomp_action_names();
  EXPECT_EQ(actions.size(), 9u);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "SCMP_ACT_NOTIFY"), actions.end());
  EXPECT_EQ(seccomp_operator_names().size(), 7u);
  auto archs = seccomp_arch_names();
  EXPECT_NE(std::find(archs.begin(), archs.end(), "SCMP_ARCH_X86_64"), archs.end());
  EXPECT_EQ(seccomp_flag_names().size(), 4u);
  EXPECT_FALSE(libseccomp_version().empty());
}

}  // namespace
}  // namespace berth::runtime
