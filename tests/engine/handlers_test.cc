// The same container lifecycle through each runtime handler: builtin (the
// runtime library in process), oci:berth-runtime and oci:runc (crun 1.8
// refuses this host's hybrid cgroup layout, so it is not among them).
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

class HandlerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env().loaded) << "berth load of the busybox fixture failed";
    if (GetParam() == "runc" && !std::filesystem::exists("/usr/bin/runc")) GTEST_SKIP() << "no runc";
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

INSTANTIATE_TEST_SUITE_P(Handlers, HandlerTest, ::testing::Values("builtin", "berth-runtime", "runc"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::erase(n, '-');
                           return n;
                         });

}  // namespace
}  // namespace berth::engine::testing
