// `exec`: a new process in a running container, checked from inside by the
// checker and from the host through /proc of the container's init.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <thread>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

// A container whose init sleeps, started detached; the destructor kills it.
struct Running {
  Bundle& b;
  int pid = 0;
  explicit Running(Bundle& bundle, bool start = true) : b(bundle) {
    b.checker_args({"sleep", "60"});
    if (start) {
      auto r = b.run({"--detach"});
      EXPECT_EQ(r.status, 0) << r.describe();
    } else {
      auto r = b.create();
      EXPECT_EQ(r.status, 0) << r.describe();
    }
    auto st = b.state();
    if (st) pid = (*st)["pid"];
  }
  CmdResult exec(const std::vector<std::string>& args, const CmdOptions& o = {}) {
    std::vector<std::string> a = {"exec"};
    a.insert(a.end(), args.begin(), args.end());
    return b.rt(a, o);
  }
  // exec [flags] ID /bin/checker ARGS; expects exit 0 and the checker's JSON.
  json check(const std::vector<std::string>& flags, const std::vector<std::string>& args = {"all"},
             const CmdOptions& o = {}) {
    std::vector<std::string> a = flags;
    a.push_back(b.id);
    a.push_back("/bin/checker");
    a.insert(a.end(), args.begin(), args.end());
    auto r = exec(a, o);
    EXPECT_EQ(r.status, 0) << r.describe();
    auto j = parse_checker(r.out);
    EXPECT_TRUE(j.is_object()) << r.describe();
    return j.is_object() ? j : json::object();
  }
};

std::string ns_of(int pid, const std::string& type) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + type, ec).string();
}

std::vector<int> fd_numbers(const json& j) {
  std::vector<int> seen;
  for (auto& f : j["fds"]) seen.push_back(f["fd"]);
  return seen;
}

TEST(Exec, RunsCommandAndReturnsItsStatus) {
  Bundle b;
  Running c(b);
  auto r = c.exec({b.id, "/bin/echo", "hello", "exec"});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "hello exec\n");
  // the command's own flags are not the runtime's (-c is also --cap)
  r = c.exec({b.id, "/bin/sh", "-c", "exit 7"});
  EXPECT_EQ(r.status, 7) << r.describe();
  r = c.exec({b.id, "/bin/sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.status, 128 + 9) << r.describe();
  EXPECT_EQ(b.status(), "running") << "the container outlives its exec'd processes";
}

TEST(Exec, MissingCommandFails) {
  Bundle b;
  Running c(b);
  auto r = c.exec({b.id});
  EXPECT_NE(r.status, 0) << r.describe();
  r = c.exec({b.id, "/no/such/binary"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/no/such/binary"), std::string::npos) << r.err;
  EXPECT_EQ(b.status(), "running");
}

// As at create (process_test.cc): runc's wording and errnos.
TEST(Exec, CommandThatCannotRunNamesItAndItsErrno) {
  Bundle b;
  Running c(b);
  auto lower = [](std::string s) {  // as in process_test.cc
    for (size_t i; (i = s.find("\\\"")) != std::string::npos;) s.erase(i, 1);
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  auto expect = [&](const std::string& cmd, const std::string& wanted) {
    auto r = c.exec({b.id, cmd});
    EXPECT_NE(r.status, 0) << r.describe();
    EXPECT_NE(lower(r.err).find(lower(wanted)), std::string::npos) << wanted << ": " << r.describe();
  };
  expect("/no/such/binary", "exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory");
  expect("berth-test-not-in-path", "exec: \"berth-test-not-in-path\": executable file not found in $PATH");
  expect("/etc/passwd", "exec: \"/etc/passwd\": permission denied");
  expect("/bin", "exec: \"/bin\": ");
  EXPECT_EQ(b.status(), "running");
}

TEST(Exec, StoppedContainerRefused) {
  Bundle b;
  b.set_args({"/bin/true"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  auto r = b.rt({"exec", b.id, "/bin/true"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("cannot exec in a stopped container"), std::string::npos) << r.err;
}

TEST(Exec, UnknownContainerFails) {
  Bundle b;
  auto r = b.rt({"exec", b.id + "-nonexistent", "/bin/true"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST(Exec, EnvCwdUserGroups) {
  Bundle b;
  b.config["process"]["env"].push_back("FROM_CONFIG=1");
  b.config["process"]["env"].push_back("OVERRIDDEN=old");
  Running c(b);
  // (runc refuses the long and short form of one flag in the same command)
  auto j = c.check({"-e", "FOO=bar", "-e", "OVERRIDDEN=new", "--cwd", "/tmp", "--user", "1000:1001",
                    "--additional-gids", "5", "--additional-gids", "6"});
  EXPECT_EQ(j["uid"], 1000);
  EXPECT_EQ(j["euid"], 1000);
  EXPECT_EQ(j["gid"], 1001);
  auto groups = j["groups"].get<std::vector<int>>();
  EXPECT_NE(std::find(groups.begin(), groups.end(), 5), groups.end()) << j["groups"];
  EXPECT_NE(std::find(groups.begin(), groups.end(), 6), groups.end()) << j["groups"];
  EXPECT_EQ(j["cwd"], "/tmp");
  auto env = j["env"].get<std::vector<std::string>>();
  auto has = [&](const std::string& e) { return std::find(env.begin(), env.end(), e) != env.end(); };
  EXPECT_TRUE(has("FOO=bar")) << j["env"];
  EXPECT_TRUE(has("FROM_CONFIG=1")) << "the container's env is the base: " << j["env"];
  EXPECT_TRUE(has("OVERRIDDEN=new")) << j["env"];
  EXPECT_FALSE(has("OVERRIDDEN=old")) << "a later --env wins: " << j["env"];
}

TEST(Exec, UserWithoutGroupKeepsContainerGid) {
  Bundle b;
  b.config["process"]["user"] = {{"uid", 0}, {"gid", 33}};
  Running c(b);
  auto j = c.check({"-u", "1000"});
  EXPECT_EQ(j["uid"], 1000);
  EXPECT_EQ(j["gid"], 33);
}

TEST(Exec, ProcessFile) {
  Bundle b;
  b.config["process"]["env"].push_back("FROM_CONFIG=1");
  Running c(b);
  json p = {{"terminal", false},
            {"user", {{"uid", 1234}, {"gid", 4321}}},
            {"args", {"/bin/checker", "all"}},
            {"env", {"PATH=/bin", "FROM_FILE=yes"}},
            {"cwd", "/etc"},
            {"rlimits", json::array({{{"type", "RLIMIT_CORE"}, {"hard", 512}, {"soft", 256}}})}};
  write_file(b.dir + "/process.json", p.dump());
  auto r = c.exec({"--process", b.dir + "/process.json", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_EQ(j["uid"], 1234);
  EXPECT_EQ(j["gid"], 4321);
  EXPECT_EQ(j["cwd"], "/etc");
  auto env = j["env"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(env.begin(), env.end(), "FROM_FILE=yes"), env.end()) << j["env"];
  EXPECT_EQ(std::find(env.begin(), env.end(), "FROM_CONFIG=1"), env.end()) << "the file replaces the process: " << j["env"];
  EXPECT_EQ(j["rlimits"]["RLIMIT_CORE"], json::array({256, 512}));
}

TEST(Exec, ExecCpuAffinity) {
  SKIP_ON_RUNC("runc 1.1 predates process.execCPUAffinity");
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  Bundle b;
  Running c(b);
  json p = {{"args", {"/bin/checker", "cat", "/proc/self/status"}},
            {"cwd", "/"},
            {"execCPUAffinity", {{"initial", "1"}, {"final", "0"}}}};
  write_file(b.dir + "/process.json", p.dump());
  auto r = c.exec({"--process", b.dir + "/process.json", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find("Cpus_allowed_list:\\t0\\n"), std::string::npos) << r.out;
  p["execCPUAffinity"] = {{"initial", "1"}};
  write_file(b.dir + "/process.json", p.dump());
  r = c.exec({"--process", b.dir + "/process.json", b.id});
  EXPECT_EQ(r.out.find("Cpus_allowed_list:\\t1\\n"), std::string::npos)
      << "without final, the initial affinity is undone before exec: " << r.out;
}

TEST(Exec, BadProcessFileNamesTheProblem) {
  Bundle b;
  Running c(b);
  write_file(b.dir + "/process.json", R"({"args": [], "cwd": "/"})");
  auto r = c.exec({"--process", b.dir + "/process.json", b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("args"), std::string::npos) << r.err;
  write_file(b.dir + "/process.json", R"({"args": ["/bin/true"], "cwd": "relative"})");
  r = c.exec({"--process", b.dir + "/process.json", b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(r.err.find("cwd") != std::string::npos || r.err.find("Cwd") != std::string::npos) << r.err;
}

// The exec'd process has the container's capabilities, no more; --cap adds one.
TEST(Exec, CapabilitiesAreTheContainersPlusCap) {
  Bundle b;
  Running c(b);
  auto j = c.check({});
  uint64_t base = cap_mask({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  EXPECT_EQ(std::stoull(j["caps"]["eff"].get<std::string>(), nullptr, 16), base) << j["caps"];
  EXPECT_EQ(std::stoull(j["caps"]["bnd"].get<std::string>(), nullptr, 16), base) << j["caps"];
  j = c.check({"--cap", "CAP_SYS_ADMIN", "--cap", "CAP_CHOWN"});
  uint64_t more = base | cap_mask({"CAP_SYS_ADMIN", "CAP_CHOWN"});
  EXPECT_EQ(std::stoull(j["caps"]["eff"].get<std::string>(), nullptr, 16), more) << j["caps"];
  EXPECT_EQ(std::stoull(j["caps"]["prm"].get<std::string>(), nullptr, 16), more) << j["caps"];
  EXPECT_EQ(std::stoull(j["caps"]["bnd"].get<std::string>(), nullptr, 16), more) << j["caps"];
}

// The container's restrictions apply to an exec'd process by default.
TEST(Exec, InheritsRlimitsAndNoNewPrivileges) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = true;
  b.config["process"]["rlimits"] = json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 777}, {"soft", 555}}});
  Running c(b);
  auto j = c.check({});
  EXPECT_EQ(j["no_new_privs"], 1);
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"], json::array({555, 777}));
}

TEST(Exec, NoNewPrivsFlag) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = false;
  Running c(b);
  EXPECT_EQ(c.check({})["no_new_privs"], 0);
  EXPECT_EQ(c.check({"--no-new-privs"})["no_new_privs"], 1);
}

// The container's seccomp filter applies to an exec'd process (with and
// without noNewPrivileges: the filter is loaded at a different point).
void expect_exec_filtered(bool no_new_privs) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = no_new_privs;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", json::array({{{"names", {"getpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}})}};
  Running c(b);
  auto j = c.check({}, {"seccomp-mode"});
  EXPECT_EQ(j["seccomp"], 2) << j;
  j = c.check({}, {"syscall", "getpriority", "0", "0"});
  EXPECT_EQ(j["errno"], 38) << "the container's filter must apply: " << j;
  j = c.check({}, {"syscall", "getppid"});
  EXPECT_EQ(j["errno"], 0) << j;
}

TEST(Exec, InheritsSeccompFilter) { expect_exec_filtered(true); }
TEST(Exec, InheritsSeccompFilterWithoutNoNewPrivileges) { expect_exec_filtered(false); }

TEST(Exec, JoinsEveryNamespaceOfTheContainer) {
  Bundle b;
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network", "cgroup"}) b.add_namespace(ns);
  Running c(b);
  ASSERT_GT(c.pid, 0);
  auto j = c.check({});
  for (const char* ns : {"pid", "ipc", "uts", "mnt", "net", "cgroup", "user", "time"})
    EXPECT_EQ(j["namespaces"][ns], ns_of(c.pid, ns)) << ns;
  EXPECT_NE(j["namespaces"]["pid"], host_ns("pid"));
  EXPECT_NE(j["namespaces"]["net"], host_ns("net"));
  EXPECT_EQ(j["hostname"], b.config["hostname"]);
  EXPECT_NE(j["pid"], 1) << "not the init";
  EXPECT_GT(j["pid"], 1);
}

TEST(Exec, JoinsTimeNamespace) {
  SKIP_ON_RUNC("runc 1.1 has no time namespace");
  Bundle b;
  b.add_namespace("time");
  b.config["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 86400}, {"nanosecs", 0}}}};
  Running c(b);
  ASSERT_GT(c.pid, 0);
  auto j = c.check({});
  EXPECT_EQ(j["namespaces"]["time"], ns_of(c.pid, "time"));
  EXPECT_NE(j["namespaces"]["time"], host_ns("time"));
  EXPECT_NE(j["timens_offsets"].get<std::string>().find("86400"), std::string::npos) << j["timens_offsets"];
}

TEST(Exec, JoinsUserNamespace) {
  Bundle b;
  b.add_namespace("user");
  b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  Running c(b);
  ASSERT_GT(c.pid, 0);
  auto j = c.check({});
  EXPECT_EQ(j["namespaces"]["user"], ns_of(c.pid, "user"));
  EXPECT_NE(j["namespaces"]["user"], host_ns("user"));
  EXPECT_EQ(j["uid"], 0);
  EXPECT_EQ(j["namespaces"]["mnt"], ns_of(c.pid, "mnt"));
  auto r = c.exec({"-u", "1000", b.id, "/bin/id", "-u"});
  EXPECT_EQ(r.out, "1000\n") << r.describe();
}

TEST(Exec, JoinsTheContainersCgroup) {
  Bundle b;
  b.config["linux"]["cgroupsPath"] = "/" + b.id;
  Running c(b);
  ASSERT_GT(c.pid, 0);
  auto j = c.check({});
  EXPECT_EQ(j["cgroup"], read_file("/proc/" + std::to_string(c.pid) + "/cgroup"));
  EXPECT_NE(j["cgroup"].get<std::string>().find(b.id), std::string::npos) << j["cgroup"];
}

TEST(Exec, TerminalThroughConsoleSocket) {
  Bundle b;
  Running c(b);
  ConsoleReceiver rx(b.dir + "/console.sock");
  auto r = c.exec({"-d", "-t", "--console-socket", rx.path(), b.id, "/bin/checker", "all"});
  ASSERT_EQ(r.status, 0) << r.describe();
  int master = rx.master();
  ASSERT_GE(master, 0) << "no pty master received";
  std::string out = rx.read_all();
  auto j = parse_checker(out);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["tty"], json::array({true, true, true}));
  EXPECT_EQ(j["stdin"].get<std::string>().rfind("/dev/pts/", 0), 0u) << j["stdin"];
}

// Foreground -t without a socket: the runtime serves the pty itself.
TEST(Exec, ForegroundTerminalServedByTheRuntime) {
  SKIP_ON_RUNC("runc 1.1's foreground -t opens /dev/tty: it needs a controlling terminal of its own");
  Bundle b;
  Running c(b);
  auto r = c.exec({"-t", b.id, "/bin/sh", "-c", "tty; exit 3"});
  EXPECT_EQ(r.status, 3) << r.describe();
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.describe();
}

TEST(Exec, PausedContainerRefusedUnlessIgnorePaused) {
  Bundle b;
  Running c(b);
  auto p = b.rt({"pause", b.id});
  if (p.status != 0 && b.status() == "running")
    GTEST_SKIP() << "the runtime has no pause verb yet: " << p.err;
  ASSERT_EQ(p.status, 0) << p.describe();
  ASSERT_EQ(b.status(), "paused");
  auto r = c.exec({b.id, "/bin/true"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("paused"), std::string::npos) << r.err;
  // Allowed, but the new process freezes with the container until it resumes.
  Spawned e({runtime_path(), "--root", b.root, "exec", "--ignore-paused", b.id, "/bin/echo", "after resume"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(b.rt({"resume", b.id}).status, 0);
  r = e.wait();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "after resume\n");
  EXPECT_EQ(b.status(), "running");
}

TEST(Exec, TerminalFlagsFollowRunc) {
  Bundle b;
  Running c(b);
  auto r = c.exec({"-d", "-t", b.id, "/bin/true"});
  EXPECT_NE(r.status, 0) << "a detached tty needs --console-socket";
  EXPECT_NE(r.err.find("console socket"), std::string::npos) << r.err;
  r = c.exec({"--console-socket", b.dir + "/none.sock", b.id, "/bin/true"});
  EXPECT_NE(r.status, 0) << "a console socket without a detached tty is refused";
}

TEST(Exec, DetachWritesPidFile) {
  Bundle b;
  Running c(b);
  std::string pid_file = b.dir + "/exec.pid";
  auto r = c.exec({"--detach", "--pid-file", pid_file, b.id, "/bin/checker", "sleep", "30"});
  ASSERT_EQ(r.status, 0) << r.describe();
  int pid = std::stoi(read_file(pid_file));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ns_of(pid, "pid"), ns_of(c.pid, "pid"));
  EXPECT_EQ(ns_of(pid, "mnt"), ns_of(c.pid, "mnt"));
  std::error_code ec;
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec), "/bin/checker");
  // Detached, it was adopted by the test (the subreaper): reap it, or the
  // container's pid namespace cannot finish dying.
  kill(pid, SIGKILL);
  EXPECT_TRUE(eventually([&] {
    reap_orphans();
    return kill(pid, 0) != 0;
  }));
}

// delete --force while a detached exec'd process still runs: killing the init
// kills it too, and the init's exit waits until the caller (its subreaper,
// here the test) has reaped it. Failed every time while the harness did not
// reap during a command (10 s timeout in delete).
TEST(Exec, DeleteForceWithADetachedProcessRunning) {
  Bundle b;
  Running c(b);
  std::string pid_file = b.dir + "/exec.pid";
  auto r = c.exec({"--detach", "--pid-file", pid_file, b.id, "/bin/checker", "sleep", "30"});
  ASSERT_EQ(r.status, 0) << r.describe();
  int pid = std::stoi(read_file(pid_file));
  ASSERT_GT(pid, 0);
  auto d = b.rt({"delete", "--force", b.id});
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_TRUE(eventually([&] { return kill(pid, 0) != 0; })) << "the exec'd process outlived its container";
  EXPECT_EQ(b.status(), "");
}

TEST(Exec, PreserveFds) {
  Bundle b;
  Running c(b);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  CmdOptions o;
  o.extra_fds = {fds[0], fds[1]};
  auto j = c.check({"--preserve-fds", "1"}, {"all"}, o);
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2, 3})) << j["fds"];
  j = c.check({}, {"all"}, o);
  EXPECT_EQ(fd_numbers(j), (std::vector<int>{0, 1, 2})) << "fds not passed on must be closed: " << j["fds"];
  close(fds[0]);
  close(fds[1]);
}

TEST(Exec, ForwardsSignals) {
  Bundle b;
  Running c(b);
  Spawned s({runtime_path(), "--root", b.root, "exec", b.id, "/bin/checker", "trap", "10"});
  // the trap is set once it printed "ready": wait for the process to be there
  ASSERT_TRUE(eventually([&] {
    auto r = run_cmd({"pgrep", "-f", "/bin/checker trap"});
    return r.status == 0;
  })) << "the exec'd process did not start";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(s.pid(), SIGUSR1);
  auto r = s.wait();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find("\"signal\":10"), std::string::npos) << r.describe();
}

TEST(Exec, IntoCreatedContainer) {
  Bundle b;
  Running c(b, /*start=*/false);
  auto r = c.exec({b.id, "/bin/echo", "before start"});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "before start\n");
  EXPECT_EQ(b.status(), "created");
}

}  // namespace
}  // namespace berth::test
