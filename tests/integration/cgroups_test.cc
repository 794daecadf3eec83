// linux.cgroupsPath (runtime-spec config-linux.md "Control groups"): the
// container's cgroup is made at that path in every hierarchy, holds the
// container's process, and is removed on delete. Resource limits: part 2.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

// Mounted hierarchies: v1 controller dirs and the v2 mount, if any.
std::vector<std::string> hierarchies() {
  std::vector<std::string> dirs;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream s(line);
    std::string f[10];
    for (auto& x : f) s >> x;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream t(line.substr(dash + 3));
    std::string fstype, source, opts;
    t >> fstype >> source >> opts;
    if (fstype == "cgroup" || fstype == "cgroup2") dirs.push_back(f[4]);
  }
  return dirs;
}

// The v1 hierarchies that hold a real controller (not name=systemd-only ones).
std::vector<std::string> v1_controllers() {
  std::vector<std::string> out;
  for (auto c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"})
    if (fs::exists(std::string("/sys/fs/cgroup/") + c + "/cgroup.procs")) out.push_back(std::string("/sys/fs/cgroup/") + c);
  return out;
}

bool contains_pid(const std::string& procs_file, int pid) {
  std::istringstream s(read_file(procs_file));
  for (int p; s >> p;)
    if (p == pid) return true;
  return false;
}

struct CgroupCleanup {
  std::string path;
  ~CgroupCleanup() {
    for (auto& h : hierarchies()) rmdir((h + path).c_str());
  }
};

TEST(Cgroups, CreatedAtPathAndRemovedOnDelete) {
  Bundle b;
  std::string path = "/" + b.id;
  CgroupCleanup cleanup{path};
  b.config["linux"]["cgroupsPath"] = path;
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int pid = (*b.state())["pid"];

  auto ctrls = v1_controllers();
  if (ctrls.empty() && !fs::exists("/sys/fs/cgroup/cgroup.controllers")) GTEST_SKIP() << "no cgroup hierarchy";
  for (auto& c : ctrls) {
    EXPECT_TRUE(fs::is_directory(c + path)) << c + path;
    EXPECT_TRUE(contains_pid(c + path + "/cgroup.procs", pid)) << c + path;
  }
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {  // pure v2
    EXPECT_TRUE(contains_pid("/sys/fs/cgroup" + path + "/cgroup.procs", pid));
  }
  // what the container sees without a cgroup namespace: its path in each hierarchy
  std::string self = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  EXPECT_NE(self.find(":" + path + "\n"), std::string::npos) << self;

  ASSERT_EQ(b.kill("KILL").status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  ASSERT_EQ(b.del().status, 0);
  for (auto& h : hierarchies()) EXPECT_FALSE(fs::exists(h + path)) << "left behind: " << h + path;
}

TEST(Cgroups, NestedPathCreatesParents) {
  Bundle b;
  std::string parent = "/" + b.id + "-parent";
  std::string path = parent + "/child";
  CgroupCleanup c1{path}, c2{parent};
  b.config["linux"]["cgroupsPath"] = path;
  b.checker_args({"cat", "/proc/self/cgroup"});
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_NE(j["content"].get<std::string>().find(":" + path + "\n"), std::string::npos) << j;
  for (auto& h : hierarchies()) EXPECT_FALSE(fs::exists(h + path)) << "left behind after run: " << h + path;
}

// Without a cgroup mount (containerd's default spec has none) the process
// must still be in its cgroup in every hierarchy.
TEST(Cgroups, InCgroupWithoutCgroupMount) {
  Bundle b;
  std::string path = "/" + b.id;
  CgroupCleanup cleanup{path};
  b.config["linux"]["cgroupsPath"] = path;
  auto& mounts = b.config["mounts"];
  for (auto it = mounts.begin(); it != mounts.end();) {
    if (it->value("type", "") == "cgroup") it = mounts.erase(it);
    else ++it;
  }
  auto j = b.check({"cat", "/proc/self/cgroup"});
  std::istringstream lines(j["content"].get<std::string>());
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_EQ(line.substr(line.rfind(':') + 1), path) << line;
  EXPECT_GT(n, 0);
}

TEST(Cgroups, ForceDeleteRemovesCgroup) {
  Bundle b;
  std::string path = "/" + b.id;
  CgroupCleanup cleanup{path};
  b.config["linux"]["cgroupsPath"] = path;
  b.set_args({"/bin/sh", "-c", "sleep 100 & sleep 100"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  ASSERT_EQ(b.del(true).status, 0);
  for (auto& h : hierarchies()) {
    EXPECT_TRUE(eventually([&] { return !fs::exists(h + path); }, std::chrono::milliseconds(3000))) << h + path;
  }
}

TEST(Cgroups, CgroupNamespaceSeesRoot) {
  Bundle b;
  std::string path = "/" + b.id;
  CgroupCleanup cleanup{path};
  b.config["linux"]["cgroupsPath"] = path;
  b.add_namespace("cgroup");
  auto j = b.check({"cat", "/proc/self/cgroup"});
  std::istringstream s(j["content"].get<std::string>());
  for (std::string line; std::getline(s, line);) EXPECT_EQ(line.substr(line.rfind(':')), ":/") << line;
}

TEST(Cgroups, SystemdCgroupFlagIsClear) {
  if (!runtime_is_berth()) GTEST_SKIP() << "berth-specific: --systemd-cgroup is rejected until a systemd driver exists";
  Bundle b;
  b.write_config();
  auto r = b.rt({"--systemd-cgroup", "run", "--bundle", b.dir, b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("systemd"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
