// linux.seccomp (runtime-spec config-linux.md "Seccomp"), checked from inside
// the container: the checker's `syscall` verb makes one syscall and prints its
// errno, `seccomp-mode` reads /proc/self/status. The notify test plays the
// seccomp agent at listenerPath (runtime.md "Listener socket").
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <csignal>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness.h"

namespace berth::test {
namespace {

json rule(std::vector<std::string> names, const std::string& action, std::optional<int> errno_ret = std::nullopt,
          json args = json()) {
  json r = {{"names", names}, {"action", action}};
  if (errno_ret) r["errnoRet"] = *errno_ret;
  if (!args.is_null()) r["args"] = args;
  return r;
}

json allow_all(std::vector<json> rules) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", rules}};
}

// Runs several checker invocations in one container (busybox sh), one JSON
// document per line.
std::vector<json> check_lines(Bundle& b, const std::vector<std::string>& commands, CmdResult* result = nullptr) {
  std::string script;
  for (const auto& c : commands) script += "/bin/checker " + c + "; ";
  b.set_args({"/bin/sh", "-c", script});
  auto r = b.run();
  if (result) *result = r;
  std::vector<json> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  EXPECT_EQ(out.size(), commands.size()) << r.describe();
  out.resize(commands.size());
  return out;
}

// What busybox sh and the checker need (and runc's init after the filter).
std::vector<std::string> shell_syscalls() {
  return {
      "execve", "exit", "exit_group", "brk", "mmap", "munmap", "mprotect", "arch_prctl", "set_tid_address",
      "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "read", "write", "open", "openat", "close", "fstat",
      "newfstatat", "stat", "lstat", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "ioctl",
      "fcntl", "wait4", "clone", "fork", "vfork", "dup2", "dup3", "getcwd", "uname", "prlimit64", "readlink",
      "access", "faccessat", "faccessat2", "lseek", "pipe", "pipe2", "getrandom", "sigaltstack", "rseq",
      "set_robust_list", "futex", "setpgid", "getpgrp", "getdents64", "statx",
      // runc's init runs Go code after loading the filter
      "fstatfs", "statfs", "nanosleep", "clock_nanosleep", "sched_yield", "madvise", "gettid", "tgkill",
      "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "close_range", "sched_getaffinity",
      "mincore", "getrlimit", "setrlimit", "clock_gettime", "capget", "capset", "prctl", "setgroups",
      "setresuid", "setresgid", "chdir", "fchdir", "umask", "eventfd2", "readlinkat", "fchmod", "mkdirat",
      "unlinkat", "getsockname", "sendmsg", "recvmsg", "socket", "connect", "exit"};
}

TEST(Seccomp, FilterIsLoadedAndErrnoRetIsReturned) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"mkdirat", "mkdir"}, "SCMP_ACT_ERRNO", 77),
                                            rule({"getpriority"}, "SCMP_ACT_ERRNO")});
  auto j = check_lines(b, {"seccomp-mode", "syscall mkdirat -100 s:/tmp/x 0755", "syscall getpriority 0 0",
                           "syscall getppid"});
  EXPECT_EQ(j[0]["seccomp"], 2) << j[0];
  EXPECT_GE(j[0]["filters"].get<int>(), 1) << j[0];
  EXPECT_EQ(j[1]["errno"], 77) << j[1];
  EXPECT_EQ(j[2]["errno"], EPERM) << j[2] << " (ERRNO without errnoRet is EPERM)";
  EXPECT_EQ(j[3]["errno"], 0) << j[3];
}

TEST(Seccomp, NoFilterWithoutSeccomp) {
  Bundle b;
  auto j = b.check({"seccomp-mode"});
  EXPECT_EQ(j["seccomp"], 0) << j;
}

TEST(Seccomp, DefaultErrnoWithAnAllowList) {
  Bundle b;
  b.config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"},
                                  {"defaultErrnoRet", 38},
                                  {"syscalls", {rule(shell_syscalls(), "SCMP_ACT_ALLOW")}}};
  auto j = check_lines(b, {"syscall getppid", "syscall getpriority 0 0", "syscall sync"});
  EXPECT_EQ(j[0]["errno"], 0) << j[0];
  EXPECT_EQ(j[1]["errno"], 38) << j[1];
  EXPECT_EQ(j[2]["errno"], 38) << j[2];
}

// runc's -ENOSYS stub: with a denying default, a syscall numbered above all
// the profile names (futex_waitv, 449 > faccessat2, 439) fails with ENOSYS so
// that a libc can fall back; one below keeps the default errno. The same for
// the i386 ABI when SCMP_ARCH_X86 is listed.
TEST(Seccomp, SyscallsNewerThanTheProfileGetEnosys) {
  Bundle b;
  b.config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"},
                                  {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                                  {"syscalls", {rule(shell_syscalls(), "SCMP_ACT_ALLOW")}}};
  auto j = check_lines(b, {"syscall getppid", "syscall getpriority 0 0", "syscall 449", "syscall32 96 0 0",
                           "syscall32 449"});
  EXPECT_EQ(j[0]["errno"], 0) << j[0];
  EXPECT_EQ(j[1]["errno"], EPERM) << j[1];
  EXPECT_EQ(j[2]["errno"], ENOSYS) << j[2];
  EXPECT_EQ(j[3]["errno"], EPERM) << j[3] << " (i386 getpriority)";
  EXPECT_EQ(j[4]["errno"], ENOSYS) << j[4];
}

TEST(Seccomp, KillProcessAndKillThread) {
  for (std::string action : {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"}) {
    Bundle b;
    b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, action)});
    b.checker_args({"syscall", "getpriority", "0", "0"});
    auto r = b.run();
    EXPECT_EQ(r.status, 128 + SIGSYS) << action << ": " << r.describe();
    EXPECT_EQ(r.out.find("\"errno\""), std::string::npos) << action << ": the syscall returned";
  }
}

TEST(Seccomp, TrapRaisesSigsys) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_TRAP")});
  auto j = b.check({"syscall", "getpriority", "0", "0"});
  EXPECT_EQ(j["sigsys"], true) << j;
  EXPECT_EQ(j["nr"], SYS_getpriority) << j;
}

TEST(Seccomp, TraceWithoutATracerFails) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_TRACE", 5)});
  auto j = b.check({"syscall", "getpriority", "0", "0"});
  // No tracer attached: the kernel fails the syscall with ENOSYS.
  EXPECT_EQ(j["errno"], ENOSYS) << j;
}

TEST(Seccomp, ArgumentComparisons) {
  Bundle b;
  json args_and = {{{"index", 0}, {"value", 2}, {"op", "SCMP_CMP_EQ"}},   // PRIO_USER
                   {{"index", 1}, {"value", 100}, {"op", "SCMP_CMP_GE"}}};
  json args_masked = {{{"index", 1}, {"value", 0xff00}, {"valueTwo", 0x1200}, {"op", "SCMP_CMP_MASKED_EQ"}}};
  // personality: Docker's rule shape, only 0xffffffff (query) denied here.
  json args_pers = {{{"index", 0}, {"value", 0xffffffffULL}, {"op", "SCMP_CMP_EQ"}}};
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 71, args_and),
                                            rule({"setpriority"}, "SCMP_ACT_ERRNO", 72, args_masked),
                                            rule({"personality"}, "SCMP_ACT_ERRNO", 73, args_pers)});
  auto j = check_lines(b, {"syscall getpriority 2 100", "syscall getpriority 2 99", "syscall getpriority 1 100",
                           "syscall setpriority 2 0x1234 0", "syscall setpriority 2 0x1334 0",
                           "syscall personality 0xffffffff", "syscall personality 0"});
  EXPECT_EQ(j[0]["errno"], 71) << j[0];
  EXPECT_NE(j[1]["errno"], 71) << j[1];
  EXPECT_NE(j[2]["errno"], 71) << j[2];
  EXPECT_EQ(j[3]["errno"], 72) << j[3];
  EXPECT_NE(j[4]["errno"], 72) << j[4];
  EXPECT_EQ(j[5]["errno"], 73) << j[5];
  EXPECT_EQ(j[6]["errno"], 0) << j[6];
}

// runc's rule: conditions on one argument index become separate rules (ORed).
TEST(Seccomp, ConditionsOnTheSameArgumentAreOred) {
  Bundle b;
  json args = {{{"index", 1}, {"value", 1000}, {"op", "SCMP_CMP_EQ"}},
               {{"index", 1}, {"value", 2000}, {"op", "SCMP_CMP_EQ"}}};
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 74, args)});
  auto j = check_lines(b, {"syscall getpriority 2 1000", "syscall getpriority 2 2000", "syscall getpriority 2 3000"});
  EXPECT_EQ(j[0]["errno"], 74) << j[0];
  EXPECT_EQ(j[1]["errno"], 74) << j[1];
  EXPECT_NE(j[2]["errno"], 74) << j[2];
}

// i386 syscalls (int 0x80) of a 64-bit process: outside the filter's
// architectures they hit the bad-architecture action (kill); with
// SCMP_ARCH_X86 listed, the rules apply to them too.
TEST(Seccomp, Architectures) {
  if (access("/proc/sys/abi", F_OK) != 0) GTEST_SKIP() << "no i386 emulation";
  {
    Bundle b;
    b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 75)});
    b.config["linux"]["seccomp"]["architectures"] = {"SCMP_ARCH_X86_64"};
    b.checker_args({"syscall32", "20"});  // i386 getpid
    auto r = b.run();
    EXPECT_EQ(r.status, 128 + SIGSYS) << r.describe();
  }
  {
    Bundle b;
    b.config["linux"]["seccomp"] = allow_all({rule({"getpid"}, "SCMP_ACT_ERRNO", 76)});
    b.config["linux"]["seccomp"]["architectures"] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    auto j = check_lines(b, {"syscall32 20", "syscall32 64", "syscall getpid"});  // getpid, getppid (i386), getpid
    EXPECT_EQ(j[0]["errno"], 76) << j[0];
    EXPECT_EQ(j[1]["errno"], 0) << j[1];
    EXPECT_GT(j[1]["ret"].get<long>(), 0) << j[1];
    EXPECT_EQ(j[2]["errno"], 76) << j[2];
  }
}

// Without noNewPrivileges the filter is loaded while the init still has
// CAP_SYS_ADMIN (before the uid change and the capability drop).
TEST(Seccomp, LoadedWithoutNoNewPrivilegesForANonRootUser) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = false;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 78)});
  auto j = check_lines(b, {"seccomp-mode", "syscall getpriority 0 0"});
  EXPECT_EQ(j[0]["seccomp"], 2) << j[0];
  EXPECT_EQ(j[0]["no_new_privs"], false) << j[0];
  EXPECT_EQ(j[1]["errno"], 78) << j[1];
}

// In a user namespace, CAP_SYS_ADMIN there is enough to load without
// no_new_privs.
TEST(Seccomp, UserNamespaceWithoutNoNewPrivileges) {
  Bundle b;
  b.add_namespace("user");
  b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["process"]["noNewPrivileges"] = false;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 81)});
  auto j = check_lines(b, {"seccomp-mode", "syscall getpriority 0 0"});
  EXPECT_EQ(j[0]["seccomp"], 2) << j[0];
  EXPECT_EQ(j[0]["no_new_privs"], false) << j[0];
  EXPECT_EQ(j[1]["errno"], 81) << j[1];
}

TEST(Seccomp, FlagsAreAccepted) {
  SKIP_ON_RUNC("runc 1.1 refuses linux.seccomp.flags (\"seccomp flags are not yet supported by runc\")");
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_ERRNO", 79)});
  b.config["linux"]["seccomp"]["flags"] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto j = check_lines(b, {"seccomp-mode", "syscall getpriority 0 0"});
  EXPECT_EQ(j[0]["seccomp"], 2) << j[0];
  EXPECT_EQ(j[1]["errno"], 79) << j[1];
}

// The kernel's audit records of seccomp (type=1326) written while `fn` runs;
// "" when /dev/kmsg is not readable.
std::string seccomp_audit_during(const std::function<void()>& fn) {
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fn();
    return "";
  }
  lseek(fd, 0, SEEK_END);
  fn();
  std::string out;
  char rec[8192];
  for (;;) {
    ssize_t n = read(fd, rec, sizeof rec);
    if (n < 0 && errno == EPIPE) continue;  // overwritten record
    if (n <= 0) break;
    std::string line(rec, static_cast<size_t>(n));
    if (line.find("type=1326") != std::string::npos) out += line;
  }
  close(fd);
  return out;
}

// An ERRNO action is logged only with SECCOMP_FILTER_FLAG_LOG; SCMP_ACT_LOG
// allows and logs. The records are the container process's ("pid=" on the
// host, from `state`), for getpriority ("syscall=140"), with the action
// ("code=0x50000" for ERRNO, whatever its errnoRet).
TEST(Seccomp, LogFlagAndLogAction) {
  if (access("/dev/kmsg", R_OK) != 0) GTEST_SKIP() << "no /dev/kmsg";
  auto logged = [](std::optional<std::string> flag, const std::string& action, const std::string& code,
                   json* result) {
    // Audit records go through printk's rate limit (10 per 5 s, shared with
    // other tests' kills and traps): a missing record is retried.
    for (int attempt = 0; attempt < 3; ++attempt) {
      Bundle b;
      b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, action, 91)});
      if (action != "SCMP_ACT_ERRNO") b.config["linux"]["seccomp"]["syscalls"][0].erase("errnoRet");
      if (flag) b.config["linux"]["seccomp"]["flags"] = {*flag};
      b.checker_args({"syscall", "getpriority", "0", "0"});
      std::string out = b.dir + "/out.json";
      CmdOptions o;
      o.stdout_file = out;
      int pid = 0;
      std::string audit = seccomp_audit_during([&] {
        if (b.create({}, o).status != 0) return;
        auto st = b.state();
        if (st) pid = (*st)["pid"].get<int>();
        b.start();
        b.wait_status("stopped");
      });
      *result = parse_checker(read_file(out));
      EXPECT_GT(pid, 0);
      std::string needle = " pid=" + std::to_string(pid) + " ";
      for (size_t at = audit.find(needle); at != std::string::npos; at = audit.find(needle, at + 1)) {
        size_t eol = audit.find('\n', at);
        std::string rec = audit.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
        if (rec.find("syscall=140 ") != std::string::npos && rec.find("code=" + code) != std::string::npos)
          return true;
      }
      if (!flag && action == "SCMP_ACT_ERRNO") return false;
      std::this_thread::sleep_for(std::chrono::seconds(5));
    }
    return false;
  };
  json j;
  EXPECT_TRUE(logged(std::nullopt, "SCMP_ACT_LOG", "0x7ffc0000", &j)) << "SCMP_ACT_LOG not in the kernel log";
  EXPECT_EQ(j["errno"], 0) << j << " (SCMP_ACT_LOG allows)";
  EXPECT_FALSE(logged(std::nullopt, "SCMP_ACT_ERRNO", "0x50000", &j)) << "ERRNO logged without the LOG flag";
  EXPECT_EQ(j["errno"], 91) << j;
  if (runtime_is_runc()) return;  // runc 1.1 refuses linux.seccomp.flags (FlagsAreAccepted)
  EXPECT_TRUE(logged("SECCOMP_FILTER_FLAG_LOG", "SCMP_ACT_ERRNO", "0x50000", &j)) << "no audit record with the LOG flag";
  EXPECT_EQ(j["errno"], 91) << j;
}

TEST(Seccomp, UnknownSyscallNamesAreSkipped) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"no_such_syscall_berth", "getpriority"}, "SCMP_ACT_ERRNO", 80)});
  auto j = b.check({"syscall", "getpriority", "0", "0"});
  EXPECT_EQ(j["errno"], 80) << j;
}

TEST(Seccomp, BadProfileFailsCreateNamingTheField) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpid"}, "SCMP_ACT_ERRNO"), rule({"getppid"}, "SCMP_ACT_BOGUS")});
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("linux.seccomp.syscalls[1].action"), std::string::npos) << r.err;
  }
}

// ------------------------------------------------------------ notify

// A seccomp agent on a unix socket: receives the listener fd and the
// container process state, then answers every notification with `value`.
class Agent {
 public:
  Agent(const std::string& path, long value) : path_(path), value_(value) {
    listen_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(listen_, 1) < 0)
      ADD_FAILURE() << "agent socket " << path << ": " << strerror(errno);
    thread_ = std::thread([this] { serve(); });
  }
  ~Agent() {
    stop_ = true;
    shutdown(listen_, SHUT_RDWR);
    thread_.join();
    close(listen_);
    if (notify_fd_ >= 0) close(notify_fd_);
  }
  std::string state() {
    std::lock_guard l(mu_);
    return state_;
  }
  int answered() const { return answered_; }
  bool got_fd() const { return got_fd_; }

 private:
  void serve() {
    pollfd p{listen_, POLLIN, 0};
    for (int i = 0; i < 300 && !stop_; ++i)
      if (poll(&p, 1, 100) > 0) break;
    if (stop_) return;
    int conn = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    std::string text;
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    for (;;) {
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) break;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          std::memcpy(&notify_fd_, CMSG_DATA(c), sizeof(int));
          got_fd_ = true;
        }
      text.append(buf, static_cast<size_t>(n));
      // runc keeps the connection open: stop at the end of the document.
      if (!json::parse(text, nullptr, false).is_discarded()) break;
    }
    close(conn);
    {
      std::lock_guard l(mu_);
      state_ = text;
    }
    if (notify_fd_ < 0) return;
    while (!stop_) {
      pollfd np{notify_fd_, POLLIN, 0};
      int r = poll(&np, 1, 100);
      if (r <= 0) continue;
      if (np.revents & (POLLHUP | POLLERR)) break;
      seccomp_notif req{};
      if (ioctl(notify_fd_, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
      seccomp_notif_resp resp{};
      resp.id = req.id;
      resp.val = value_;
      resp.error = 0;
      if (ioctl(notify_fd_, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) ++answered_;
    }
  }

  std::string path_;
  long value_;
  int listen_ = -1;
  int notify_fd_ = -1;
  std::atomic<bool> stop_{false}, got_fd_{false};
  std::atomic<int> answered_{0};
  std::mutex mu_;
  std::string state_;
  std::thread thread_;
};

TEST(Seccomp, NotifyListenerGetsTheFdAndStateAndAnswers) {
  Bundle b;
  std::string sock = b.dir + "/agent.sock";
  Agent agent(sock, 4242);
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_NOTIFY")});
  b.config["linux"]["seccomp"]["listenerPath"] = sock;
  b.config["linux"]["seccomp"]["listenerMetadata"] = "berth-test-metadata";
  b.config["annotations"] = {{"org.berth.test", "notify"}};
  auto j = check_lines(b, {"syscall getpriority 0 0", "syscall getppid"});
  EXPECT_EQ(j[0]["errno"], 0) << j[0];
  EXPECT_EQ(j[0]["ret"], 4242) << j[0] << " (the agent's answer)";
  EXPECT_NE(j[1]["ret"], 4242) << j[1];
  EXPECT_TRUE(agent.got_fd());
  EXPECT_EQ(agent.answered(), 1);

  auto st = json::parse(agent.state(), nullptr, false);
  ASSERT_TRUE(st.is_object()) << agent.state();
  EXPECT_TRUE(st.contains("ociVersion")) << st;
  EXPECT_EQ(st["fds"], json::array({"seccompFd"})) << st;
  EXPECT_EQ(st["metadata"], "berth-test-metadata") << st;
  ASSERT_TRUE(st["state"].is_object()) << st;
  EXPECT_EQ(st["state"]["id"], b.id) << st;
  EXPECT_EQ(st["state"]["bundle"], b.dir) << st;
  EXPECT_EQ(st["state"]["annotations"]["org.berth.test"], "notify") << st;
  EXPECT_GT(st["pid"].get<int>(), 0) << st;
  EXPECT_EQ(st["pid"], st["state"]["pid"]) << st;
  EXPECT_EQ(st["state"]["status"], "creating") << st;
}

TEST(Seccomp, NotifyWithoutAnAgentFailsCreate) {
  Bundle b;
  b.config["linux"]["seccomp"] = allow_all({rule({"getpriority"}, "SCMP_ACT_NOTIFY")});
  b.config["linux"]["seccomp"]["listenerPath"] = b.dir + "/no-agent.sock";
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  EXPECT_EQ(b.status(), "") << "the failed container is left behind";
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("linux.seccomp.listenerPath"), std::string::npos) << r.err;
  }
}

// ------------------------------------------------------------ podman's profile

TEST(Seccomp, PodmansDefaultProfileLetsShellRunAndDeniesTheRest) {
  if (access("/usr/share/containers/seccomp.json", R_OK) != 0) GTEST_SKIP() << "no containers-common profile";
  Bundle b;
  b.write_config();
  auto conv = run_cmd({"python3", std::string(BERTH_SOURCE_DIR) + "/scripts/default-seccomp.py", "--config",
                       b.dir + "/config.json"});
  ASSERT_EQ(conv.status, 0) << conv.describe();
  b.config = json::parse(read_file(b.dir + "/config.json"));
  ASSERT_TRUE(b.config["linux"]["seccomp"].is_object());
  CmdResult r;
  auto j = check_lines(b, {"seccomp-mode", "syscall acct s:/x", "syscall kcmp 1 1 0 0 0", "syscall add_key",
                           "syscall getppid"},
                       &r);
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(j[0]["seccomp"], 2) << j[0];
  EXPECT_EQ(j[1]["errno"], EPERM) << j[1] << " (acct: excluded without CAP_SYS_PACCT)";
  EXPECT_EQ(j[2]["errno"], EPERM) << j[2] << " (kcmp: excluded without CAP_SYS_PTRACE)";
  EXPECT_EQ(j[3]["errno"], ENOSYS) << j[3] << " (not in the profile: defaultErrnoRet 38)";
  EXPECT_EQ(j[4]["errno"], 0) << j[4];

  b.set_args({"/bin/sh", "-c", "echo shell ok; ls / >/dev/null && echo ls ok"});
  auto sh = b.run();
  EXPECT_EQ(sh.status, 0) << sh.describe();
  EXPECT_EQ(sh.out, "shell ok\nls ok\n") << sh.describe();
}

}  // namespace
}  // namespace berth::test
