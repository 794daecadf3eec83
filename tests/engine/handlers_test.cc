// The same container lifecycle and verbs through each runtime handler:
// builtin (the runtime library in process), oci:berth-runtime and oci:runc,
// and in a program of its own (handlers_crun_test) oci:crun:
// run/create/start/stop/kill/restart/rm, then exec, cp, top, stats,
// pause/unpause, logs and kill with a signal the container handles, and
// the run flags' settings (devices, sysctls, limits, caps, --init...) as
// each handler applies them.
#include <signal.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

// The host pid of the process whose argv is exactly `argv` (NUL-separated), or 0.
pid_t find_process(const std::string& argv) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (slurp(e.path() / "cmdline") == argv) return std::stoi(name);
  }
  return 0;
}

pid_t parent_of(pid_t pid) {
  std::string status = slurp(fmt::format("/proc/{}/status", pid));
  auto at = status.find("PPid:\t");
  return at == std::string::npos ? 0 : std::stoi(status.substr(at + 6));
}

// Any cgroup directory of the container left, in every hierarchy (v1
// controllers, the hybrid cgroup2 mount, a pure v2 host).
std::string leftover_cgroup(const std::string& id) {
  std::vector<std::filesystem::path> candidates = {std::filesystem::path("/sys/fs/cgroup/berth") / id};
  for (const auto& e : std::filesystem::directory_iterator("/sys/fs/cgroup"))
    candidates.push_back(e.path() / "berth" / id);
  // Only a directory of a cgroup filesystem is a cgroup (crun 1.8 makes one
  // in /sys/fs/cgroup/unified even when that is a plain directory).
  struct statfs fs {};
  for (const auto& c : candidates)
    if (::statfs(c.c_str(), &fs) == 0 && (fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC))
      return c;
  return "";
}

class HandlerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env().loaded) << "berth load of the busybox fixture failed";
    if ((GetParam() == "runc" || GetParam() == "crun") && !std::filesystem::exists("/usr/bin/" + GetParam()))
      GTEST_SKIP() << "no " << GetParam();
  }
  void TearDown() override { reap_zombies(); }
  static EngineEnv& env() { return EngineEnv::get(); }
  image::testing::Cmd berth(const std::string& args) { return env().run(args); }
  std::string run_flags() { return "--runtime " + GetParam() + " --network none "; }
  nlohmann::json inspect(const std::string& name) {
    auto doc = nlohmann::json::parse(berth("inspect --type container " + name).out, nullptr, false);
    return doc.is_array() && !doc.empty() ? doc[0] : nlohmann::json::object();
  }
};

TEST_P(HandlerTest, RunPrintsOutputAndExitCode) {
  auto r = berth("run --rm " + run_flags() + "busybox sh -c 'echo via " + GetParam() + "; exit 2'");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("via " + GetParam()), std::string::npos) << r.out;
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
  // No container state left in the runtime's root (caches may stay).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(env().roots.runroot + "/runtimes/" + GetParam(), ec))
    EXPECT_NE(e.path().filename().string().size(), 64u) << "runtime state remains: " << e.path();
}

// docker's statuses for a command that cannot run: 127 not found (by path
// or in $PATH), 126 found but not executable or a directory; 125 stays
// berth's own failures (an unknown image).
TEST_P(HandlerTest, RunCommandThatCannotRun) {
  struct Case {
    std::string command;
    int status;
  };
  for (const auto& [command, status] : {Case{"/no/such/command", 127}, Case{"berth-test-no-such-command", 127},
                                        Case{"/etc/passwd", 126}, Case{"/tmp", 126}}) {
    auto r = berth("run --rm " + run_flags() + "busybox " + command);
    EXPECT_EQ(r.status, status) << command << ": " << r.out;
    EXPECT_NE(r.out.find("exec: \"" + command + "\""), std::string::npos) << r.out;
  }
  EXPECT_EQ(berth("run --rm " + run_flags() + "--pull never berth-test-no-such-image true").status, 125);
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

// A command that cannot run on start (an exited container whose command is
// gone): podman 4.3's `start` and `start -a` exit 125 naming the command
// (checked with runc: `unable to start container ...: exec: "/h/cmd": stat
// /h/cmd: no such file or directory`), and the container stays as it was;
// with --init, catatonit reports the exec's failure as the container's exit
// status 1, as under podman. The same through every handler.
TEST_P(HandlerTest, StartCommandThatCannotRun) {
  std::string dir = env().roots.dir + "/start-cmd-" + GetParam();
  std::filesystem::create_directories(dir);
  image::testing::spit(dir + "/cmd", "#!/bin/sh\necho ran\n");
  ASSERT_EQ(::chmod((dir + "/cmd").c_str(), 0755), 0);
  auto r = berth("run " + run_flags() + "--name berth-test-hs -v " + dir + ":/h busybox /h/cmd");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "ran\n");
  std::filesystem::remove(dir + "/cmd");
  for (const std::string verb : {"start", "start -a"}) {
    r = berth(verb + " berth-test-hs");
    EXPECT_EQ(r.status, 125) << verb << ": " << r.out;
    EXPECT_NE(r.out.find("exec: \"/h/cmd\""), std::string::npos) << verb << ": " << r.out;
    EXPECT_EQ(inspect("berth-test-hs")["State"].value("Status", ""), "exited") << verb;
  }
  // Not a file it can execute: the same.
  std::filesystem::create_directory(dir + "/cmd");
  r = berth("start berth-test-hs");
  EXPECT_EQ(r.status, 125) << r.out;
  EXPECT_NE(r.out.find("exec: \"/h/cmd\""), std::string::npos) << r.out;
  // Back again: it starts.
  std::filesystem::remove(dir + "/cmd");
  image::testing::spit(dir + "/cmd", "#!/bin/sh\necho again\n");
  ASSERT_EQ(::chmod((dir + "/cmd").c_str(), 0755), 0);
  r = berth("start -a berth-test-hs");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "again\n");
  EXPECT_EQ(berth("rm -f berth-test-hs").status, 0);

  r = berth("run --rm --init " + run_flags() + "busybox /no/such/command");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("failed to exec"), std::string::npos) << r.out;
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

TEST_P(HandlerTest, CreateStartAttached) {
  auto r = berth("create " + run_flags() + "--name berth-test-h busybox echo attached");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(inspect("berth-test-h")["State"].value("Status", ""), "created");
  EXPECT_EQ(inspect("berth-test-h")["HostConfig"].value("Runtime", ""), GetParam());
  r = berth("start -a berth-test-h");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("attached"), std::string::npos) << r.out;
  // Started again from exited: a fresh init under a new monitor.
  r = berth("start -a berth-test-h");
  EXPECT_NE(r.out.find("attached"), std::string::npos) << r.out;
  EXPECT_EQ(berth("rm berth-test-h").status, 0);
}

TEST_P(HandlerTest, StopStartKillRemove) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-h busybox sleep 100");
  ASSERT_EQ(r.status, 0) << r.out;
  auto doc = inspect("berth-test-h");
  EXPECT_EQ(doc["State"].value("Status", ""), "running") << doc.dump();
  int pid = doc["State"].value("Pid", 0);
  EXPECT_GT(pid, 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth("stop -t 1 berth-test-h").status, 0);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 4.0);
  EXPECT_EQ(inspect("berth-test-h")["State"].value("ExitCode", 0), 137);
  EXPECT_EQ(berth("start berth-test-h").status, 0);
  EXPECT_EQ(inspect("berth-test-h")["State"].value("Status", ""), "running");
  EXPECT_EQ(berth("kill -s TERM berth-test-h").status, 0);  // PID 1 without a handler ignores it
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(inspect("berth-test-h")["State"].value("Status", ""), "running");
  EXPECT_EQ(berth("kill berth-test-h").status, 0);
  EXPECT_EQ(trim(berth("wait berth-test-h").out), "137");
  EXPECT_EQ(berth("restart -t 0 berth-test-h").status, 0);
  EXPECT_EQ(inspect("berth-test-h")["State"].value("Status", ""), "running");
  EXPECT_EQ(berth("rm -f berth-test-h").status, 0);
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

// A running container for the verbs: it counts into /tmp/t every 50 ms and
// answers SIGUSR1 in its log.
constexpr const char* kCounter =
    "busybox sh -c 'trap \"echo got usr1\" USR1; echo started; i=0; "
    "while true; do i=$((i+1)); echo $i > /tmp/t; sleep 0.05; done'";

TEST_P(HandlerTest, ExecCpTopStats) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-hv --memory 64m " + kCounter);
  ASSERT_EQ(r.status, 0) << r.out;
  r = berth("exec -e FROM_EXEC=x -u 1234:5678 -w /tmp berth-test-hv sh -c 'echo $FROM_EXEC $(id -u):$(id -g) $(pwd); exit 3'");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_EQ(r.out, "x 1234:5678 /tmp\n");
  r = berth("exec berth-test-hv /no/such/command");
  EXPECT_EQ(r.status, 127) << r.out;
  // docker's 126 (found but not executable, a directory) and 127 (not in $PATH).
  r = berth("exec berth-test-hv /etc/passwd");
  EXPECT_EQ(r.status, 126) << r.out;
  EXPECT_NE(r.out.find("exec: \"/etc/passwd\""), std::string::npos) << r.out;
  r = berth("exec berth-test-hv /tmp");
  EXPECT_EQ(r.status, 126) << r.out;
  r = berth("exec berth-test-hv berth-test-no-such-command");
  EXPECT_EQ(r.status, 127) << r.out;
  EXPECT_NE(r.out.find("berth-test-no-such-command"), std::string::npos) << r.out;
  r = berth("exec -d berth-test-hv sh -c 'echo detached > /tmp/d'");
  EXPECT_EQ(r.status, 0) << r.out;
  std::string got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    got = berth("exec berth-test-hv cat /tmp/d").out;
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(got, "detached\n");

  std::string host = env().roots.dir + "/hv-" + GetParam();
  image::testing::spit(host, "from the host\n");
  r = berth("cp " + host + " berth-test-hv:/tmp/in");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(berth("exec berth-test-hv cat /tmp/in").out, "from the host\n");
  r = berth("cp berth-test-hv:/tmp/in " + host + ".out");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(host + ".out"), "from the host\n");

  r = berth("top berth-test-hv");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("PID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sh -c trap"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("berth top"), std::string::npos) << r.out;

  r = berth("stats --no-stream --format json berth-test-hv");
  ASSERT_EQ(r.status, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 1) << r.out;
  EXPECT_EQ(doc[0]["name"], "berth-test-hv");
  EXPECT_EQ(doc[0]["raw"]["mem_limit"], 64 << 20) << r.out;
  EXPECT_GT(doc[0]["raw"].value("mem_usage", uint64_t(0)), 0u) << r.out;
  EXPECT_NE(doc[0].value("pids", "0"), "0") << r.out;
  // No reap_zombies() first: the detached exec's session monitor reaped it.
  EXPECT_EQ(berth("rm -f berth-test-hv").status, 0);
}

TEST_P(HandlerTest, PauseUnpause) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-hp " + kCounter);
  ASSERT_EQ(r.status, 0) << r.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  r = berth("pause berth-test-hp");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(inspect("berth-test-hp")["State"].value("Status", ""), "paused");
  EXPECT_TRUE(inspect("berth-test-hp")["State"].value("Paused", false));
  std::string before = berth("cp berth-test-hp:/tmp/t -").out;
  ASSERT_FALSE(before.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(berth("cp berth-test-hp:/tmp/t -").out, before) << "the container ran on while paused";
  EXPECT_NE(berth("exec berth-test-hp true").status, 0) << "exec into a paused container";
  r = berth("unpause berth-test-hp");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(inspect("berth-test-hp")["State"].value("Status", ""), "running");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(berth("cp berth-test-hp:/tmp/t -").out, before) << "still frozen after unpause";
  // A paused container is killed by rm -f as well.
  EXPECT_EQ(berth("pause berth-test-hp").status, 0);
  EXPECT_EQ(berth("rm -f berth-test-hp").status, 0);
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

TEST_P(HandlerTest, LogsSignalsRestart) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-hl " + kCounter);
  ASSERT_EQ(r.status, 0) << r.out;
  auto logs_have = [&](const std::string& text, size_t times) {
    for (int i = 0; i < 100; ++i) {
      std::string out = berth("logs berth-test-hl").out;
      size_t n = 0;
      for (size_t p = out.find(text); p != std::string::npos; p = out.find(text, p + 1)) ++n;
      if (n >= times) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  EXPECT_TRUE(logs_have("started", 1)) << berth("logs berth-test-hl").out;
  int pid = inspect("berth-test-hl")["State"].value("Pid", 0);
  // A signal the container traps: it goes on running.
  EXPECT_EQ(berth("kill -s USR1 berth-test-hl").status, 0);
  EXPECT_TRUE(logs_have("got usr1", 1)) << berth("logs berth-test-hl").out;
  EXPECT_EQ(inspect("berth-test-hl")["State"].value("Status", ""), "running");
  EXPECT_EQ(berth("kill -s 10 berth-test-hl").status, 0);  // by number
  EXPECT_TRUE(logs_have("got usr1", 2)) << berth("logs berth-test-hl").out;
  EXPECT_NE(berth("kill -s NOSUCHSIG berth-test-hl").status, 0);

  // restart: a new init (sh ignores SIGTERM as PID 1: killed after -t), the log goes on.
  EXPECT_EQ(berth("restart -t 1 berth-test-hl").status, 0);
  auto doc = inspect("berth-test-hl");
  EXPECT_EQ(doc["State"].value("Status", ""), "running");
  EXPECT_NE(doc["State"].value("Pid", 0), pid);
  EXPECT_NE(doc["State"].value("Pid", 0), 0);
  EXPECT_TRUE(logs_have("started", 2)) << berth("logs berth-test-hl").out;
  r = berth("logs --tail 1 berth-test-hl");
  EXPECT_EQ(r.out, "started\n");

  EXPECT_EQ(berth("kill -s KILL berth-test-hl").status, 0);
  EXPECT_EQ(trim(berth("wait berth-test-hl").out), "137");
  EXPECT_NE(berth("kill berth-test-hl").status, 0) << "kill of an exited container";
  EXPECT_EQ(berth("rm berth-test-hl").status, 0);
}

// exec -d: the process's parent is its session's monitor, which reaps it
// (PID 1 here does not: the test program, a subreaper, must not be the one
// either) and records its exit; rm -f is then quick and leaves no cgroup.
TEST_P(HandlerTest, DetachedExecIsReapedAndRmIsQuick) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-hd busybox sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = inspect("berth-test-hd").value("Id", "");
  ASSERT_EQ(id.size(), 64u);
  reap_zombies();
  std::string run_dir = env().roots.runroot + "/containers/" + id;
  // Arguments no other test program running at the same time uses.
  std::string first = std::to_string(100000 + ::getpid()), second = std::to_string(200000 + ::getpid());
  r = berth("exec -d berth-test-hd sleep " + first);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.size(), 65u) << r.out;  // the session's id
  EXPECT_TRUE(std::filesystem::is_directory(run_dir + "/exec-session-" + r.out.substr(0, 64))) << r.out;
  pid_t pid = 0;
  for (int i = 0; i < 100 && pid == 0; ++i) {
    pid = find_process("sleep" + std::string(1, '\0') + first + std::string(1, '\0'));
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(pid, 0) << "the detached exec's process is not running";
  pid_t parent = parent_of(pid);
  EXPECT_NE(parent, ::getpid());
  EXPECT_EQ(trim(slurp(fmt::format("/proc/{}/comm", parent))), "berth-monitor");
  // Its exit, recorded by the session's monitor; no zombie left.
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  std::string exit_text;
  for (int i = 0; i < 100 && exit_text.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(run_dir))
      if (e.path().filename().string().starts_with("exec-session-") && std::filesystem::exists(e.path() / "exit"))
        exit_text = slurp(e.path() / "exit");
    if (exit_text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(exit_text.starts_with("exit_code=143\n")) << exit_text;
  EXPECT_FALSE(std::filesystem::exists(fmt::format("/proc/{}", pid))) << "a zombie stays";

  // One still running when the container is removed.
  r = berth("exec -d berth-test-hd sleep " + second);
  ASSERT_EQ(r.status, 0) << r.out;
  pid = 0;
  for (int i = 0; i < 100 && pid == 0; ++i) {
    pid = find_process("sleep" + std::string(1, '\0') + second + std::string(1, '\0'));
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(pid, 0);
  auto t0 = std::chrono::steady_clock::now();
  r = berth("rm -f berth-test-hd");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_LT(took, 2.0);
  EXPECT_EQ(leftover_cgroup(id), "");
  EXPECT_FALSE(std::filesystem::exists(fmt::format("/proc/{}", pid))) << "a zombie stays";
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

// A file the kernel cannot execute (ENOEXEC: neither "#!" nor an ELF of this
// machine) is docker's 126, with a message naming it, whether the runtime
// reports its execve's errno (builtin, berth-runtime) or runs execve after
// it returned (runc: berth looks at the file first).
TEST_P(HandlerTest, ExecFormatErrorIs126) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-hf busybox sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  r = berth("exec berth-test-hf sh -c 'printf garbage > /x; chmod 755 /x; cp /x /bin/berth-test-garbage; "
            ": > /empty; chmod 755 /empty'");
  ASSERT_EQ(r.status, 0) << r.out;
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string command : {"/x", "berth-test-garbage", "/empty"}) {
    r = berth("exec berth-test-hf " + command);
    EXPECT_EQ(r.status, 126) << command << ": " << r.out;
    EXPECT_NE(r.out.find(command + "\""), std::string::npos) << r.out;  // the name, or the path found
    EXPECT_NE(lower(r.out).find("exec format error"), std::string::npos) << r.out;
  }
  r = berth("exec -d berth-test-hf /x");
  EXPECT_EQ(r.status, 126) << r.out;
  EXPECT_NE(r.out.find("\"/x\""), std::string::npos) << r.out;
  // An ELF of another machine (busybox with e_machine EM_ARM, 40), unless
  // binfmt_misc could run it.
  bool binfmt = false;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/sys/fs/binfmt_misc", ec))
    if (e.path().filename() != "register" && e.path().filename() != "status") binfmt = true;
  if (!binfmt) {
    r = berth("exec berth-test-hf sh -c 'cp /bin/busybox /arm; printf \"\\050\\000\" | "
              "dd of=/arm bs=1 seek=18 conv=notrunc 2>/dev/null'");
    ASSERT_EQ(r.status, 0) << r.out;
    r = berth("exec berth-test-hf /arm");
    EXPECT_EQ(r.status, 126) << r.out;
    EXPECT_NE(lower(r.out).find("exec format error"), std::string::npos) << r.out;
  }
  // Scripts and ELF of this machine still run.
  EXPECT_EQ(berth("exec berth-test-hf sh -c 'printf \"#!/bin/sh\\nexit 3\\n\" > /s; chmod 755 /s'").status, 0);
  EXPECT_EQ(berth("exec berth-test-hf /s").status, 3);
  EXPECT_EQ(berth("rm -f berth-test-hf").status, 0);

  // The container's own command: run fails with 126 and removes it (--rm).
  std::string garbage = env().roots.dir + "/garbage-" + GetParam();
  image::testing::spit(garbage, "garbage");
  ASSERT_EQ(::chmod(garbage.c_str(), 0755), 0);
  r = berth("run --rm " + run_flags() + "-v " + garbage + ":/garbage --entrypoint /garbage busybox");
  EXPECT_EQ(r.status, 126) << r.out;
  EXPECT_NE(r.out.find("\"/garbage\""), std::string::npos) << r.out;
  EXPECT_NE(lower(r.out).find("exec format error"), std::string::npos) << r.out;
  r = berth("run -d " + run_flags() + "--name berth-test-hg -v " + garbage + ":/garbage --entrypoint /garbage busybox");
  EXPECT_EQ(r.status, 126) << r.out;
  EXPECT_EQ(berth("rm -f berth-test-hg").status, 0);
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

// Terminals through each handler, with no terminal on berth's side (stdin
// /dev/null or a pipe, no controlling terminal): podman's behaviour (-it
// still gives the process a pty; `run -it` warns). The test's --runroot is
// long: the console sockets' paths exceed a socket path's 107 bytes.
TEST_P(HandlerTest, TerminalsWithoutATerminalOnStdin) {
  auto r = berth("run -d " + run_flags() + "--name berth-test-ht busybox sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = inspect("berth-test-ht").value("Id", "");
  r = sh("setsid -w " + env().berth() + " exec -it berth-test-ht sh -c 'tty; exit 5' < /dev/null");
  EXPECT_EQ(r.status, 5) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  r = sh("printf 'echo typed-$((6*7))\\nexit 7\\n' | setsid -w " + env().berth() + " exec -it berth-test-ht sh");
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_NE(r.out.find("typed-42"), std::string::npos) << r.out;
  // Detached: the session's monitor holds the pty and records the exit.
  r = berth("exec -d -t berth-test-ht sh -c 'tty > /tmp/dt.tmp; mv /tmp/dt.tmp /tmp/dt; exit 4'");
  EXPECT_EQ(r.status, 0) << r.out;
  std::string exit_text;
  std::string run_dir = env().roots.runroot + "/containers/" + id;
  for (int i = 0; i < 100 && exit_text.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(run_dir))
      if (e.path().filename().string().starts_with("exec-session-") && std::filesystem::exists(e.path() / "exit"))
        exit_text = slurp(e.path() / "exit");
    if (exit_text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(exit_text.starts_with("exit_code=4\n")) << exit_text;
  EXPECT_TRUE(berth("exec berth-test-ht cat /tmp/dt").out.starts_with("/dev/pts/"));
  EXPECT_EQ(berth("rm -f berth-test-ht").status, 0);

  r = sh("setsid -w " + env().berth() + " run --rm -it " + run_flags() + "busybox sh -c 'tty; exit 3' < /dev/null");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("warning: the input device is not a TTY"), std::string::npos) << r.out;
  EXPECT_EQ(trim(berth("ps -a -q").out), "");
}

// The flags' settings as each handler applies them (run_flags_test.cc has
// them one by one through builtin): one container, read from inside.
TEST_P(HandlerTest, RunFlagsApplied) {
  std::string node = env().roots.dir + "/berth-test-fuse-" + GetParam();
  ASSERT_EQ(::mknod(node.c_str(), S_IFCHR | 0666, makedev(10, 229)), 0);
  ASSERT_EQ(::chmod(node.c_str(), 0666), 0);  // past the umask: the container's user is not root
  auto r = berth("run --rm " + run_flags() +
                 "--device " + node + ":/dev/berth-fuse:r --sysctl kernel.shm_rmid_forced=1 "
                 "--ulimit nofile=1024:2048 --cpus 0.5 --pids-limit 64 --memory 32m --shm-size 8m "
                 "--cap-drop ALL --cap-add KILL --security-opt no-new-privileges --read-only --init "
                 "-u 1234:5678 -w /made busybox sh -c '"
                 "stat -c \"%t:%T %a\" /dev/berth-fuse; true < /dev/berth-fuse && echo read; "
                 "true 2>/dev/null > /dev/berth-fuse || echo no write; cat /proc/sys/kernel/shm_rmid_forced; "
                 "ulimit -n; ulimit -Hn; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max "
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1 | tr -s \" \" | cut -d\" \" -f2; "
                 "grep -E \"^(CapBnd|NoNewPrivs)\" /proc/self/status; id -u; id -g; pwd; "
                 "touch /x 2>/dev/null || echo ro; touch /tmp/x && echo tmp; tr \"\\0\" \" \" </proc/1/cmdline | cut -d\" \" -f1-3'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "a:e5 666\nread\nno write\n1\n1024\n2048\n50000\n64\n33554432\n8192\n"
                   "CapBnd:\t0000000000000020\nNoNewPrivs:\t1\n1234\n5678\n/made\nro\ntmp\n"
                   "/run/berth-init -- sh\n");
}

#ifdef BERTH_HANDLERS_CRUN
// crun 1.8 refuses a hybrid cgroup layout (a cgroup2 mount beside the v1
// controllers, as on this host): in this program's own mount namespace
// (net_test_env.h, a slave of the host's) the cgroup2 mount is dropped, so
// every handler here sees a pure v1 host; the host's mounts are untouched.
// crun also makes its directories in the plain directory left there: a
// tmpfs of this namespace's own takes them, not the host's /sys/fs/cgroup.
const bool kPureV1Cgroups = [] {
  if (::umount2("/sys/fs/cgroup/unified", MNT_DETACH) == 0)  // absent on a pure v1 or v2 host
    ::mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m");
  return true;
}();
#define BERTH_HANDLERS ::testing::Values("crun")
#else
#define BERTH_HANDLERS ::testing::Values("builtin", "berth-runtime", "runc")
#endif

INSTANTIATE_TEST_SUITE_P(Handlers, HandlerTest, BERTH_HANDLERS,
                         [](const auto& info) {
                           std::string n = info.param;
                           std::erase(n, '-');
                           return n;
                         });

}  // namespace
}  // namespace berth::engine::testing
