// Rootless: the runtime run by an unprivileged uid (setpriv) on a bundle that
// uid owns, with the config of `spec --rootless` (a user namespace mapping
// that uid to root). The uid has no passwd entry on the host; no user is
// ever added. Where newuidmap needs one (and /etc/subuid, /etc/subgid), temp
// files are bind-mounted over them in the test's private mount namespace.
#include <fcntl.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "harness.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kUser = 100000;
const std::string kUserStr = std::to_string(kUser);

uint64_t hex(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

std::string xdg_dir(const Bundle& b) { return b.dir + "/xdg"; }

// Makes `b` rootless: everything in it owned by kUser, the runtime run as
// kUser with XDG_RUNTIME_DIR a private directory of kUser, and the config the
// runtime's own `spec --rootless`. Without --root unless `pass_root`.
void make_rootless(Bundle& b, bool pass_root = false) {
  ASSERT_EQ(getpwuid(kUser), nullptr) << "uid " << kUser << " must have no passwd entry on the host";
  fs::create_directory(xdg_dir(b));
  chmod(xdg_dir(b).c_str(), 0700);
  auto chown = run_cmd({"chown", "-R", kUserStr + ":" + kUserStr, b.dir});
  ASSERT_EQ(chown.status, 0) << chown.describe();
  b.runner = {"setpriv", "--reuid=" + kUserStr, "--regid=" + kUserStr, "--clear-groups",
              "env",     "XDG_RUNTIME_DIR=" + xdg_dir(b)};
  b.pass_root = pass_root;
  auto spec = b.rt({"spec", "--rootless", "--bundle", b.dir});
  ASSERT_EQ(spec.status, 0) << spec.describe();
  b.config = json::parse(read_file(b.dir + "/config.json"));
  b.config["process"]["terminal"] = false;
}

std::vector<std::vector<long>> map_lines(const std::string& text) {
  std::vector<std::vector<long>> out;
  std::istringstream s(text);
  long a, b, c;
  while (s >> a >> b >> c) out.push_back({a, b, c});
  return out;
}

std::string container_file(Bundle& b, const std::string& path) {
  b.checker_args({"cat", path});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  return parse_checker(r.out).value("content", "");
}

// Directories named `id` anywhere in the cgroup hierarchies (a few levels deep).
std::string cgroups_named(const std::string& id) {
  return run_cmd({"find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", id}).out;
}

TEST(Rootless, SpecRootlessMapsTheCaller) {
  Bundle b;
  make_rootless(b);
  auto& l = b.config["linux"];
  ASSERT_EQ(l["uidMappings"].size(), 1u) << l;
  EXPECT_EQ(l["uidMappings"][0]["hostID"], kUser);
  EXPECT_EQ(l["uidMappings"][0]["containerID"], 0);
  EXPECT_EQ(l["gidMappings"][0]["hostID"], kUser);
  bool user_ns = false;
  for (auto& ns : l["namespaces"]) user_ns = user_ns || ns["type"] == "user";
  EXPECT_TRUE(user_ns) << l["namespaces"];
}

// Root in its own user namespace, that root being the unprivileged uid.
TEST(Rootless, RunsAsRootOfItsUserNamespace) {
  Bundle b;
  make_rootless(b);
  auto j = b.check();
  EXPECT_EQ(j["uid"], 0);
  EXPECT_EQ(j["gid"], 0);
  EXPECT_NE(j["namespaces"]["user"], host_ns("user"));
  std::vector<std::string> caps;
  for (auto& c : b.config["process"]["capabilities"]["effective"]) caps.push_back(c);
  EXPECT_EQ(hex(j["caps"]["eff"]), cap_mask(caps)) << j["caps"];

  auto uid_map = map_lines(container_file(b, "/proc/self/uid_map"));
  ASSERT_EQ(uid_map.size(), 1u);
  EXPECT_EQ(uid_map[0], (std::vector<long>{0, long(kUser), 1}));
  auto gid_map = map_lines(container_file(b, "/proc/self/gid_map"));
  ASSERT_EQ(gid_map.size(), 1u);
  EXPECT_EQ(gid_map[0], (std::vector<long>{0, long(kUser), 1}));
  // An unprivileged gid map is only accepted with setgroups denied.
  EXPECT_EQ(container_file(b, "/proc/self/setgroups"), "deny\n");
}

// create/state/start/kill/delete with the default state root under
// XDG_RUNTIME_DIR; the init runs from a sealed copy of the runtime
// (CVE-2019-5736: the overlay variant needs privileges a rootless runtime lacks).
TEST(Rootless, LifecycleUnderXdgRuntimeDir) {
  Bundle b;
  make_rootless(b);
  b.checker_args({"sleep", "30"});
  auto c = b.create();
  ASSERT_EQ(c.status, 0) << c.describe();
  EXPECT_EQ(b.status(), "created");
  std::string state_dir = xdg_dir(b) + (runtime_is_runc() ? "/runc/" : "/berth-runtime/") + b.id;
  EXPECT_TRUE(fs::is_directory(state_dir)) << state_dir;
  int pid = (*b.state())["pid"];
  ASSERT_GT(pid, 0);

  std::string proc = "/proc/" + std::to_string(pid);
  struct stat st {};
  ASSERT_EQ(stat(proc.c_str(), &st), 0);
  std::istringstream status(read_file(proc + "/status"));
  std::string line, uid_line;
  while (std::getline(status, line))
    if (line.rfind("Uid:", 0) == 0) uid_line = line;
  EXPECT_EQ(map_lines(uid_line.substr(4)).at(0), (std::vector<long>{long(kUser), long(kUser), long(kUser)}))
      << uid_line;

  std::error_code ec;
  auto exe = fs::read_symlink(proc + "/exe", ec).string();
  EXPECT_TRUE(exe.rfind("/memfd:", 0) == 0) << "created init runs from " << exe << ", not a sealed copy";
  int fd = open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  const int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  EXPECT_EQ(seals & want, want) << "seals " << seals;

  ASSERT_EQ(b.start().status, 0);
  EXPECT_TRUE(b.wait_status("running"));
  auto k = b.kill("KILL");
  EXPECT_EQ(k.status, 0) << k.describe();
  EXPECT_TRUE(b.wait_status("stopped"));
  auto d = b.del();
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_EQ(b.status(), "");
  EXPECT_FALSE(fs::exists(state_dir)) << state_dir;
}

// No permission for any cgroup here (root owns every hierarchy): the
// container stays in the caller's cgroups and none is created or left.
TEST(Rootless, NoCgroupWithoutPermission) {
  Bundle b;
  make_rootless(b);
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.create().status, 0);
  EXPECT_EQ(cgroups_named(b.id), "") << "a cgroup was made for the container";
  int pid = (*b.state())["pid"];
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cgroup"), read_file("/proc/self/cgroup"));
  ASSERT_EQ(b.del(true).status, 0);
  EXPECT_EQ(cgroups_named(b.id), "");
}

// Without a cgroup to list the processes, kill --all signals the init (the
// rest of its pid namespace dies with it).
TEST(Rootless, KillAllWithoutCgroup) {
  SKIP_ON_RUNC("runc 1.1's kill --all of a container without cgroup fails (\"lstat : no such file or directory\")");
  Bundle b;
  make_rootless(b);
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  auto k = b.kill("KILL", {"--all"});
  EXPECT_EQ(k.status, 0) << k.describe();
  EXPECT_TRUE(b.wait_status("stopped"));
}

// A cgroup2 directory delegated to the user (what systemd gives a user
// slice): the runtime runs in it, and the container's cgroup is made below
// it, while the root-owned v1 hierarchies are skipped. Here the hybrid
// host's unified hierarchy plays the part.
TEST(Rootless, DelegatedCgroup2IsUsed) {
  SKIP_ON_RUNC("runc 1.1's cgroupfs manager leaves a hybrid host's cgroup2 mount alone");
  const std::string unified = "/sys/fs/cgroup/unified";
  if (read_file("/proc/self/cgroup").find("0::/\n") == std::string::npos || !fs::is_directory(unified))
    GTEST_SKIP() << "needs the hybrid layout's cgroup2 mount at " << unified << " with this process at its root";
  Bundle b;
  make_rootless(b);
  std::string deleg = unified + "/berth-test-deleg-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(deleg.c_str(), 0755), 0) << strerror(errno);
  struct Remove {
    std::string dir;
    ~Remove() {
      eventually([&] { return rmdir(dir.c_str()) == 0 || errno == ENOENT; }, std::chrono::milliseconds(3000));
    }
  } remove{deleg};
  for (std::string f : {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"})
    ASSERT_EQ(chown((deleg + f).c_str(), kUser, kUser), 0) << deleg + f << ": " << strerror(errno);
  // The runtime starts in the delegated cgroup (moved there while still root).
  std::vector<std::string> runner = {"sh", "-c", "echo $$ > " + deleg + "/cgroup.procs && exec \"$@\"", "sh"};
  runner.insert(runner.end(), b.runner.begin(), b.runner.end());
  b.runner = runner;
  b.checker_args({"sleep", "30"});
  auto c = b.create();
  ASSERT_EQ(c.status, 0) << c.describe();
  int pid = (*b.state())["pid"];
  auto cgroup = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  std::string want = "0::/" + fs::path(deleg).filename().string() + "/" + b.id + "\n";
  EXPECT_NE(cgroup.find(want), std::string::npos) << cgroup;
  EXPECT_TRUE(fs::is_directory(deleg + "/" + b.id));
  ASSERT_EQ(b.del(true).status, 0);
  EXPECT_FALSE(fs::exists(deleg + "/" + b.id)) << "left behind";
}

TEST(Rootless, ResourceLimitsWithoutCgroupFail) {
  Bundle b;
  make_rootless(b);
  b.config["linux"]["resources"] = {{"memory", {{"limit", 64 << 20}}}};
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("linux.resources"), std::string::npos) << r.err;
  }
  EXPECT_EQ(b.status(), "");
  EXPECT_EQ(cgroups_named(b.id), "");
}

// Device rules are ignored, as runc does: the device nodes are the host's,
// bind-mounted, and a devices cgroup or BPF filter needs privileges.
TEST(Rootless, DeviceRulesIgnored) {
  Bundle b;
  make_rootless(b);
  b.config["linux"]["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  auto j = b.check({"stat", "/dev/null"});
  EXPECT_EQ(j["type"], "c") << j;
  EXPECT_EQ(j["major"], 1);
  EXPECT_EQ(j["minor"], 3);
}

TEST(Rootless, DefaultRootNeedsXdgRuntimeDir) {
  Bundle b;
  make_rootless(b);
  b.runner = {"setpriv", "--reuid=" + kUserStr, "--regid=" + kUserStr, "--clear-groups", "env", "-u",
              "XDG_RUNTIME_DIR"};
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("XDG_RUNTIME_DIR"), std::string::npos) << r.err;
  }
}

// Bind-mounts `content` (a temp file in `dir`) over `target` in this
// process's mount namespace, which must not be its parent's (the host's);
// unmounts at scope end.
class PrivateFile {
 public:
  PrivateFile(const std::string& dir, const std::string& target, const std::string& content) : target_(target) {
    // main.cc unshared it; the parent (ctest, a shell) is in the host's.
    std::error_code ec1, ec2;
    std::string self = fs::read_symlink("/proc/self/ns/mnt", ec1).string();
    std::string parent = fs::read_symlink("/proc/" + std::to_string(getppid()) + "/ns/mnt", ec2).string();
    if (ec1 || ec2 || self.empty() || self == parent) {
      ADD_FAILURE() << "not in a private mount namespace: refusing to bind over " << target;
      return;
    }
    std::string file = dir + "/private" + fs::path(target).filename().string();
    write_file(file, content);
    chmod(file.c_str(), 0644);
    if (mount(file.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      ADD_FAILURE() << "bind " << file << " over " << target << ": " << strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~PrivateFile() {
    if (mounted_) umount2(target_.c_str(), MNT_DETACH);
  }

 private:
  std::string target_;
  bool mounted_ = false;
};

// Ranges beyond the caller's own id go through newuidmap/newgidmap, which
// check them against /etc/subuid and /etc/subgid (and need the caller's
// passwd entry): private copies of the three, never the host's files.
TEST(Rootless, SubordinateRangesThroughNewuidmap) {
  Bundle b;
  make_rootless(b);
  const std::string subuid_before = read_file("/etc/subuid");
  {
    std::string passwd = read_file("/etc/passwd") + "berth-test-rootless:x:" + kUserStr + ":" + kUserStr +
                         "::/nonexistent:/usr/sbin/nologin\n";
    PrivateFile pw(b.dir, "/etc/passwd", passwd);
    PrivateFile su(b.dir, "/etc/subuid", kUserStr + ":300000:65536\n");
    PrivateFile sg(b.dir, "/etc/subgid", kUserStr + ":300000:65536\n");
    ASSERT_NE(getpwuid(kUser), nullptr);
    json maps = json::array({{{"containerID", 0}, {"hostID", kUser}, {"size", 1}},
                             {{"containerID", 1}, {"hostID", 300000}, {"size", 65536}}});
    b.config["linux"]["uidMappings"] = maps;
    b.config["linux"]["gidMappings"] = maps;
    auto want = std::vector<std::vector<long>>{{0, long(kUser), 1}, {1, 300000, 65536}};
    EXPECT_EQ(map_lines(container_file(b, "/proc/self/uid_map")), want);
    EXPECT_EQ(map_lines(container_file(b, "/proc/self/gid_map")), want);
    auto j = b.check();
    EXPECT_EQ(j["uid"], 0);
  }
  EXPECT_EQ(getpwuid(kUser), nullptr) << "the private passwd must be gone";
  EXPECT_EQ(read_file("/etc/subuid"), subuid_before);
}

// Without a subordinate range the helper refuses, and says why.
TEST(Rootless, RangeWithoutSubuidEntryFails) {
  Bundle b;
  make_rootless(b);
  json maps = json::array({{{"containerID", 0}, {"hostID", kUser}, {"size", 1}},
                           {{"containerID", 1}, {"hostID", 300000}, {"size", 65536}}});
  b.config["linux"]["uidMappings"] = maps;
  b.config["linux"]["gidMappings"] = maps;
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("uidMappings"), std::string::npos) << r.err;
  }
  EXPECT_EQ(b.status(), "");
}

}  // namespace
}  // namespace berth::test
