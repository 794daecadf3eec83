// Two berth processes running containers at once on one store: every
// container recorded once, none lost, all removable; berth.db consistent.
#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

// Containers per process: 100 as the issue asks (BERTH_TEST_CONTAINERS scales it).
int per_process() {
  const char* n = std::getenv("BERTH_TEST_CONTAINERS");
  return n ? std::atoi(n) : 100;
}

TEST(Concurrency, TwoProcessesRunningContainersAtOnce) {
  auto& env = EngineEnv::get();
  ASSERT_TRUE(env.loaded);
  const int n = per_process();
  image::testing::Cmd results[2];
  std::thread workers[2];
  for (int p = 0; p < 2; ++p) {
    workers[p] = std::thread([&, p] {
      // Half detached with a name, half --rm: both paths write the same tables.
      std::string loop = "fail=0; for i in $(seq 1 " + std::to_string(n) + "); do " +
                         "if [ $((i % 2)) = 0 ]; then " + env.berth() +
                         " run -d --network none --name berth-test-c" + std::to_string(p) +
                         "-$i busybox true >/dev/null || fail=$((fail+1)); else " + env.berth() +
                         " run --rm --network none busybox true || fail=$((fail+1)); fi; done; echo failures=$fail";
      results[p] = sh(loop);
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& r : results) EXPECT_NE(r.out.find("failures=0"), std::string::npos) << r.out;

  // The detached ones: all recorded, each once, all exited 0 (their exit commands ran).
  std::set<std::string> names;
  nlohmann::json list;
  for (int i = 0; i < 200; ++i) {
    list = nlohmann::json::parse(env.run("ps -a --format json").out, nullptr, false);
    bool done = list.is_array();
    for (const auto& c : list) done = done && c["State"] == "exited";
    if (done && list.size() == static_cast<size_t>(n)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reap_zombies();
  }
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list.size(), static_cast<size_t>(n)) << "detached containers lost or --rm ones left";
  std::vector<std::string> ids[2];
  for (const auto& c : list) {
    std::string name = c["Names"][0];
    EXPECT_TRUE(names.insert(name).second) << "listed twice: " << name;
    EXPECT_EQ(c["State"], "exited") << name;
    EXPECT_EQ(c["ExitCode"], 0) << name;
    ids[name.starts_with("berth-test-c0") ? 0 : 1].push_back(c["Id"]);
  }
  // Removed by two processes at once.
  for (int p = 0; p < 2; ++p) {
    workers[p] = std::thread([&, p] {
      std::string all;
      for (const auto& id : ids[p]) all += " " + id;
      results[p] = env.run("rm" + all);
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& r : results) EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(trim(env.run("ps -a -q").out), "");
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(env.roots.root + "/containers", ec));
  EXPECT_TRUE(std::filesystem::is_empty(env.roots.runroot + "/containers", ec));
  EXPECT_EQ(env.run("system check").status, 0);
  reap_zombies();
}

}  // namespace
}  // namespace berth::engine::testing
