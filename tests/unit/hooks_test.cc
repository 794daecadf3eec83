// OCI hooks run for real: shell scripts in a temporary directory that record
// their argv, environment and stdin, fail, hang or leave children behind.
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "base/file.h"
#include "runtime/hooks.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class Hooks : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-hooks-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Orphans of the hooks (a backgrounded sleep) come back to us to reap:
    // PID 1 of this machine does not.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Writes an executable script; returns its path.
  std::string script(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(write_file_atomic(path, "#!/bin/sh\n" + body, 0755).has_value());
    return path;
  }
  std::string read(const std::string& name) {
    auto r = read_file(dir_ + "/" + name);
    return r ? *r : "<missing " + name + ">";
  }
  bool exists(const std::string& name) { return fs::exists(dir_ + "/" + name); }

  std::string dir_;
};

TEST_F(Hooks, PassesArgsEnvAndStateExactly) {
  // /bin/sh runs the script: argv[0] is ours ("my-hook"), seen in the shell's cmdline.
  std::string rec = script("record.sh", "cat /proc/$$/cmdline > " + dir_ +
                                             "/args\ncat /proc/$$/environ > " + dir_ +
                                             "/env\ncat > " + dir_ + "/stdin\n");
  oci::Hook h{"/bin/sh", {"my-hook", rec, "a b", "c"}, {"FOO=bar", "EMPTY="}, 10};
  std::string state = R"({"ociVersion":"1.2.0","id":"berth-test","status":"creating","pid":1})";
  auto r = run_hook(h, state);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(read("args"), std::string("my-hook\0", 8) + rec + std::string("\0a b\0c\0", 7));
  EXPECT_EQ(read("env"), std::string("FOO=bar\0EMPTY=\0", 15));
  EXPECT_EQ(read("stdin"), state);
}

TEST_F(Hooks, NoArgsMeansPathAsArgv0AndEmptyEnv) {
  script("record.sh", "echo \"$0|$#\" > " + dir_ + "/args\ncat /proc/$$/environ > " + dir_ +
                          "/env\n");
  auto r = run_hook({dir_ + "/record.sh", {}, {}, std::nullopt}, "{}");
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(read("args"), dir_ + "/record.sh|0\n");
  EXPECT_EQ(read("env"), "");
}

TEST_F(Hooks, NonZeroExitNamesPathStatusAndStderrTail) {
  std::string p = script("fail.sh", "echo some output\necho 'first line' >&2\n"
                                    "echo 'it broke: no network' >&2\nexit 3\n");
  auto r = run_hook({p, {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "hook \"" + p + "\": exit status 3: first line\nit broke: no network");
}

TEST_F(Hooks, StderrTailIsBounded) {
  std::string p = script("noisy.sh", "i=0; while [ $i -lt 500 ]; do echo \"line $i\" >&2; "
                                     "i=$((i+1)); done; echo LAST >&2; exit 1\n");
  auto r = run_hook({p, {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  std::string what = r.error().what();
  EXPECT_TRUE(what.ends_with("LAST")) << what;
  EXPECT_LT(what.size(), p.size() + 300);
  EXPECT_NE(what.find(": exit status 1: ..."), std::string::npos) << what;
}

TEST_F(Hooks, StdoutShownWhenStderrIsEmpty) {
  std::string p = script("out.sh", "echo only stdout\nexit 2\n");
  auto r = run_hook({p, {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "hook \"" + p + "\": exit status 2: only stdout");
}

TEST_F(Hooks, KilledBySignal) {
  std::string p = script("term.sh", "kill -TERM $$\n");
  auto r = run_hook({p, {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "hook \"" + p + "\": killed by signal 15 (SIGTERM)");
}

TEST_F(Hooks, TimeoutKillsTheHook) {
  std::string p = script("hang.sh", "echo $$ > " + dir_ + "/pid\nexec sleep 100\n");
  auto start = Clock::now();
  auto r = run_hook({p, {}, {}, 1}, "{}");
  auto took = Clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "hook \"" + p + "\" timed out after 1 s");
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t pid = std::stoi(read("pid"));
  EXPECT_EQ(::kill(pid, 0), -1) << "hook still alive";  // killed and reaped
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(Hooks, FinishingWithinTheTimeoutIsFine) {
  std::string p = script("quick.sh", "sleep 0.1\n");
  auto r = run_hook({p, {}, {}, 5}, "{}");
  EXPECT_TRUE(r.has_value()) << r.error().what();
}

TEST_F(Hooks, MissingBinary) {
  auto r = run_hook({"/nonexistent/berth-test-hook", {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_EQ(r.error().what(), "hook \"/nonexistent/berth-test-hook\": exec: No such file or directory");
}

TEST_F(Hooks, NotExecutable) {
  std::string p = dir_ + "/plain";
  ASSERT_TRUE(write_file_atomic(p, "#!/bin/sh\n", 0644).has_value());
  auto r = run_hook({p, {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EACCES);
}

TEST_F(Hooks, RelativePathIsRefused) {
  auto r = run_hook({"bin/true", {}, {}, std::nullopt}, "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "hook \"bin/true\": path must be absolute");
}

TEST_F(Hooks, HookThatIgnoresALargeStateDoesNotKillUs) {
  // 1 MiB of state to a hook that never reads stdin: EPIPE, not SIGPIPE.
  std::string p = script("ignore.sh", "exit 0\n");
  std::string state(1 << 20, 'x');
  auto r = run_hook({p, {}, {}, 5}, state);
  EXPECT_TRUE(r.has_value()) << r.error().what();
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST_F(Hooks, HookWritingMuchBeforeReadingDoesNotDeadlock) {
  std::string p = script("chatty.sh", "head -c 300000 /dev/zero >&2\nhead -c 300000 /dev/zero\n"
                                      "cat > " + dir_ + "/stdin\n");
  std::string state(400000, 's');
  auto r = run_hook({p, {}, {}, 10}, state);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(read("stdin").size(), state.size());
}

TEST_F(Hooks, BackgroundChildHoldingPipesDoesNotBlock) {
  std::string p = script("daemon.sh", "sleep 30 &\necho $! > " + dir_ + "/bg\nexit 0\n");
  auto start = Clock::now();
  auto r = run_hook({p, {}, {}, 20}, "{}");
  auto took = Clock::now() - start;
  EXPECT_TRUE(r.has_value()) << r.error().what();
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t bg = std::stoi(read("bg"));
  ::kill(bg, SIGKILL);
  ::waitpid(bg, nullptr, 0);  // ours to reap: we are the subreaper
}

TEST_F(Hooks, RunHooksInOrderStopsAtFirstFailureWithPhase) {
  std::string ok = script("ok.sh", "echo ok >> " + dir_ + "/order\n");
  std::string bad = script("bad.sh", "echo bad >> " + dir_ + "/order\necho nope >&2\nexit 4\n");
  std::vector<oci::Hook> hooks = {{ok, {}, {}, std::nullopt},
                                  {bad, {}, {}, std::nullopt},
                                  {ok, {}, {}, std::nullopt}};
  auto r = run_hooks(hooks, "{}", "createRuntime");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "createRuntime hook #1 \"" + bad + "\": exit status 4: nope");
  EXPECT_EQ(read("order"), "ok\nbad\n");

  hooks.erase(hooks.begin() + 1);
  auto r2 = run_hooks(hooks, "{}", "poststart");
  EXPECT_TRUE(r2.has_value());
  EXPECT_EQ(read("order"), "ok\nbad\nok\nok\n");
}

TEST_F(Hooks, RunHooksTimeoutNamesPhase) {
  std::string p = script("hang.sh", "exec sleep 100\n");
  auto r = run_hooks({{p, {}, {}, 1}}, "{}", "poststop");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "poststop hook #0 \"" + p + "\" timed out after 1 s");
}

}  // namespace
}  // namespace berth::runtime
