// berth exec on a real container (busybox, builtin handler), through the
// berth binary: status, env, user, workdir, stdin, terminal, detach, the
// container's capabilities, seccomp, cgroup and pid namespace inherited.
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

class ExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = berth("run -d --network none --name berth-test-exec -e FROM_RUN=run -w /tmp busybox sleep 1000");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() {
    berth("rm -f berth-test-exec");
    reap_zombies();
  }
  void SetUp() override { ASSERT_TRUE(env().loaded); }
  void TearDown() override { reap_zombies(); }
  static EngineEnv& env() { return EngineEnv::get(); }
  static image::testing::Cmd berth(const std::string& args) { return env().run(args); }
  static image::testing::Cmd exec(const std::string& args) { return berth("exec " + args); }
};

TEST_F(ExecTest, StatusAndOutput) {
  auto r = exec("berth-test-exec sh -c 'echo out; exit 7'");
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_EQ(trim(r.out), "out");
  r = exec("berth-test-exec sh -c 'kill -9 $$'");
  EXPECT_EQ(r.status, 137) << r.out;
  r = exec("berth-test-exec /no/such/command");
  EXPECT_EQ(r.status, 127) << r.out;
  r = exec("nosuch-container true");
  EXPECT_EQ(r.status, 125) << r.out;
}

TEST_F(ExecTest, EnvUserWorkdir) {
  std::string env_file = env().roots.dir + "/exec.env";
  image::testing::spit(env_file, "FROM_FILE=file\nBOTH=file\n");
  auto r = exec("-e BOTH=flag -e ONE=1 --env-file " + env_file +
                " berth-test-exec sh -c 'echo $FROM_RUN $FROM_FILE $BOTH $ONE; pwd'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "run file flag 1\n/tmp\n");  // the container's env and cwd, then the flags
  r = exec("-u nobody -w / berth-test-exec sh -c 'id -u; id -g; pwd; echo $HOME'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "65534\n65534\n/\n/nonexistent\n");  // HOME from the passwd entry
  r = exec("-u 1234:5678 berth-test-exec sh -c 'id -u; id -g'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "1234\n5678\n");
  r = exec("-u nosuchuser berth-test-exec true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("nosuchuser"), std::string::npos) << r.out;
}

TEST_F(ExecTest, StdinOnlyWithI) {
  auto r = env().run("exec berth-test-exec cat < /etc/hostname");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "");  // without -i: /dev/null
  r = sh("echo piped | " + env().berth() + " exec -i berth-test-exec cat");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "piped\n");
}

TEST_F(ExecTest, InheritsTheContainersConfinement) {
  auto r = exec("berth-test-exec sh -c 'grep -E \"^(CapEff|CapBnd|Seccomp|NoNewPrivs):\" /proc/self/status; "
                "cat /proc/self/cgroup'");
  ASSERT_EQ(r.status, 0) << r.out;
  auto init = exec("berth-test-exec sh -c 'grep -E \"^(CapEff|CapBnd|Seccomp|NoNewPrivs):\" /proc/1/status; "
                   "cat /proc/1/cgroup'");
  ASSERT_EQ(init.status, 0) << init.out;
  EXPECT_EQ(r.out, init.out);  // the init's capabilities, seccomp mode and cgroups
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  // In the container's pid namespace: the init is sleep, we are not pid 1.
  r = exec("berth-test-exec sh -c 'cat /proc/1/cmdline | tr \"\\0\" \" \"; echo; echo $$'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("sleep 1000"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\n1\n"), std::string::npos) << r.out;
  // --privileged: every capability.
  r = exec("--privileged berth-test-exec grep CapEff /proc/self/status");
  ASSERT_EQ(r.status, 0) << r.out;
  auto cap_eff = [](const std::string& text) {
    auto at = text.find("CapEff:");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_NE(cap_eff(r.out), "");
  EXPECT_NE(cap_eff(r.out), cap_eff(init.out));
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;  // only what berth may grant
}

// -d prints the exec session's id (podman's: 64 hex digits, one line, and
// nothing else on stdout), the name of its session directory.
TEST_F(ExecTest, Detached) {
  auto r = sh(env().berth() + " exec -d berth-test-exec sh -c 'sleep 0.2; echo done > /tmp/detached' 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(r.out.size(), 65u) << r.out;
  std::string session = r.out.substr(0, 64);
  EXPECT_EQ(session.find_first_not_of("0123456789abcdef"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.back(), '\n');
  auto j = nlohmann::json::parse(sh(env().berth() + " inspect berth-test-exec 2>/dev/null").out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1);
  std::string run_dir = env().roots.runroot + "/containers/" + j[0].value("Id", "");
  EXPECT_TRUE(std::filesystem::is_directory(run_dir + "/exec-session-" + session)) << run_dir;
  // Each session has an id of its own.
  auto again = sh(env().berth() + " exec -d berth-test-exec true 2>/dev/null");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_EQ(again.out.size(), 65u) << again.out;
  EXPECT_NE(again.out, r.out);
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    seen = exec("berth-test-exec cat /tmp/detached").out == "done\n";
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen);
}

// -d -t: podman's detached exec session. The process has a terminal of its
// own, held by a monitor of the session's own, which records its exit; its
// output goes nowhere (podman logs nothing of a detached exec session).
TEST_F(ExecTest, DetachedWithATerminal) {
  auto inspected = sh(env().berth() + " inspect berth-test-exec 2>/dev/null");
  auto j = nlohmann::json::parse(inspected.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << inspected.out;
  std::string id = j[0].value("Id", "");
  ASSERT_EQ(id.size(), 64u) << inspected.out;
  std::string run_dir = env().roots.runroot + "/containers/" + id;
  auto r = exec("-d -t berth-test-exec sh -c 'tty > /tmp/dt.tmp; mv /tmp/dt.tmp /tmp/dt; echo to-nowhere; "
                "sleep 0.3; exit 5'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.size(), 65u) << r.out;  // the session's id only
  std::string tty;
  for (int i = 0; i < 50 && tty.empty(); ++i) {
    tty = exec("berth-test-exec cat /tmp/dt").out;
    if (tty.empty() || tty.find("No such file") != std::string::npos) {
      tty.clear();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(tty.starts_with("/dev/pts/")) << tty;
  // The session's exit record.
  std::string exit_file;
  for (int i = 0; i < 100 && exit_file.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(run_dir))
      if (e.path().filename().string().starts_with("exec-session-") && std::filesystem::exists(e.path() / "exit"))
        exit_file = e.path() / "exit";
    if (exit_file.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(exit_file.empty()) << "no exec session recorded an exit under " << run_dir;
  EXPECT_TRUE(image::testing::slurp(exit_file).starts_with("exit_code=5\n")) << image::testing::slurp(exit_file);
  EXPECT_EQ(berth("logs berth-test-exec").out.find("to-nowhere"), std::string::npos);
  // The next session sweeps the ended one.
  r = exec("-d -t berth-test-exec true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(exit_file).parent_path()));
  // A command that cannot run fails the exec, detached or not.
  EXPECT_EQ(exec("-d -t berth-test-exec /no/such/command").status, 127);
}

TEST_F(ExecTest, Terminal) {
  if (!image::testing::has_tool("script")) GTEST_SKIP() << "script(1) is not installed";
  // script gives berth a terminal; -t gives the process one of its own.
  auto r = sh("script -qec '" + env().berth() + " exec -t berth-test-exec sh -c \"tty; echo \\$TERM; exit 3\"' /dev/null");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("xterm"), std::string::npos) << r.out;
  // -it: keys typed reach the shell through the terminal.
  r = sh("printf 'echo typed-$((6*7))\\nexit 4\\n' | script -qec '" + env().berth() +
         " exec -it berth-test-exec sh' /dev/null");
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("typed-42"), std::string::npos) << r.out;
  // Without a terminal the process has none.
  r = exec("berth-test-exec sh -c 'tty || true'");
  EXPECT_NE(r.out.find("not a tty"), std::string::npos) << r.out;
}

// -it when berth's stdin is not a terminal: podman's behaviour (berth's CLI
// follows podman; docker refuses with "the input device is not a TTY" and
// exit 1): the process gets its pty all the same; `run -it` warns as podman
// 4 does, `exec -it` silently.
TEST_F(ExecTest, ItWithoutATerminalOnStdin) {
  auto r = sh(env().berth() + " exec -it berth-test-exec sh -c 'tty; exit 5' < /dev/null");
  EXPECT_EQ(r.status, 5) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
  r = sh("printf 'echo typed-$((6*7))\\nexit 7\\n' | " + env().berth() + " exec -it berth-test-exec sh");
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_NE(r.out.find("typed-42"), std::string::npos) << r.out;

  r = sh(env().berth() + " run --rm -it --network none busybox sh -c 'tty; exit 3' < /dev/null");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("warning: the input device is not a TTY"), std::string::npos) << r.out;
  // -t alone, or -i alone, is no reason for a warning.
  r = sh(env().berth() + " run --rm -t --network none busybox true < /dev/null");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
}

TEST_F(ExecTest, RefusedWhenPausedOrStopped) {
  ASSERT_EQ(berth("pause berth-test-exec").status, 0);
  auto r = exec("berth-test-exec true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("paused"), std::string::npos) << r.out;
  ASSERT_EQ(berth("unpause berth-test-exec").status, 0);
  EXPECT_EQ(exec("berth-test-exec true").status, 0);

  r = berth("create --network none --name berth-test-exec-created busybox true");
  ASSERT_EQ(r.status, 0) << r.out;
  r = exec("berth-test-exec-created true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("not running"), std::string::npos) << r.out;
  berth("rm -f berth-test-exec-created");
}

}  // namespace
}  // namespace berth::engine::testing
