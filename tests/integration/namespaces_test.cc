// linux.namespaces (new and joined by path), uid/gid mappings, timeOffsets,
// hostname and domainname (runtime-spec config-linux.md "Namespaces").
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace berth::test {
namespace {

const std::map<std::string, std::string> kNsFile = {
    {"pid", "pid"}, {"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"},
    {"mount", "mnt"}, {"cgroup", "cgroup"}, {"user", "user"}, {"time", "time"}};

TEST(Namespaces, DefaultSpecNamespacesAreNew) {
  Bundle b;
  auto j = b.check();
  for (auto type : {"pid", "network", "ipc", "uts", "mount"}) {
    auto f = kNsFile.at(type);
    EXPECT_NE(j["namespaces"][f], host_ns(f)) << type << " must be a new namespace";
  }
  // not listed in the config: the runtime's own
  for (auto f : {"cgroup", "user", "time"}) EXPECT_EQ(j["namespaces"][f], host_ns(f)) << f;
  EXPECT_EQ(j["pid"], 1) << "first process of a new pid namespace";
}

TEST(Namespaces, OmittedNamespaceIsShared) {
  Bundle b;
  b.remove_namespace("network");
  b.remove_namespace("ipc");
  auto j = b.check();
  EXPECT_EQ(j["namespaces"]["net"], host_ns("net"));
  EXPECT_EQ(j["namespaces"]["ipc"], host_ns("ipc"));
  EXPECT_NE(j["namespaces"]["uts"], host_ns("uts"));
}

TEST(Namespaces, NewCgroupNamespace) {
  Bundle b;
  b.add_namespace("cgroup");
  auto j = b.check();
  EXPECT_NE(j["namespaces"]["cgroup"], host_ns("cgroup"));
  // every hierarchy's path is the namespace root
  std::istringstream s(j["cgroup"].get<std::string>());
  int lines = 0;
  for (std::string line; std::getline(s, line); lines++) EXPECT_EQ(line.substr(line.rfind(':')), ":/") << line;
  EXPECT_GT(lines, 0);
}

// Joins the network (and ipc, uts) namespace of a running container by path.
TEST(Namespaces, JoinByPathOfAnotherContainer) {
  Bundle a;
  a.checker_args({"sleep", "30"});
  ASSERT_EQ(a.run({"--detach"}).status, 0);
  int pid = (*a.state())["pid"];
  std::string proc = "/proc/" + std::to_string(pid) + "/ns/";

  Bundle b;
  b.add_namespace("network", proc + "net");
  b.add_namespace("ipc", proc + "ipc");
  b.add_namespace("uts", proc + "uts");
  auto j = b.check();
  auto target = [&](const std::string& f) { return std::filesystem::read_symlink(proc + f).string(); };
  EXPECT_EQ(j["namespaces"]["net"], target("net"));
  EXPECT_EQ(j["namespaces"]["ipc"], target("ipc"));
  EXPECT_EQ(j["namespaces"]["uts"], target("uts"));
  EXPECT_NE(j["namespaces"]["net"], host_ns("net"));
  EXPECT_EQ(j["hostname"], a.config["hostname"]) << "joined uts: the other container's hostname";
}

// Joins the mount namespace of a running container: the process sees that
// container's rootfs (no rootfs of its own is set up), and create/start still
// work although /proc there belongs to the other container's pid namespace.
TEST(Namespaces, JoinMountNamespaceOfAnotherContainer) {
  Bundle a;
  a.checker_args({"sleep", "30"});
  ASSERT_EQ(a.run({"--detach"}).status, 0);
  int pid = (*a.state())["pid"];
  std::string marker = "/joined-mount-marker";
  std::ofstream(a.dir + "/rootfs" + marker) << "a";

  Bundle b;
  b.add_namespace("mount", "/proc/" + std::to_string(pid) + "/ns/mnt");
  b.set_args({"/bin/sh", "-c", "test -f " + marker});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
}

// Joins a named network namespace made by `ip netns add`.
TEST(Namespaces, JoinNamedNetns) {
  std::string name = "berth-test-" + std::to_string(getpid());
  auto add = run_cmd({"ip", "netns", "add", name});
  if (add.status != 0) GTEST_SKIP() << "ip netns add: " << add.err;
  struct Del {
    std::string n;
    ~Del() { run_cmd({"ip", "netns", "delete", n}); }
  } del{name};
  std::string path = "/run/netns/" + name;
  Bundle b;
  b.add_namespace("network", path);
  auto j = b.check();
  // compare with the inode of the bind-mounted nsfs file
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(j["namespaces"]["net"], "net:[" + std::to_string(st.st_ino) + "]");
}

TEST(Namespaces, JoinInvalidPathFails) {
  Bundle b;
  b.add_namespace("network", b.dir + "/config.json");  // not a namespace file
  auto r = b.run();
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(b.state().has_value());
}

TEST(Namespaces, UserNamespaceWithMappings) {
  Bundle b;
  b.add_namespace("user");
  b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  // the rootfs belongs to host root, which is unmapped (nobody) inside: keep it readable
  b.checker_args({"all"});
  b.write_config();
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_NE(j["namespaces"]["user"], host_ns("user"));
  EXPECT_EQ(j["uid"], 0);
  EXPECT_EQ(j["gid"], 0);

  b.checker_args({"cat", "/proc/self/uid_map"});
  auto m = parse_checker(b.run().out);
  std::istringstream s(m["content"].get<std::string>());
  long inside, outside, size;
  s >> inside >> outside >> size;
  EXPECT_EQ(inside, 0);
  EXPECT_EQ(outside, 100000);
  EXPECT_EQ(size, 65536);
  b.checker_args({"cat", "/proc/self/gid_map"});
  auto g = parse_checker(b.run().out);
  EXPECT_NE(g["content"].get<std::string>().find("100000"), std::string::npos) << g;
}

TEST(Namespaces, TimeNamespaceOffsets) {
  SKIP_ON_RUNC("runc 1.1 has no time namespace support (added in runc 1.2)");
  if (host_ns("time").empty()) GTEST_SKIP() << "kernel without time namespaces";
  Bundle b;
  b.add_namespace("time");
  const long day = 86400;
  b.config["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1000 * day}, {"nanosecs", 0}}},
                                      {"boottime", {{"secs", 2000 * day}, {"nanosecs", 0}}}};
  auto j = b.check();
  EXPECT_NE(j["namespaces"]["time"], host_ns("time"));
  timespec mono, boot;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  EXPECT_NEAR(j["monotonic"].get<double>(), double(mono.tv_sec + 1000 * day), 60);
  EXPECT_NEAR(j["boottime"].get<double>(), double(boot.tv_sec + 2000 * day), 60);
  auto offs = j["timens_offsets"].get<std::string>();
  EXPECT_NE(offs.find(std::to_string(1000 * day)), std::string::npos) << offs;
}

TEST(Namespaces, Hostname) {
  Bundle b;
  b.config["hostname"] = "berth-host";
  auto j = b.check();
  EXPECT_EQ(j["hostname"], "berth-host");
}

TEST(Namespaces, Domainname) {
  SKIP_ON_RUNC("runc 1.1 ignores the domainname field (runtime-spec 1.1)");
  Bundle b;
  b.config["hostname"] = "berth-host";
  b.config["domainname"] = "berth.test";
  auto j = b.check();
  EXPECT_EQ(j["hostname"], "berth-host");
  EXPECT_EQ(j["domainname"], "berth.test");
}

TEST(Namespaces, HostnameWithoutUtsNamespaceFails) {
  // runtime-spec: hostname needs a new uts namespace; with the host's, it is an error
  Bundle b;
  b.remove_namespace("uts");
  b.config["hostname"] = "berth-host";
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
}

}  // namespace
}  // namespace berth::test
