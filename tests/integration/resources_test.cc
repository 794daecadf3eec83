// linux.resources (runtime-spec config-linux.md "Control groups") and the
// `update` verb, checked from inside the container: it gets a cgroup namespace
// and a cgroup mount, and the checker reads its own cgroup files or tries what
// a limit forbids (fork past pids.max, open a denied device).
//
// This host is hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified with
// only hugetlb). The other layouts are made for one runtime command at a time
// in a private mount namespace (`unshare -m`):
//  - pure v2: cgroup2 mounted over /sys/fs/cgroup. Its controllers are what the
//    host's unified hierarchy offers (hugetlb), and the device filter (BPF,
//    which needs no controller) is exercised for real;
//  - pure v1: /sys/fs/cgroup/unified unmounted.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

constexpr const char* kUnified = "/sys/fs/cgroup/unified";

bool pure_v2_host() { return fs::exists("/sys/fs/cgroup/cgroup.controllers"); }
bool v1_has(const std::string& controller) {
  return !pure_v2_host() && fs::exists("/sys/fs/cgroup/" + controller + "/cgroup.procs");
}
bool hybrid_host() { return fs::exists(std::string(kUnified) + "/cgroup.controllers"); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Removes the test's cgroup from every hierarchy, whatever the runtime left.
struct CgroupGuard {
  std::string path;
  ~CgroupGuard() {
    std::ifstream mi("/proc/self/mountinfo");
    for (std::string line; std::getline(mi, line);) {
      auto dash = line.find(" - cgroup");
      if (dash == std::string::npos) continue;
      std::istringstream s(line);
      std::string f[5];
      for (auto& x : f) s >> x;
      rmdir((f[4] + path + "/child").c_str());
      rmdir((f[4] + path).c_str());
    }
  }
};

// A bundle whose container has its own cgroup (absolute path, removed after
// the test), a cgroup namespace and the cgroup mount of the default spec.
struct CgBundle {
  Bundle b;
  std::string path;
  CgroupGuard guard;
  CgBundle() : path("/" + b.id), guard{path} {
    b.config["linux"]["cgroupsPath"] = path;
    b.add_namespace("cgroup");
  }
  json& resources() { return b.config["linux"]["resources"]; }
  std::string cat(const std::string& file) {
    auto j = b.check({"cat", file});
    EXPECT_EQ(j.value("errno", -1), 0) << file << ": " << j;
    return trim(j.value("content", ""));
  }
};

// Runs the runtime under test in a fresh private mount namespace after
// `setup` (a shell command), so it sees another cgroup layout.
CmdResult rt_in(const std::string& setup, Bundle& b, const std::vector<std::string>& args,
                const CmdOptions& opts = {}) {
  std::vector<std::string> argv = {"unshare", "-m", "--propagation", "private", "sh", "-c",
                                   setup + " && exec \"$@\"", "sh", runtime_path(), "--root", b.root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, opts);
}
const std::string kAsPureV2 = "mount -t cgroup2 cgroup2 /sys/fs/cgroup";
const std::string kAsPureV1 = "umount /sys/fs/cgroup/unified";

// Enables a controller in the unified root's subtree_control for the test and
// puts the root back as it was.
struct UnifiedController {
  std::string name;
  bool was_enabled = false;
  explicit UnifiedController(std::string n) : name(std::move(n)) {
    was_enabled = read_file(std::string(kUnified) + "/cgroup.subtree_control").find(name) != std::string::npos;
  }
  ~UnifiedController() {
    if (was_enabled) return;
    std::ofstream(std::string(kUnified) + "/cgroup.subtree_control") << "-" << name;
  }
};

bool unified_offers(const std::string& controller) {
  return hybrid_host() && read_file(std::string(kUnified) + "/cgroup.controllers").find(controller) != std::string::npos;
}

// A char device 1:12 has no driver: an open the device rules let through fails
// with ENXIO, one they deny with EPERM (checked before the driver).
json test_device() {
  return {{"path", "/dev/berth-test-dev"}, {"type", "c"}, {"major", 1}, {"minor", 12}, {"fileMode", 0666}};
}
json allow_test_device(const char* access) {
  return {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 12}, {"access", access}};
}

// A child of the test joins the cgroup whose cgroup.procs is `procs` and opens
// `node`: 0, or the errno of the open (100: could not join).
int open_in_cgroup(const std::string& procs, const std::string& node, int flags) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(procs.c_str(), O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(100);
    close(fd);
    int dev = open(node.c_str(), flags | O_NONBLOCK);
    _exit(dev >= 0 ? 0 : errno);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// ------------------------------------------------------------------ memory

TEST(Resources, MemoryLimitAndReservation) {
  if (!v1_has("memory") && !pure_v2_host()) GTEST_SKIP() << "no memory controller";
  CgBundle c;
  c.resources()["memory"] = {{"limit", 64 << 20}, {"reservation", 32 << 20}};
  if (pure_v2_host()) {
    EXPECT_EQ(c.cat("/sys/fs/cgroup/memory.max"), std::to_string(64 << 20));
    EXPECT_EQ(c.cat("/sys/fs/cgroup/memory.low"), std::to_string(32 << 20));
  } else {
    EXPECT_EQ(c.cat("/sys/fs/cgroup/memory/memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(c.cat("/sys/fs/cgroup/memory/memory.soft_limit_in_bytes"), std::to_string(32 << 20));
  }
}

// The spec's swap is memory+swap (v1's memsw).
TEST(Resources, MemorySwapIsMemoryPlusSwap) {
  if (!v1_has("memory") || !fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))
    GTEST_SKIP() << "no v1 swap accounting";
  CgBundle c;
  c.resources()["memory"] = {{"limit", 64 << 20}, {"swap", 128 << 20}, {"swappiness", 10}};
  EXPECT_EQ(c.cat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"), std::to_string(128 << 20));
  EXPECT_EQ(c.cat("/sys/fs/cgroup/memory/memory.swappiness"), "10");
}

TEST(Resources, KernelMemoryIsIgnoredWithAWarning) {
  CgBundle c;
  c.resources()["memory"] = {{"limit", 64 << 20}, {"kernel", 16 << 20}};
  c.b.checker_args({"exit", "0"});
  auto r = c.b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("memory.kernel is ignored"), std::string::npos) << r.err;
  }
}

// ------------------------------------------------------------------ pids

TEST(Resources, PidsLimitStopsForks) {
  if (!v1_has("pids") && !pure_v2_host()) GTEST_SKIP() << "no pids controller";
  CgBundle c;
  c.resources()["pids"] = {{"limit", 10}};
  auto j = c.b.check({"fork", "30"});
  // The checker itself is one of the 10.
  EXPECT_EQ(j.value("forked", -1), 9) << j;
  EXPECT_EQ(j.value("errno", 0), EAGAIN) << j;
  EXPECT_EQ(c.cat(pure_v2_host() ? "/sys/fs/cgroup/pids.max" : "/sys/fs/cgroup/pids/pids.max"), "10");
}

// ------------------------------------------------------------------ cpu

TEST(Resources, CpuQuotaPeriodShares) {
  if (!v1_has("cpu")) GTEST_SKIP() << "checks v1 cpu files";
  CgBundle c;
  c.resources()["cpu"] = {{"shares", 512}, {"quota", 50000}, {"period", 100000}};
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.shares"), "512");
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.cfs_period_us"), "100000");
}

TEST(Resources, CpuBurstAndIdle) {
  if (!v1_has("cpu") || !fs::exists("/sys/fs/cgroup/cpu/cpu.idle")) GTEST_SKIP() << "checks v1 cpu burst and idle";
  SKIP_ON_RUNC("runc 1.1 predates cpu.burst and cpu.idle (runtime-spec 1.2)");
  CgBundle c;
  c.resources()["cpu"] = {{"quota", 50000}, {"period", 100000}, {"burst", 10000}, {"idle", 1}};
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.cfs_burst_us"), "10000");
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.idle"), "1");
}

TEST(Resources, CpusetPinsTheContainer) {
  CgBundle c;
  c.resources()["cpu"] = {{"cpus", "0"}, {"mems", "0"}};
  auto j = c.b.check({"cat", "/proc/self/status"});
  EXPECT_NE(j.value("content", "").find("Cpus_allowed_list:\t0\n"), std::string::npos) << j;
  if (v1_has("cpuset")) {
    EXPECT_EQ(c.cat("/sys/fs/cgroup/cpuset/cpuset.mems"), "0");
  }
}

TEST(Resources, RealtimeRuntime) {
  if (!v1_has("cpu") || !fs::exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) GTEST_SKIP() << "no v1 rt group scheduling";
  CgBundle c;
  c.resources()["cpu"] = {{"realtimePeriod", 1000000}, {"realtimeRuntime", 1000}};
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"), "1000");
  EXPECT_EQ(c.cat("/sys/fs/cgroup/cpu/cpu.rt_period_us"), "1000000");
}

TEST(Resources, RealtimeRuntimeAboveTheParentsIsAClearError) {
  if (!v1_has("cpu") || !fs::exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) GTEST_SKIP() << "no v1 rt group scheduling";
  CgBundle c;
  c.resources()["cpu"] = {{"realtimePeriod", 1000000}, {"realtimeRuntime", 999999}};
  c.b.checker_args({"exit", "0"});
  auto r = c.b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("linux.resources.cpu.realtimeRuntime: 999999 is more than the parent"),
                                    std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/cpu" + c.path)) << "cgroup left behind";
}

// ------------------------------------------------------------------ blkio

TEST(Resources, BlkioWeightAndThrottle) {
  if (!v1_has("blkio")) GTEST_SKIP() << "checks v1 blkio files";
  if (!fs::exists("/sys/block/vda/dev") && !fs::exists("/sys/block/loop0/dev")) GTEST_SKIP() << "no block device";
  std::string devfile = fs::exists("/sys/block/vda/dev") ? "/sys/block/vda/dev" : "/sys/block/loop0/dev";
  std::string dev = trim(read_file(devfile));
  int major = std::stoi(dev.substr(0, dev.find(':'))), minor = std::stoi(dev.substr(dev.find(':') + 1));
  CgBundle c;
  c.resources()["blockIO"] = {
      {"throttleReadBpsDevice", {{{"major", major}, {"minor", minor}, {"rate", 1048576}}}},
      {"throttleWriteIOPSDevice", {{{"major", major}, {"minor", minor}, {"rate", 300}}}}};
  // New cgroups show the weight files the root lacks: probe a sibling.
  std::string probe = "/sys/fs/cgroup/blkio/berth-test-probe-" + std::to_string(getpid());
  mkdir(probe.c_str(), 0755);
  std::string weight_file = fs::exists(probe + "/blkio.weight") ? "blkio.weight"
                            : fs::exists(probe + "/blkio.bfq.weight") ? "blkio.bfq.weight" : "";
  rmdir(probe.c_str());
  if (!weight_file.empty()) c.resources()["blockIO"]["weight"] = 500;
  c.b.set_args({"/bin/sh", "-c",
                "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device" +
                    (weight_file.empty() ? std::string() : " /sys/fs/cgroup/blkio/" + weight_file)});
  auto r = c.b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.out.find(dev + " 1048576"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dev + " 300"), std::string::npos) << r.out;
  if (!weight_file.empty()) {
    EXPECT_NE(r.out.find("500"), std::string::npos) << r.out;
  }
}

// ------------------------------------------------------------------ hugetlb

// On this hybrid host hugetlb exists only in the cgroup2 mount: it is written
// there, with the controller enabled in the parents.
TEST(Resources, HugetlbOnTheUnifiedMount) {
  if (v1_has("hugetlb") || !unified_offers("hugetlb")) GTEST_SKIP() << "needs hugetlb on a hybrid host's cgroup2 mount";
  SKIP_ON_RUNC("runc 1.1 writes controllers to v1 hierarchies only on a hybrid host");
  UnifiedController enabled("hugetlb");
  CgBundle c;
  c.resources()["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4 << 20}}};
  c.resources()["unified"] = {{"hugetlb.1GB.max", "0"}};
  c.b.set_args({"/bin/cat", "/sys/fs/cgroup/unified/hugetlb.2MB.max", "/sys/fs/cgroup/unified/hugetlb.1GB.max"});
  auto r = c.b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, std::to_string(4 << 20) + "\n0\n");
}

// ------------------------------------------------------------------ devices

// A device outside the default rules is denied; an allow rule for reading
// lets it open for reading only.
TEST(Resources, DeviceRulesV1) {
  if (!v1_has("devices")) GTEST_SKIP() << "no v1 devices controller";
  {
    CgBundle c;
    c.b.config["linux"]["devices"] = {test_device()};
    auto j = c.b.check({"open", "/dev/berth-test-dev", "r"});
    EXPECT_EQ(j.value("errno", 0), EPERM) << j;
  }
  {
    CgBundle c;
    c.b.config["linux"]["devices"] = {test_device()};
    c.resources()["devices"].push_back(allow_test_device("r"));
    EXPECT_EQ(c.b.check({"open", "/dev/berth-test-dev", "r"}).value("errno", -1), ENXIO);
    EXPECT_EQ(c.b.check({"open", "/dev/berth-test-dev", "w"}).value("errno", 0), EPERM);
  }
}

// update --resources with device rules rewrites the v1 lists.
TEST(Resources, UpdateDeviceRulesV1) {
  if (!v1_has("devices")) GTEST_SKIP() << "no v1 devices controller";
  SKIP_ON_RUNC("runc 1.1 update takes no device rules");
  CgBundle c;
  c.b.checker_args({"sleep", "30"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  std::string node = c.b.dir + "/berth-test-dev";
  ASSERT_EQ(mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 12)), 0) << strerror(errno);
  std::string procs = "/sys/fs/cgroup/devices" + c.path + "/cgroup.procs";
  EXPECT_EQ(open_in_cgroup(procs, node, O_RDONLY), EPERM);
  json update = {{"devices", {{{"allow", false}, {"access", "rwm"}}, allow_test_device("rw")}}};
  auto r = c.b.rt({"update", "--resources", "-", c.b.id}, {.stdin_data = update.dump()});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(open_in_cgroup(procs, node, O_RDWR), ENXIO);
  EXPECT_EQ(open_in_cgroup(procs, "/dev/null", O_RDWR), 0);  // the defaults stay
}

// ------------------------------------------------------------------ pure v2 (cgroup2 over /sys/fs/cgroup)

TEST(Resources, PureV2DeviceFilterHugetlbUnified) {
  if (!hybrid_host()) GTEST_SKIP() << "makes a pure v2 view of a hybrid host's cgroup2 hierarchy";
  bool hugetlb = unified_offers("hugetlb");
  UnifiedController enabled("hugetlb");
  CgBundle c;
  // nested: hugetlb is enabled in the root and in the parent the runtime makes
  c.b.config["linux"]["cgroupsPath"] = c.path + "/child";
  c.b.config["linux"]["devices"] = {test_device()};
  c.resources()["devices"].push_back(allow_test_device("r"));
  if (hugetlb) {
    c.resources()["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4 << 20}}};
    c.resources()["unified"] = {{"hugetlb.1GB.max", "0"}};
  }
  c.b.set_args({"/bin/sh", "-c",
                "/bin/checker open /dev/berth-test-dev r; /bin/checker open /dev/berth-test-dev w; /bin/checker open /dev/null rw; "
                "cat /sys/fs/cgroup/hugetlb.2MB.max /sys/fs/cgroup/hugetlb.1GB.max"});
  c.b.write_config();
  auto r = rt_in(kAsPureV2, c.b, {"run", "--bundle", c.b.dir, c.b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  std::istringstream lines(r.out);
  std::string rd, wr, null;
  std::getline(lines, rd);
  std::getline(lines, wr);
  std::getline(lines, null);
  EXPECT_EQ(json::parse(rd).value("errno", -1), ENXIO) << rd;
  EXPECT_EQ(json::parse(wr).value("errno", 0), EPERM) << wr;
  EXPECT_EQ(json::parse(null).value("errno", -1), 0) << null;
  if (hugetlb) {
    EXPECT_NE(r.out.find(std::to_string(4 << 20) + "\n0"), std::string::npos) << r.out;
    EXPECT_NE(read_file(std::string(kUnified) + c.path + "/cgroup.subtree_control").find("hugetlb"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(std::string(kUnified) + c.path + "/child")) << "cgroup left behind";
}

TEST(Resources, PureV2MissingControllerIsAClearError) {
  if (!hybrid_host() || unified_offers("memory")) GTEST_SKIP() << "needs a cgroup2 hierarchy without memory";
  SKIP_ON_RUNC("runc 1.1 names no field in this error");
  CgBundle c;
  c.resources()["memory"] = {{"limit", 64 << 20}};
  c.b.checker_args({"exit", "0"});
  c.b.write_config();
  auto r = rt_in(kAsPureV2, c.b, {"run", "--bundle", c.b.dir, c.b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("linux.resources.memory: the memory cgroup controller is not available"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(std::string(kUnified) + c.path)) << "cgroup left behind";
}

// The device program is replaced on update: a process of the container's
// cgroup sees the new rules.
TEST(Resources, PureV2UpdateReplacesTheDeviceFilter) {
  if (!hybrid_host()) GTEST_SKIP() << "makes a pure v2 view of a hybrid host's cgroup2 hierarchy";
  SKIP_ON_RUNC("runc 1.1 update takes no device rules");
  CgBundle c;
  c.b.checker_args({"sleep", "30"});
  c.b.write_config();
  auto r = rt_in(kAsPureV2, c.b, {"run", "--detach", "--bundle", c.b.dir, c.b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  std::string cg = std::string(kUnified) + c.path;
  std::string node = c.b.dir + "/berth-test-dev";
  ASSERT_EQ(mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 12)), 0) << strerror(errno);
  // A child of the test joins the container's cgroup and opens the node.
  auto open_node = [&](int flags) { return open_in_cgroup(cg + "/cgroup.procs", node, flags); };
  EXPECT_EQ(open_node(O_RDONLY), EPERM);
  json update = {{"devices", {{{"allow", false}, {"access", "rwm"}}, allow_test_device("r")}}};
  r = rt_in(kAsPureV2, c.b, {"update", "--resources", "-", c.b.id}, {.stdin_data = update.dump()});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(open_node(O_RDONLY), ENXIO);
  EXPECT_EQ(open_node(O_WRONLY), EPERM);
  r = rt_in(kAsPureV2, c.b, {"delete", "--force", c.b.id});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_FALSE(fs::exists(cg)) << "cgroup left behind";
}

// ------------------------------------------------------------------ pure v1 (no cgroup2 mount)

TEST(Resources, PureV1RefusesUnifiedAndHugetlb) {
  if (!hybrid_host() || v1_has("hugetlb")) GTEST_SKIP() << "makes a pure v1 view of this hybrid host";
  SKIP_ON_RUNC("runc 1.1 names no field in these errors");
  for (auto [key, value, want] :
       {std::tuple<const char*, json, const char*>{"unified", {{"pids.max", "10"}},
                                                   "linux.resources.unified: needs a cgroup2 hierarchy"},
        {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4 << 20}}},
         "linux.resources.hugepageLimits: the hugetlb cgroup controller is not mounted"}}) {
    CgBundle c;
    c.resources()[key] = value;
    c.b.checker_args({"exit", "0"});
    c.b.write_config();
    auto r = rt_in(kAsPureV1, c.b, {"run", "--bundle", c.b.dir, c.b.id});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory" + c.path)) << "cgroup left behind";
  }
}

// ------------------------------------------------------------------ errors and rollback

TEST(Resources, MissingControllerIsAClearError) {
  struct Case {
    const char* controller;
    const char* key;
    json value;
    const char* want;
  };
  for (const auto& k : {Case{"rdma", "rdma", {{"mlx5_1", {{"hcaHandles", 3}}}},
                             "linux.resources.rdma: the rdma cgroup controller is not mounted"},
                        Case{"net_cls", "network", {{"classID", 1048577}},
                             "linux.resources.network.classID: the net_cls cgroup controller is not mounted"}}) {
    if (v1_has(k.controller) || unified_offers(k.controller) || pure_v2_host()) continue;
    CgBundle c;
    c.resources()[k.key] = k.value;
    c.b.checker_args({"exit", "0"});
    auto r = c.b.run();
    if (runtime_is_runc() && r.status == 0) continue;  // runc 1.1 ignores some missing controllers
    EXPECT_NE(r.status, 0) << k.key;
    if (runtime_is_berth()) {
      EXPECT_NE(r.err.find(k.want), std::string::npos) << r.err;
    }
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory" + c.path)) << "cgroup left behind";
    EXPECT_EQ(c.b.status(), "");
  }
}

TEST(Resources, BadValueRollsBack) {
  CgBundle c;
  c.resources()["cpu"] = {{"cpus", "1000-1001"}};
  c.b.checker_args({"exit", "0"});
  auto r = c.b.create();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("linux.resources.cpu.cpus"), std::string::npos) << r.err;
  }
  EXPECT_EQ(c.b.status(), "") << "state left behind";
  for (auto h : {"cpuset", "memory", "pids", "devices", "unified"})
    EXPECT_FALSE(fs::exists(std::string("/sys/fs/cgroup/") + h + c.path)) << "left behind in " << h;
}

// ------------------------------------------------------------------ update

TEST(Resources, UpdateChangesLimitsLive) {
  if (!v1_has("memory") || !v1_has("pids") || !v1_has("cpu")) GTEST_SKIP() << "checks v1 files";
  CgBundle c;
  c.resources()["memory"] = {{"limit", 64 << 20}};
  c.resources()["pids"] = {{"limit", 100}};
  c.b.checker_args({"sleep", "30"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  auto host = [&](const std::string& ctrl, const std::string& file) {
    return trim(read_file("/sys/fs/cgroup/" + ctrl + c.path + "/" + file));
  };
  auto r = c.b.rt({"update", "--memory", "32m", "--memory-swap", "96m", "--pids-limit", "5", "--cpu-quota", "20000",
                   "--cpu-period", "100000", "--cpu-share", "256", "--cpuset-cpus", "0", c.b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(host("memory", "memory.limit_in_bytes"), std::to_string(32 << 20));
  if (fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(host("memory", "memory.memsw.limit_in_bytes"), std::to_string(96 << 20));
  }
  EXPECT_EQ(host("pids", "pids.max"), "5");
  EXPECT_EQ(host("cpu", "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(host("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(host("cpu", "cpu.shares"), "256");
  EXPECT_EQ(host("cpuset", "cpuset.cpus"), "0");
  // A second update changes only what it names.
  r = c.b.rt({"update", "--pids-limit", "-1", c.b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(host("pids", "pids.max"), "max");
  EXPECT_EQ(host("memory", "memory.limit_in_bytes"), std::to_string(32 << 20));
}

// The container sees an update: it waits for a file from the test, then reads
// its memory limit and forks past its new pids limit.
TEST(Resources, UpdateSeenFromInside) {
  if (!v1_has("memory") || !v1_has("pids")) GTEST_SKIP() << "checks v1 files";
  CgBundle c;
  c.b.config["root"]["readonly"] = false;
  c.resources()["pids"] = {{"limit", 100}};
  c.b.set_args({"/bin/sh", "-c",
                "while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /tmp/mem; exec /bin/checker fork 30 > /tmp/out"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  auto r = c.b.rt({"update", "--memory", "48m", "--pids-limit", "5", c.b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  write_file(c.b.rootfs + "/tmp/go", "");
  ASSERT_TRUE(c.b.wait_status("stopped"));
  EXPECT_EQ(trim(read_file(c.b.rootfs + "/tmp/mem")), std::to_string(48 << 20));
  auto j = parse_checker(read_file(c.b.rootfs + "/tmp/out"));
  EXPECT_EQ(j.value("forked", -1), 4) << j;  // the checker is the fifth
  EXPECT_EQ(j.value("errno", 0), EAGAIN) << j;
}

// --resources - takes linux.resources JSON; checkBeforeUpdate, saved in the
// state, refuses a later limit below the usage.
TEST(Resources, UpdateFromJsonAndCheckBeforeUpdate) {
  if (!v1_has("memory") || !v1_has("pids")) GTEST_SKIP() << "checks v1 files";
  CgBundle c;
  c.b.checker_args({"sleep", "30"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  json update = {{"pids", {{"limit", 7}}}, {"memory", {{"checkBeforeUpdate", true}}}};
  auto r = c.b.rt({"update", "--resources", "-", c.b.id}, {.stdin_data = update.dump()});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(trim(read_file("/sys/fs/cgroup/pids" + c.path + "/pids.max")), "7");
  r = c.b.rt({"update", "--memory", "4096", c.b.id});
  EXPECT_NE(r.status, 0) << "a limit below the usage passed checkBeforeUpdate";
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("checkBeforeUpdate"), std::string::npos) << r.err;
  }
  EXPECT_EQ(c.b.status(), "running");
}

TEST(Resources, UpdateIntelRdtWithoutResctrlIsAClearError) {
  if (read_file("/proc/self/mountinfo").find(" - resctrl ") != std::string::npos) GTEST_SKIP() << "resctrl is mounted";
  CgBundle c;
  c.b.checker_args({"sleep", "30"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  auto r = c.b.rt({"update", "--l3-cache-schema", "L3:0=ff", c.b.id});
  EXPECT_NE(r.status, 0);
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("resctrl filesystem is not mounted"), std::string::npos) << r.err;
  }
}

TEST(Resources, UpdateOfAStoppedContainerFails) {
  CgBundle c;
  c.b.checker_args({"exit", "0"});
  ASSERT_EQ(c.b.run({"--detach"}).status, 0);
  ASSERT_TRUE(c.b.wait_status("stopped"));
  auto r = c.b.rt({"update", "--pids-limit", "5", c.b.id});
  EXPECT_NE(r.status, 0);
}

}  // namespace
}  // namespace berth::test
