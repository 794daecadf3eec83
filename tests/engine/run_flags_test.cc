// The run flags that shape a container's limits and privileges, end to end
// through the berth binary (builtin handler, busybox): --device, --sysctl,
// --shm-size, --ulimit, --cpus, --pids-limit, --memory's OOM, --cap-add/
// --cap-drop, --security-opt no-new-privileges and --init. Each is read from
// inside the container (/proc/self/status, /proc/self/limits, its cgroup
// namespace's /sys/fs/cgroup) and, where the host sees it, from the host
// (the container's cgroup /sys/fs/cgroup/<controller>/berth/<id>).
// (-u, -w, --env-file, --label, --read-only, --memory's limit: run_test.cc.)
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine_env.h"

namespace berth::engine::testing {
namespace {

// CAP_SYS_RESOURCE (bit 24) in this process's effective set.
bool has_sys_resource() {
  std::string status = slurp("/proc/self/status");
  auto at = status.find("CapEff:\t");
  if (at == std::string::npos) return false;
  return (std::stoull(status.substr(at + 8, 16), nullptr, 16) >> 24) & 1;
}

class RunFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env().loaded) << "berth load of the busybox fixture failed"; }
  void TearDown() override {
    reap_zombies();
    EXPECT_EQ(trim(berth("ps -a -q").out), "") << "a container was left behind";
  }
  static EngineEnv& env() { return EngineEnv::get(); }
  static image::testing::Cmd berth(const std::string& args) { return env().run(args); }
  // `berth run --rm --network none FLAGS busybox sh -c SCRIPT`.
  static image::testing::Cmd run(const std::string& flags, const std::string& script) {
    return berth("run --rm --network none " + flags + " busybox sh -c '" + script + "'");
  }
  // A detached container sleeping; its full id.
  static std::string start(const std::string& name, const std::string& flags) {
    auto r = berth("run -d --network none --name " + name + " " + flags + " busybox sleep 100");
    EXPECT_EQ(r.status, 0) << r.out;
    return trim(r.out);
  }
  // `berth inspect`'s State of a container.
  static nlohmann::json inspect_state(const std::string& name) {
    auto doc = nlohmann::json::parse(berth("inspect --type container " + name).out, nullptr, false);
    return doc.is_array() && !doc.empty() ? doc[0].value("State", nlohmann::json::object()) : nlohmann::json::object();
  }
  static std::string host_cgroup(const std::string& controller, const std::string& id, const std::string& file) {
    return trim(slurp("/sys/fs/cgroup/" + controller + "/berth/" + id + "/" + file));
  }
};

TEST_F(RunFlagsTest, Device) {
  // A private node of /dev/fuse (open is harmless, not among the devices
  // every container may use) with its own mode and owner.
  std::string node = env().roots.dir + "/berth-test-fuse";
  ASSERT_EQ(::mknod(node.c_str(), S_IFCHR | 0640, makedev(10, 229)), 0);
  ASSERT_EQ(::chown(node.c_str(), 1234, 4321), 0);
  // Read-only: the node is there as on the host, the device cgroup lets it
  // be opened for reading only.
  auto r = run("--device " + node + ":/dev/berth-fuse:r",
               "stat -c \"%F %t:%T %a %u:%g\" /dev/berth-fuse; true < /dev/berth-fuse && echo read; "
               "true 2>&1 > /dev/berth-fuse; grep \"^c 10:229 \" /sys/fs/cgroup/devices/devices.list");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "character special file a:e5 640 1234:4321\nread\n"
                   "sh: can't create /dev/berth-fuse: Operation not permitted\nc 10:229 r\n");
  // Default permissions rwm; the host path when no container path is given.
  std::string id = start("berth-test-device", "--device " + node);
  EXPECT_NE(host_cgroup("devices", id, "devices.list").find("c 10:229 rwm"), std::string::npos)
      << host_cgroup("devices", id, "devices.list");
  r = berth("exec berth-test-device sh -c 'true > " + node + " && echo written'");
  EXPECT_EQ(r.out, "written\n");
  EXPECT_EQ(berth("rm -f berth-test-device").status, 0);
  // Without --device there is no such node, and the cgroup denies it.
  r = run("", "mknod /dev/x c 10 229 2>/dev/null || echo no mknod; ls /dev/berth-fuse 2>/dev/null || echo absent");
  EXPECT_EQ(r.out, "no mknod\nabsent\n");

  r = run("--device /dev/berth-test-nosuch", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("--device /dev/berth-test-nosuch"), std::string::npos) << r.out;
  r = run("--device " + node + ":/dev/x:rwx", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("invalid permissions \"rwx\""), std::string::npos) << r.out;
}

TEST_F(RunFlagsTest, Sysctl) {
  std::string host_value = slurp("/proc/sys/kernel/shm_rmid_forced");
  auto r = run("--sysctl net.ipv4.ip_forward=1 --sysctl kernel.shm_rmid_forced=1 --sysctl net/ipv4/ping_group_range='0 0'",
               "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ping_group_range");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "1\n1\n0\t0\n");
  EXPECT_EQ(slurp("/proc/sys/kernel/shm_rmid_forced"), host_value) << "the host's own value changed";
  // The namespace a sysctl belongs to must be the container's own, as podman says.
  r = berth("run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("the container uses the host's network"), std::string::npos) << r.out;
  // Nor may a container set one of a namespace it shares with others.
  ASSERT_EQ(berth("pod create --network none --name berth-test-sysctl-pod").status, 0);
  for (const char* sysctl : {"kernel.shm_rmid_forced=1", "kernel.domainname=x", "net.ipv4.ip_forward=1"}) {
    r = berth(std::string("run --rm --pod berth-test-sysctl-pod --sysctl ") + sysctl + " busybox true");
    EXPECT_EQ(r.status, 125) << sysctl;
    EXPECT_NE(r.out.find("the container shares its"), std::string::npos) << r.out;
  }
  EXPECT_EQ(berth("pod rm -f berth-test-sysctl-pod").status, 0);
  start("berth-test-sysctl", "");
  r = berth("run --rm --network container:berth-test-sysctl --sysctl net.ipv4.ip_forward=1 busybox true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("the container shares its network with container:berth-test-sysctl"), std::string::npos)
      << r.out;
  EXPECT_EQ(berth("rm -f berth-test-sysctl").status, 0);
  r = run("--sysctl vm.swappiness=1", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("\"vm.swappiness\" is not namespaced"), std::string::npos) << r.out;
  r = run("--sysctl kernel.shm_rmid_forced", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("want name=value"), std::string::npos) << r.out;
}

TEST_F(RunFlagsTest, ShmSize) {
  auto r = run("--shm-size 16m", "grep \" /dev/shm \" /proc/mounts; df -k /dev/shm | tail -1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("size=16384k"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 16384 "), std::string::npos) << r.out;
  r = run("", "grep \" /dev/shm \" /proc/mounts");
  EXPECT_NE(r.out.find("size=65536k"), std::string::npos) << r.out;  // docker's 64m
  r = run("--shm-size 0", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("--shm-size 0"), std::string::npos) << r.out;
}

TEST_F(RunFlagsTest, Ulimit) {
  auto r = run("--ulimit nofile=1024:2048 --ulimit nproc=100:200",
               "grep -E \"^Max (open files|processes)\" /proc/self/limits | tr -s \" \"; ulimit -n; ulimit -Hn");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "Max processes 100 200 processes \nMax open files 1024 2048 files \n1024\n2048\n");
  // One number sets both.
  r = run("--ulimit nofile=512", "ulimit -n; ulimit -Hn");
  EXPECT_EQ(r.out, "512\n512\n");
  // Raising a hard limit above berth's needs CAP_SYS_RESOURCE, which root
  // lacks on this host (and in user namespaces): a clear error, no container.
  struct rlimit rl {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1048576 && !has_sys_resource()) {
    std::string above = std::to_string(rl.rlim_max + 1);
    r = run("--ulimit nofile=" + above + ":" + above, "true");
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.out.find("RLIMIT_NOFILE"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("the hard limit is " + std::to_string(rl.rlim_max)), std::string::npos) << r.out;
  }
  r = run("--ulimit nofile=2048:1024", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("above the hard limit"), std::string::npos) << r.out;
  r = run("--ulimit nosuch=1", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("unknown limit \"nosuch\""), std::string::npos) << r.out;
}

TEST_F(RunFlagsTest, Cpus) {
  auto r = run("--cpus 0.5", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "50000\n100000\n");
  std::string id = start("berth-test-cpus", "--cpus 0.25");
  EXPECT_EQ(host_cgroup("cpu", id, "cpu.cfs_quota_us"), "25000");
  EXPECT_EQ(host_cgroup("cpu", id, "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(berth("rm -f berth-test-cpus").status, 0);
  r = run("", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  EXPECT_EQ(r.out, "-1\n");  // no --cpus: no quota
  r = run("--cpus " + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN) + 1), "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("out of range"), std::string::npos) << r.out;
}

TEST_F(RunFlagsTest, PidsLimitStopsAForkBomb) {
  std::string id = start("berth-test-pids", "--pids-limit 10");
  EXPECT_EQ(host_cgroup("pids", id, "pids.max"), "10");
  // Forks until refused: busybox sh gives up at the first refusal. (The
  // sleeps leave exec's stdout, or it would wait for them.)
  auto r = berth("exec berth-test-pids sh -c 'for i in $(seq 30); do sleep 100 >/dev/null 2>&1 & done; echo all forked'");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("can't fork"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("all forked"), std::string::npos) << r.out;
  EXPECT_LE(std::stoi("0" + host_cgroup("pids", id, "pids.current")), 10);
  std::string events = host_cgroup("pids", id, "pids.events");
  EXPECT_TRUE(events.starts_with("max ") && events != "max 0") << events;
  EXPECT_EQ(berth("rm -f berth-test-pids").status, 0);
  r = run("", "cat /sys/fs/cgroup/pids/pids.max");
  EXPECT_EQ(r.out, "2048\n");  // podman's default
  r = run("--pids-limit -1", "cat /sys/fs/cgroup/pids/pids.max");
  EXPECT_EQ(r.out, "max\n");
}

TEST_F(RunFlagsTest, MemoryOomIsRecordedByTheMonitor) {
  std::string id = start("berth-test-mem", "--memory 8m");
  EXPECT_EQ(host_cgroup("memory", id, "memory.limit_in_bytes"), "8388608");
  EXPECT_EQ(berth("rm -f berth-test-mem").status, 0);
  auto r = berth("run -d --network none --name berth-test-oom --memory 8m busybox tail /dev/zero");
  ASSERT_EQ(r.status, 0) << r.out;
  id = trim(r.out);
  EXPECT_EQ(trim(berth("wait berth-test-oom").out), "137");
  // berth-monitor read the cgroup's oom_kill counter before the cgroup went.
  std::string exit_file = env().roots.runroot + "/containers/" + id + "/exit";
  EXPECT_NE(slurp(exit_file).find("oom_killed=1"), std::string::npos) << slurp(exit_file);
  // The exit's cleanup keeps it in the container's record, for inspect.
  auto state = inspect_state("berth-test-oom");
  EXPECT_EQ(state.value("OOMKilled", false), true) << state.dump();
  EXPECT_EQ(state.value("ExitCode", 0), 137) << state.dump();
  EXPECT_EQ(berth("rm berth-test-oom").status, 0);
  // An allocation over the limit by a command in a shell, as users write it.
  r = berth("run --network none --name berth-test-oom --memory 8m busybox sh -c 'head -c 50m /dev/zero | tail'");
  EXPECT_EQ(r.status, 137) << r.out;
  state = inspect_state("berth-test-oom");
  EXPECT_EQ(state.value("OOMKilled", false), true) << state.dump();
  EXPECT_EQ(state.value("ExitCode", 0), 137) << state.dump();
  EXPECT_EQ(berth("rm berth-test-oom").status, 0);
  // A container that exits by itself is not OOM-killed.
  r = berth("run -d --network none --name berth-test-oom --memory 8m busybox true");
  id = trim(r.out);
  EXPECT_EQ(trim(berth("wait berth-test-oom").out), "0");
  exit_file = env().roots.runroot + "/containers/" + id + "/exit";
  EXPECT_NE(slurp(exit_file).find("oom_killed=0"), std::string::npos) << slurp(exit_file);
  state = inspect_state("berth-test-oom");
  EXPECT_EQ(state.value("OOMKilled", true), false) << state.dump();
  EXPECT_EQ(state.value("ExitCode", -1), 0) << state.dump();
  EXPECT_EQ(berth("rm berth-test-oom").status, 0);
}

TEST_F(RunFlagsTest, CapabilitiesAndNoNewPrivileges) {
  const char* script = "grep -E \"^(CapEff|CapBnd|NoNewPrivs)\" /proc/self/status";
  auto r = run("", script);
  EXPECT_EQ(r.status, 0) << r.out;
  // podman's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
  // SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP.
  EXPECT_EQ(r.out, "CapEff:\t00000000800405fb\nCapBnd:\t00000000800405fb\nNoNewPrivs:\t0\n") << r.out;
  r = run("--cap-drop ALL --cap-add net_admin --cap-add CAP_KILL --security-opt no-new-privileges", script);
  EXPECT_EQ(r.out, "CapEff:\t0000000000001020\nCapBnd:\t0000000000001020\nNoNewPrivs:\t1\n") << r.out;
  r = run("--cap-drop chown --cap-add SYS_PTRACE", script);
  EXPECT_EQ(r.out, "CapEff:\t00000000800c05fa\nCapBnd:\t00000000800c05fa\nNoNewPrivs:\t0\n") << r.out;
  // A non-root user keeps none in its effective set.
  r = run("-u 1000 --cap-add NET_ADMIN", "grep ^CapEff /proc/self/status");
  EXPECT_EQ(r.out, "CapEff:\t0000000000000000\n") << r.out;
  r = run("--cap-add NOT_A_CAP", "true");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("--cap-add NOT_A_CAP: unknown capability"), std::string::npos) << r.out;
  r = run("--security-opt no-new-privileges=sometimes", "true");
  EXPECT_EQ(r.status, 125);
}

TEST_F(RunFlagsTest, InitIsCatatonitAndForwardsSignals) {
  if (!std::filesystem::exists("/usr/bin/catatonit")) GTEST_SKIP() << "no /usr/bin/catatonit";
  std::string id = start("berth-test-init", "--init");
  auto r = berth("exec berth-test-init sh -c 'tr \"\\0\" \" \" </proc/1/cmdline'");
  EXPECT_EQ(r.out, "/run/berth-init -- sleep 100 ") << r.out;
  auto doc = nlohmann::json::parse(berth("inspect --type container berth-test-init").out, nullptr, false);
  int pid = doc.is_array() && !doc.empty() ? doc[0]["State"].value("Pid", 0) : 0;
  ASSERT_GT(pid, 0) << doc.dump();
  EXPECT_EQ(image::testing::sh("cmp /proc/" + std::to_string(pid) + "/exe /usr/bin/catatonit").status, 0)
      << "PID 1 is not the host's catatonit";
  // sleep is not PID 1: SIGTERM reaches it through catatonit, no -t wait.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth("stop -t 5 berth-test-init").status, 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
  doc = nlohmann::json::parse(berth("inspect --type container berth-test-init").out, nullptr, false);
  EXPECT_EQ(doc[0]["State"].value("ExitCode", 0), 143) << doc.dump();
  EXPECT_EQ(berth("rm berth-test-init").status, 0);
  // Orphans are reaped: no zombie stays under catatonit.
  r = run("--init", "sh -c \"sleep 0.1 &\"; sleep 0.5; ps -o stat,comm | grep -c ^Z");
  EXPECT_EQ(trim(r.out), "0") << r.out;
}

}  // namespace
}  // namespace berth::engine::testing
