// The guard is tested on this very test program: a test re-executes it with
// BERTH_TEST_EXE_GUARD set, and a constructor (before GoogleTest's main) plays
// the runtime: it calls ensure_protected_exe, then reports what the process
// looks like afterwards and hands an O_PATH fd of its /proc/self/exe back,
// which the test then attacks the CVE-2019-5736 way after the process exits.
#include "runtime/exe_guard.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/console.h"

namespace berth::runtime {
namespace {

constexpr const char* kModeEnv = "BERTH_TEST_EXE_GUARD";
constexpr const char* kFdEnv = "BERTH_TEST_EXE_GUARD_FD";

std::string errno_name(int err) { return err == 0 ? "ok" : strerrorname_np(err); }

// What a process that may have entered a container can do to its binary.
std::string try_to_overwrite(const char* path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "open:" + errno_name(errno);
  // Write only into a write-sealed memfd: a broken guard must not damage the test binary.
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || !(seals & F_SEAL_WRITE)) {
    close(fd);
    return "open:writable";
  }
  ssize_t n = pwrite(fd, "X", 1, 0);
  int err = n < 0 ? errno : 0;
  close(fd);
  return "write:" + errno_name(err);
}

[[noreturn]] void helper(int argc, char** argv, const std::string& mode, int sock_fd) {
  std::ostringstream report;
  if (mode != "noguard") {
    // Re-executes: we only come back when protected.
    auto r = mode == "memfd"     ? ensure_protected_exe(argc, argv, ExeSeal::memfd)
             : mode == "overlay" ? ensure_protected_exe(argc, argv, ExeSeal::overlay)
                                 : ensure_protected_exe(argc, argv);
    if (!r) report << "error=" << r.error().what() << "\n";
  }
  char exe[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  report << "exe=" << (n > 0 ? exe : "?") << "\n";
  report << "sealed=" << exe_is_sealed() << "\n";
  report << "overlay=" << exe_is_on_readonly_overlay() << "\n";
  report << "marker=" << (getenv(kBerthClonedEnv) ? getenv(kBerthClonedEnv) : "absent") << "\n";
  report << "keep=" << (getenv("BERTH_TEST_KEEP") ? getenv("BERTH_TEST_KEEP") : "absent") << "\n";
  report << "argv=";
  for (int i = 0; i < argc; ++i) report << argv[i] << "|";
  report << "\n";
  report << "overwrite=" << (mode != "noguard" ? try_to_overwrite("/proc/self/exe") : "skipped") << "\n";
  UniqueFd sock(sock_fd);
  UniqueFd self(open("/proc/self/exe", O_PATH | O_CLOEXEC));
  auto sent = send_fd(sock, self, report.str());
  _exit(sent ? 0 : 3);
}

__attribute__((constructor)) void maybe_run_helper(int argc, char** argv, char**) {
  const char* mode = getenv(kModeEnv);
  const char* fd = getenv(kFdEnv);
  if (mode && fd) helper(argc, argv, mode, atoi(fd));
}

struct HelperResult {
  std::map<std::string, std::string> report;
  UniqueFd exe;  // O_PATH fd of the helper's /proc/self/exe
  int status = -1;
};

HelperResult run_helper(const std::string& mode, const std::vector<std::string>& extra_env = {}) {
  HelperResult out;
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]), theirs(sv[1]);
  pid_t pid = fork();
  if (pid == 0) {
    // Not close-on-exec: the fd must survive both execs, as --preserve-fds ones do.
    int fd = dup(theirs.get());
    std::string fd_env = std::string(kFdEnv) + "=" + std::to_string(fd);
    std::string mode_env = std::string(kModeEnv) + "=" + mode;
    std::vector<std::string> env = {mode_env, fd_env, "BERTH_TEST_KEEP=kept value"};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* argv[] = {const_cast<char*>("exe-guard-helper"), const_cast<char*>("an arg"),
                    const_cast<char*>("--another"), nullptr};
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  theirs.reset();
  std::string payload;
  auto fd = recv_fd(ours, &payload);
  int status = 0;
  waitpid(pid, &status, 0);
  out.status = status;
  EXPECT_TRUE(fd) << fd.error().what();
  if (fd) out.exe = std::move(*fd);
  std::istringstream lines(payload);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out.report[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

TEST(ExeGuard, ReexecutesFromASealedMemfd) {
  auto r = run_helper("memfd");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.status;
  EXPECT_EQ(r.report["error"], "");
  EXPECT_EQ(r.report["exe"].rfind("/memfd:berth-runtime", 0), 0u) << r.report["exe"];
  EXPECT_EQ(r.report["sealed"], "1");
  // The re-executed process sees argv and environment exactly as before, and
  // never the marker, so the container cannot see it either.
  EXPECT_EQ(r.report["argv"], "exe-guard-helper|an arg|--another|");
  EXPECT_EQ(r.report["keep"], "kept value");
  EXPECT_EQ(r.report["marker"], "absent");
  // From inside: /proc/self/exe cannot be written.
  auto over = r.report["overwrite"];
  EXPECT_TRUE(over == "open:ETXTBSY" || over == "write:EPERM" || over == "open:EACCES") << over;
}

TEST(ExeGuard, MemfdProcExeCannotBeOverwrittenAfterExit) {
  // CVE-2019-5736: keep an O_PATH handle on the runtime's /proc/<pid>/exe and
  // open it for writing once the runtime has exited and released the binary.
  auto r = run_helper("memfd");
  ASSERT_TRUE(r.exe);
  // The handle never points at the host binary (checked first: a broken guard
  // must not let this test write into its own executable).
  struct stat copy {}, host {};
  ASSERT_EQ(fstat(r.exe.get(), &copy), 0);
  ASSERT_EQ(stat("/proc/self/exe", &host), 0);
  ASSERT_FALSE(copy.st_dev == host.st_dev && copy.st_ino == host.st_ino);
  std::string path = "/proc/self/fd/" + std::to_string(r.exe.get());
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    EXPECT_EQ(pwrite(fd, "X", 1, 0), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(ftruncate(fd, 0), -1);
    int seals = fcntl(fd, F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
              F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    close(fd);
  }
}

bool can_mount() { return geteuid() == 0; }

TEST(ExeGuard, ReexecutesFromAReadOnlyOverlay) {
  if (!can_mount()) GTEST_SKIP() << "overlayfs needs CAP_SYS_ADMIN";
  auto r = run_helper("overlay");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.status;
  EXPECT_EQ(r.report["error"], "");
  EXPECT_EQ(r.report["overlay"], "1");
  // The cached overlay of this program's directory, attached under kExeSealDir.
  EXPECT_EQ(r.report["exe"].rfind(std::string(kExeSealDir) + "/", 0), 0u) << r.report["exe"];
  EXPECT_TRUE(r.report["exe"].ends_with("/exe_guard_test")) << r.report["exe"];
  EXPECT_EQ(r.report["argv"], "exe-guard-helper|an arg|--another|");
  EXPECT_EQ(r.report["keep"], "kept value");
  EXPECT_EQ(r.report["marker"], "absent");
  EXPECT_EQ(r.report["overwrite"], "open:EROFS");
}

TEST(ExeGuard, OverlayProcExeCannotBeOverwrittenAfterExit) {
  if (!can_mount()) GTEST_SKIP() << "overlayfs needs CAP_SYS_ADMIN";
  auto r = run_helper("overlay");
  ASSERT_TRUE(r.exe);
  struct stat copy {}, host {};
  ASSERT_EQ(fstat(r.exe.get(), &copy), 0);
  ASSERT_EQ(stat("/proc/self/exe", &host), 0);
  ASSERT_NE(copy.st_dev, host.st_dev);
  std::string path = "/proc/self/fd/" + std::to_string(r.exe.get());
  EXPECT_EQ(open(path.c_str(), O_RDWR | O_CLOEXEC), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(truncate(path.c_str(), 0), -1);
}

// How many mounts sit at `point` (stacked ones included).
int mounts_at(const std::string& point) {
  std::ifstream mi("/proc/self/mountinfo");
  int count = 0;
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string f[5];
    for (auto& x : f) ls >> x;
    if (f[4] == point) ++count;
  }
  return count;
}

TEST(ExeGuard, OverlayIsAttachedOnceAndReused) {
  if (!can_mount()) GTEST_SKIP() << "overlayfs needs CAP_SYS_ADMIN";
  auto first = run_helper("overlay");
  auto second = run_helper("overlay");
  ASSERT_EQ(first.report["error"], "");
  ASSERT_EQ(second.report["error"], "");
  const std::string& exe = first.report["exe"];
  EXPECT_EQ(second.report["exe"], exe);
  EXPECT_EQ(mounts_at(exe.substr(0, exe.rfind('/'))), 1);
  EXPECT_EQ(second.report["overwrite"], "open:EROFS");
}

TEST(ExeGuard, DefaultPrefersTheOverlay) {
  auto r = run_helper("guard");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  EXPECT_EQ(r.report["error"], "");
  EXPECT_EQ(r.report[can_mount() ? "overlay" : "sealed"], "1");
}

TEST(ExeGuard, WithoutTheGuardTheChecksSeeTheHostBinary) {
  // The control: the same helper without ensure_protected_exe runs from the
  // real file, which the assertions above would reject.
  auto r = run_helper("noguard");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  char self[PATH_MAX] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof self - 1), 0);
  EXPECT_EQ(r.report["exe"], self);
  EXPECT_EQ(r.report["sealed"], "0");
  EXPECT_EQ(r.report["overlay"], "0");
  struct stat copy {}, host {};
  ASSERT_EQ(fstat(r.exe.get(), &copy), 0);
  ASSERT_EQ(stat("/proc/self/exe", &host), 0);
  EXPECT_TRUE(copy.st_dev == host.st_dev && copy.st_ino == host.st_ino);
}

TEST(ExeGuard, RefusesToLoopWhenTheMarkerLies) {
  // Marker set but not running from a sealed copy: an error, not another exec.
  auto r = run_helper("guard", {std::string(kBerthClonedEnv) + "=1"});
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  EXPECT_NE(r.report["error"].find("not sealed"), std::string::npos) << r.report["error"];
  EXPECT_EQ(r.report["sealed"], "0");
  EXPECT_EQ(r.report["overlay"], "0");
  EXPECT_EQ(r.report["marker"], "absent");
}

TEST(ExeGuard, ThisTestRunnerIsNotProtected) {
  EXPECT_FALSE(exe_is_sealed());
  EXPECT_FALSE(exe_is_on_readonly_overlay());
}

}  // namespace
}  // namespace berth::runtime
