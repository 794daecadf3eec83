// berth run/create and the flags that shape a container, through the berth
// binary on the busybox image, with the builtin runtime handler.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env().loaded) << "berth load of the busybox fixture failed";
  }
  void TearDown() override { reap_zombies(); }
  static EngineEnv& env() { return EngineEnv::get(); }
  static image::testing::Cmd berth(const std::string& args) { return env().run(args); }
  static nlohmann::json inspect(const std::string& name) {
    auto r = berth("inspect --type container " + name);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    if (!doc.is_array() || doc.empty()) return nlohmann::json::object();
    return doc[0];
  }
};

TEST_F(RunTest, PrintsOutputAndReturnsTheExitCode) {
  auto r = berth("run --rm --network none busybox sh -c 'echo hello from busybox; exit 3'");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("hello from busybox"), std::string::npos) << r.out;
  r = berth("run --rm --network none busybox true");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(RunTest, RmLeavesNothingBehind) {
  auto r = berth("run -d --rm busybox true");  // default network: netns, bridge, IPAM
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  ASSERT_EQ(id.size(), 64u) << r.out;
  const auto& roots = env().roots;
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = berth("ps -a -q --no-trunc").out.find(id) == std::string::npos &&
           !std::filesystem::exists(roots.root + "/containers/" + id);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "container row or directory remains";
  // The network's DELs and the namespace go in a detached process (after
  // the pending-teardown record), and so do the directory trees (after a
  // rename into a trash directory): waited for, as `network rm` would.
  for (int i = 0; i < 250; ++i) {
    if (!std::filesystem::exists(roots.runroot + "/netns/" + id) &&
        !std::filesystem::exists(roots.runroot + "/cni/teardown/" + id) &&
        !std::filesystem::exists(roots.runroot + "/containers/" + id) &&
        !std::filesystem::exists(roots.root + "/trash/" + id) &&
        !std::filesystem::exists(roots.runroot + "/trash/" + id))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/cni/teardown/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/containers/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.root + "/trash/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/trash/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/netns/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/runtime/" + id));
  EXPECT_FALSE(std::filesystem::exists(roots.runroot + "/locks/" + id));
  EXPECT_EQ(slurp("/proc/self/mountinfo").find(id), std::string::npos) << "a mount of the container remains";
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/pids/berth/" + id));
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory/berth/" + id));
  // The image lease went with it: nothing holds busybox.
  EXPECT_EQ(berth("rmi busybox").status, 0);
  EXPECT_EQ(berth("load -q -i /var/tmp/berth-fixtures/oci-busybox.tar").status, 0);
  EXPECT_EQ(berth("tag localhost/latest busybox").status, 0);
}

// libcurl and libarchive (and their 33 dependencies) are dlopened on first
// use (tools/berth/lazy_libs.cc), not loaded at every start: a new function of
// theirs used without a stand-in there would silently link them again.
TEST_F(RunTest, BerthDoesNotLoadCurlOrLibarchiveAtStart) {
  auto r = image::testing::sh("readelf -d " BERTH_BIN_DIR "/berth");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("(NEEDED)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libcurl"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libarchive"), std::string::npos) << r.out;
}

TEST_F(RunTest, NameCollisionIsAnError) {
  auto r = berth("create --network none --name berth-test-dup busybox true");
  ASSERT_EQ(r.status, 0) << r.out;
  r = berth("create --network none --name berth-test-dup busybox true");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("already in use"), std::string::npos) << r.out;
  EXPECT_EQ(berth("rm berth-test-dup").status, 0);
}

TEST_F(RunTest, EnvWorkdirUserEntrypoint) {
  std::string env_file = env().roots.dir + "/env";
  image::testing::spit(env_file, "# comment\nFROM_FILE=f1\nBOTH=file\n");
  auto r = berth("run --rm --network none -e ONE=1 -e BOTH=flag --env-file " + env_file +
                 " -w /made/here -u 1234:5678 busybox sh -c 'echo $ONE $FROM_FILE $BOTH; pwd; id -u; id -g'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("1 f1 flag\n/made/here\n1234\n5678\n"), std::string::npos) << r.out;
  r = berth("run --rm --network none --entrypoint echo busybox via entrypoint");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(trim(r.out), "via entrypoint");
}

TEST_F(RunTest, BindNamedVolumeAndTmpfs) {
  std::string host = env().roots.dir + "/bind";
  std::filesystem::create_directories(host);
  auto r = berth("run --rm --network none -v " + host + ":/data busybox sh -c 'echo bound > /data/f'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(host + "/f"), "bound\n");
  r = berth("run --rm --network none -v " + host + ":/data:ro busybox sh -c 'echo x > /data/g'");
  EXPECT_NE(r.status, 0) << "a :ro bind is writable";

  r = berth("run --rm --network none -v berth-test-vol:/v busybox sh -c 'echo kept > /v/f'");
  ASSERT_EQ(r.status, 0) << r.out;
  r = berth("run --rm --network none -v berth-test-vol:/w busybox cat /w/f");
  EXPECT_EQ(trim(r.out), "kept");
  EXPECT_TRUE(std::filesystem::exists(env().roots.root + "/volumes/berth-test-vol/_data/f"));

  r = berth("run --rm --network none --tmpfs /scratch busybox sh -c 'grep \" /scratch \" /proc/mounts'");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("tmpfs"), std::string::npos) << r.out;
}

TEST_F(RunTest, AnonymousVolumeGoesWithRm) {
  auto r = berth("run -d --network none -v /anon busybox sh -c 'echo x > /anon/f'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  EXPECT_EQ(trim(berth("wait " + id).out), "0");
  auto doc = inspect(id);
  ASSERT_TRUE(doc.contains("Mounts")) << doc.dump();
  std::string name = doc["Mounts"][0].value("Name", "");
  ASSERT_EQ(name.size(), 64u) << doc.dump();
  EXPECT_TRUE(std::filesystem::exists(env().roots.root + "/volumes/" + name + "/_data/f"));
  EXPECT_EQ(berth("rm -v " + id).status, 0);
  EXPECT_FALSE(std::filesystem::exists(env().roots.root + "/volumes/" + name));
}

TEST_F(RunTest, ReadOnlyAndCapDrop) {
  auto r = berth("run --rm --network none --read-only busybox touch /x");
  EXPECT_NE(r.status, 0) << "--read-only root is writable";
  r = berth("run --rm --network none busybox sh -c 'touch /tmp/f && chown 1 /tmp/f'");
  EXPECT_EQ(r.status, 0) << r.out;
  r = berth("run --rm --network none --cap-drop CHOWN busybox sh -c 'touch /tmp/f && chown 1 /tmp/f'");
  EXPECT_NE(r.status, 0) << "chown works without CAP_CHOWN";
}

TEST_F(RunTest, MemoryLimitInTheCgroup) {
  // Inside, the container's cgroup namespace shows its own memory cgroup
  // (v1 here; v2 on a unified host).
  auto r = berth("run --rm --network none --memory 64m busybox sh -c "
                 "'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(trim(r.out), "67108864");
}

TEST_F(RunTest, RestartOnFailureCountsRestarts) {
  auto r = berth("run -d --network none --name berth-test-restart --restart on-failure:2 busybox sh -c 'exit 1'");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json doc;
  for (int i = 0; i < 200; ++i) {
    doc = inspect("berth-test-restart");
    if (doc.value("RestartCount", 0) == 2 && doc["State"].value("Status", "") == "exited") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reap_zombies();
  }
  EXPECT_EQ(doc.value("RestartCount", -1), 2) << doc.dump();
  EXPECT_EQ(doc["State"].value("Status", ""), "exited");
  EXPECT_EQ(doc["State"].value("ExitCode", -1), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(inspect("berth-test-restart").value("RestartCount", -1), 2) << "restarted beyond on-failure:2";
  EXPECT_EQ(berth("rm -f berth-test-restart").status, 0);
}

TEST_F(RunTest, DetachedOutlivesBerthLogsAndStopTimings) {
  auto r = berth("run -d --network none --name berth-test-sleep busybox sh -c 'echo started; exec sleep 100'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  // berth has exited; the container runs on under its monitor.
  auto doc = inspect(id);
  EXPECT_EQ(doc["State"].value("Status", ""), "running") << doc.dump();
  int pid = doc["State"].value("Pid", 0);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0);
  std::string log = env().roots.root + "/containers/" + id + "/userdata/ctr.log";
  for (int i = 0; i < 50 && slurp(log).find("started") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(slurp(log).find("stdout F started"), std::string::npos) << slurp(log);
  EXPECT_NE(berth("ps").out.find("berth-test-sleep"), std::string::npos);

  // sleep as PID 1 ignores SIGTERM: stop waits -t then kills.
  auto t0 = std::chrono::steady_clock::now();
  r = berth("stop -t 1 berth-test-sleep");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 4.0);
  doc = inspect(id);
  EXPECT_EQ(doc["State"].value("Status", ""), "exited");
  EXPECT_EQ(doc["State"].value("ExitCode", 0), 137);
  EXPECT_NE(::kill(pid, 0), 0);

  // start again, then kill: immediate.
  EXPECT_EQ(berth("start berth-test-sleep").status, 0);
  EXPECT_EQ(inspect(id)["State"].value("Status", ""), "running");
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth("kill berth-test-sleep").status, 0);
  EXPECT_EQ(trim(berth("wait berth-test-sleep").out), "137");
  took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 2.0);
  EXPECT_EQ(berth("rm berth-test-sleep").status, 0);
}

TEST_F(RunTest, RmOfARunningContainerNeedsForce) {
  auto r = berth("run -d --network none --name berth-test-rmf busybox sleep 100");
  ASSERT_EQ(r.status, 0) << r.out;
  r = berth("rm berth-test-rmf");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("is running"), std::string::npos) << r.out;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth("rm -f berth-test-rmf").status, 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
  EXPECT_NE(berth("inspect --type container berth-test-rmf").status, 0);
}

TEST_F(RunTest, PsAndInspect) {
  auto r = berth("run -d --network none --name berth-test-ps --label team=a busybox sh -c 'exit 4'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  EXPECT_EQ(trim(berth("wait " + id).out), "4");
  EXPECT_EQ(berth("ps").out.find("berth-test-ps"), std::string::npos) << "an exited container listed without -a";
  EXPECT_NE(berth("ps -a").out.find("berth-test-ps"), std::string::npos);
  EXPECT_EQ(trim(berth("ps -a -q --filter name=berth-test-ps").out), id.substr(0, 12));
  EXPECT_EQ(trim(berth("ps -a -q --filter label=team=a --filter exited=4").out), id.substr(0, 12));
  EXPECT_EQ(trim(berth("ps -a -q --filter name=berth-test-ps --filter status=running").out), "");
  auto list = nlohmann::json::parse(berth("ps -a --format json --filter id=" + id).out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1) << list.dump();
  EXPECT_EQ(list[0]["Names"][0], "berth-test-ps");
  EXPECT_EQ(list[0]["State"], "exited");
  EXPECT_EQ(berth("ps --filter bogus=1").status, 125);

  auto doc = inspect("berth-test-ps");
  EXPECT_EQ(doc.value("Id", ""), id);
  EXPECT_EQ(doc.value("Name", ""), "berth-test-ps");
  EXPECT_EQ(doc["State"].value("ExitCode", -1), 4);
  EXPECT_EQ(doc["State"].value("Running", true), false);
  EXPECT_EQ(doc["Config"]["Labels"].value("team", ""), "a");
  EXPECT_EQ(doc["HostConfig"].value("NetworkMode", ""), "none");
  EXPECT_EQ(doc.value("Path", ""), "sh");
  // plain inspect falls back to images
  auto img = nlohmann::json::parse(berth("inspect busybox").out, nullptr, false);
  ASSERT_TRUE(img.is_array() && img.size() == 1);
  EXPECT_TRUE(img[0].contains("RepoTags"));
  EXPECT_EQ(berth("rm " + id).status, 0);
}

TEST_F(RunTest, DefaultNetworkGivesAnAddress) {
  auto r = berth("run -d --name berth-test-net busybox sleep 100");
  ASSERT_EQ(r.status, 0) << r.out;
  auto doc = inspect("berth-test-net");
  std::string ip = doc["NetworkSettings"].value("IPAddress", "");
  EXPECT_TRUE(ip.starts_with("10.89.")) << doc.dump();
  r = berth("run --rm --cap-add NET_RAW busybox ping -c 1 -W 2 " + ip);  // not in the default set
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(berth("rm -f berth-test-net").status, 0);
}

TEST_F(RunTest, BadInputsAreNamed) {
  auto r = berth("run --rm --pull never berth-test-no-such-image true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("berth-test-no-such-image"), std::string::npos) << r.out;
  r = berth("run --rm -p 80:x busybox true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("-p"), std::string::npos) << r.out;
  r = berth("run --rm --runtime berth-test-nope busybox true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("unknown runtime \"berth-test-nope\""), std::string::npos) << r.out;
  r = berth("run --rm --restart sometimes busybox true");
  EXPECT_EQ(r.status, 125);
  r = berth("stop berth-test-no-such-container");
  EXPECT_NE(r.out.find("no such container"), std::string::npos) << r.out;
  EXPECT_EQ(trim(berth("ps -a -q").out), "") << "a failed run left a container";
}

}  // namespace
}  // namespace berth::engine::testing
