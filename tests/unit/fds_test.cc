#include "base/fds.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>

#include <gtest/gtest.h>

namespace berth {
namespace {

// Runs `body` in a forked child (fd games must not disturb the test runner)
// and returns its exit status: 0 means every check passed, otherwise the
// number of the first failed check.
int in_child(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }
bool is_cloexec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

// Opens /dev/null at exactly 20..25 (cloexec as asked).
bool open_numbered(bool cloexec) {
  for (int fd = 20; fd <= 25; ++fd) {
    int n = open("/dev/null", O_RDONLY | (cloexec ? O_CLOEXEC : 0));
    if (n < 0 || dup3(n, fd, cloexec ? O_CLOEXEC : 0) < 0) return false;
    close(n);
  }
  return true;
}

// Makes close_range(2) fail with ENOSYS, as on a kernel older than 5.9.
bool deny_close_range() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return false;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return false;
  bool ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(close_range), 0) == 0 &&
            seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

int check_close(bool without_close_range) {
  if (!open_numbered(false)) return 1;
  if (without_close_range && !deny_close_range()) return 2;
  if (!close_fds_from(20, {22, 25, 7 /* below lowest: ignored */})) return 3;
  if (is_open(20) || is_open(21) || is_open(23) || is_open(24)) return 4;
  if (!is_open(22) || !is_open(25)) return 5;
  if (!is_open(0) || !is_open(1) || !is_open(2)) return 6;
  return 0;
}

TEST(CloseFds, ClosesAllButKept) { EXPECT_EQ(in_child([] { return check_close(false); }), 0); }

TEST(CloseFds, FallsBackToProcWithoutCloseRange) {
  EXPECT_EQ(in_child([] { return check_close(true); }), 0);
}

TEST(CloseFds, ClosesEverythingWithoutKeep) {
  EXPECT_EQ(in_child([] {
              if (!open_numbered(false)) return 1;
              if (!close_fds_from(3)) return 2;
              for (int fd = 3; fd < 64; ++fd)
                if (is_open(fd)) return 3;
              return is_open(2) ? 0 : 4;
            }),
            0);
}

int check_cloexec(bool without_close_range) {
  // Kept fds opened O_CLOEXEC must come out inheritable.
  if (!open_numbered(true)) return 1;
  for (int fd : {20, 21}) fcntl(fd, F_SETFD, 0);
  if (without_close_range && !deny_close_range()) return 2;
  if (!mark_cloexec_from(20, {21, 23})) return 3;
  if (!is_cloexec(20) || !is_cloexec(22) || !is_cloexec(24) || !is_cloexec(25)) return 4;
  if (is_cloexec(21) || is_cloexec(23)) return 5;
  // And the kernel really drops the others at exec.
  execl("/bin/sh", "sh", "-c",
        "test -e /proc/self/fd/21 && test -e /proc/self/fd/23 && "
        "! test -e /proc/self/fd/20 && ! test -e /proc/self/fd/22 && ! test -e /proc/self/fd/25 || exit 6",
        static_cast<char*>(nullptr));
  return 7;
}

TEST(MarkCloexec, MarksAllButKeptAndExecDropsThem) {
  EXPECT_EQ(in_child([] { return check_cloexec(false); }), 0);
}

TEST(MarkCloexec, FallsBackToProcWithoutCloseRange) {
  EXPECT_EQ(in_child([] { return check_cloexec(true); }), 0);
}

TEST(MarkCloexec, RejectsNegativeLowest) { EXPECT_FALSE(mark_cloexec_from(-1)); }

TEST(PlanInheritedFds, PreserveOnly) {
  auto p = plan_inherited_fds(3, std::nullopt, std::nullopt, 100);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->keep, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(p->listen_fds, 0);
  EXPECT_TRUE(p->env.empty());
}

TEST(PlanInheritedFds, NothingByDefault) {
  auto p = plan_inherited_fds(0, std::nullopt, std::nullopt, 100);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->keep.empty());
}

TEST(PlanInheritedFds, ListenFdsComeFirstThenPreserved) {
  // runc's docs: LISTEN_FDS=3 and --preserve-fds 5 pass fds 3..10.
  auto p = plan_inherited_fds(5, "3", "100", 100);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->keep, (std::vector<int>{3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(p->listen_fds, 3);
  EXPECT_EQ(p->env, (std::vector<std::string>{"LISTEN_FDS=3", "LISTEN_PID=1"}));
}

TEST(PlanInheritedFds, ListenFdsForAnotherPidAreIgnored) {
  auto p = plan_inherited_fds(1, "3", "99", 100);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->keep, (std::vector<int>{3}));
  EXPECT_EQ(p->listen_fds, 0);
  EXPECT_TRUE(p->env.empty());
}

TEST(PlanInheritedFds, MalformedListenVarsAreIgnored) {
  for (auto [fds, pid] : {std::pair{"x", "100"}, {"3", "100x"}, {"-2", "100"}, {"", "100"}, {"0", "100"}}) {
    auto p = plan_inherited_fds(0, std::string(fds), std::string(pid), 100);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->keep.empty()) << fds << " " << pid;
  }
  auto p = plan_inherited_fds(0, "2", std::nullopt, 100);  // LISTEN_PID unset
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->keep.empty());
}

TEST(PlanInheritedFds, RejectsNegativeAndAbsurdCounts) {
  auto neg = plan_inherited_fds(-1, std::nullopt, std::nullopt, 1);
  ASSERT_FALSE(neg);
  EXPECT_NE(neg.error().what().find("--preserve-fds"), std::string::npos);
  EXPECT_FALSE(plan_inherited_fds(1 << 30, std::nullopt, std::nullopt, 1));
}

TEST(PrepareInheritedFds, RequiresPlannedFdsOpen) {
  EXPECT_EQ(in_child([] {
              unsetenv("LISTEN_FDS");
              close_fds_from(3);
              if (prepare_inherited_fds(1)) return 1;  // fd 3 closed
              if (open("/dev/null", O_RDONLY) != 3) return 2;
              auto p = prepare_inherited_fds(1);
              if (!p || p->keep != std::vector<int>{3}) return 3;
              if (prepare_inherited_fds(2)) return 4;  // fd 4 closed
              return 0;
            }),
            0);
}

TEST(PrepareInheritedFds, HonoursListenFdsOfThisProcess) {
  EXPECT_EQ(in_child([] {
              close_fds_from(3);
              for (int i = 0; i < 3; ++i)
                if (open("/dev/null", O_RDONLY) != 3 + i) return 1;
              setenv("LISTEN_FDS", "2", 1);
              setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
              auto p = prepare_inherited_fds(1);
              if (!p) return 2;
              if (p->keep != std::vector<int>{3, 4, 5} || p->listen_fds != 2) return 3;
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace berth
