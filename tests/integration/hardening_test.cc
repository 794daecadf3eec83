// Regression tests for runtime CVEs, for `run` and `exec` alike. Each attack
// is replayed against the runtime and the host checked afterwards; the
// comment of each test says what it would catch if the fix were removed.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

std::vector<int> fd_numbers(const json& j) {
  std::vector<int> seen;
  for (auto& f : j["fds"]) seen.push_back(f["fd"]);
  return seen;
}

int open_dir(const std::string& path) { return open(path.c_str(), O_RDONLY | O_DIRECTORY); }

// The freezer of a container made with cgroupsPath "/<id>": v1 freezer.state
// or v2 cgroup.freeze.
struct Freezer {
  std::string file, frozen, thawed, procs;
  explicit Freezer(const std::string& cgroup) {
    if (fs::exists("/sys/fs/cgroup/freezer")) {
      file = "/sys/fs/cgroup/freezer" + cgroup + "/freezer.state";
      frozen = "FROZEN";
      thawed = "THAWED";
      procs = "/sys/fs/cgroup/freezer" + cgroup + "/cgroup.procs";
    } else {
      file = "/sys/fs/cgroup" + cgroup + "/cgroup.freeze";
      frozen = "1";
      thawed = "0";
      procs = "/sys/fs/cgroup" + cgroup + "/cgroup.procs";
    }
  }
  void freeze() { write_file(file, frozen); }
  void thaw() { write_file(file, thawed); }
  std::set<int> pids() {
    std::set<int> out;
    std::istringstream in(read_file(procs));
    for (int p; in >> p;) out.insert(p);
    return out;
  }
};

// CVE-2019-5736: a process of the container that opens /proc/<pid>/exe of a
// runtime process entering the container (here: during `exec`) and reopens it
// for writing after the runtime is gone must not reach the host's binary.
// The exec'd process is caught before its execve by freezing the container's
// cgroup, which it joins first. Without the read-only image (exe_guard) its
// exe is the host binary itself and the write succeeds.
TEST(Hardening, ExecProcessExeIsNotTheHostBinary) {
  SKIP_ON_RUNC("runc 1.1's `runc init` joins the cgroup before it re-executes itself from a sealed memfd "
               "(still outside the container's namespaces then), so the frozen process runs the host binary");
  Bundle b;
  b.config["linux"]["cgroupsPath"] = "/" + b.id;
  b.checker_args({"sleep", "60"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int init = (*b.state())["pid"];
  Freezer fr("/" + b.id);
  fr.freeze();
  Spawned exec({runtime_path(), "--root", b.root, "exec", "--ignore-paused", b.id, "/bin/true"});
  int caught = 0;
  EXPECT_TRUE(eventually([&] {
    for (int p : fr.pids())
      if (p != init) caught = p;
    return caught != 0;
  })) << "the exec'd process never appeared in the frozen cgroup";
  std::string real = fs::canonical(runtime_path()).string();
  struct stat host {};
  ASSERT_EQ(stat(real.c_str(), &host), 0);
  int held = -1;
  if (caught) {
    std::string exe = "/proc/" + std::to_string(caught) + "/exe";
    struct stat st {};
    ASSERT_EQ(stat(exe.c_str(), &st), 0);
    EXPECT_FALSE(st.st_dev == host.st_dev && st.st_ino == host.st_ino)
        << "the process entering the container runs the host's runtime binary " << real;
    held = open(exe.c_str(), O_PATH | O_CLOEXEC);
    EXPECT_GE(held, 0);
  }
  fr.thaw();
  auto r = exec.wait();
  EXPECT_EQ(r.status, 0) << r.describe();
  if (held >= 0) {
    // The runtime has exited: only an image of it that is read-only resists.
    int w = open(("/proc/self/fd/" + std::to_string(held)).c_str(), O_WRONLY | O_CLOEXEC);
    EXPECT_LT(w, 0) << "the runtime's image could be opened for writing";
    if (w >= 0) close(w);
    close(held);
  }
  struct stat after {};
  ASSERT_EQ(stat(real.c_str(), &after), 0);
  EXPECT_EQ(host.st_mtime, after.st_mtime);
  EXPECT_EQ(host.st_size, after.st_size);
}

// CVE-2024-21626 (run): an fd of a host directory that reaches the container's
// init (the runtime's own, or one its caller leaked) and a process.cwd of
// /proc/self/fd/N would put the process's cwd outside its root. The run must
// fail, or the cwd must be a path inside the container.
TEST(Hardening, RunCwdThroughLeakedFdStaysInside) {
  std::string host_dir = "/var/tmp";
  int leaked = open_dir(host_dir);
  ASSERT_GE(leaked, 0);
  for (int n = 3; n <= 10; ++n) {
    Bundle b;
    b.config["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
    b.checker_args({"all"});
    CmdOptions o;
    o.extra_fds = {leaked};  // fd 3 of the runtime, not passed on with --preserve-fds
    auto r = b.run({}, o);
    if (r.status != 0) continue;
    auto j = parse_checker(r.out);
    std::string cwd = j.value("cwd", "");
    EXPECT_TRUE(!cwd.empty() && cwd[0] == '/') << "fd " << n << ": cwd outside the container's root: " << r.describe();
  }
  close(leaked);
}

// CVE-2024-21626 (exec): the same through --cwd; the exec'd process closes
// every fd but its own before it enters the cwd, and checks where it landed.
TEST(Hardening, ExecCwdThroughLeakedFdStaysInside) {
  Bundle b;
  b.checker_args({"sleep", "60"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int leaked = open_dir("/var/tmp");
  ASSERT_GE(leaked, 0);
  for (int n = 3; n <= 10; ++n) {
    CmdOptions o;
    o.extra_fds = {leaked};
    auto r = b.rt({"exec", "--cwd", "/proc/self/fd/" + std::to_string(n), b.id, "/bin/checker", "all"}, o);
    if (r.status != 0) continue;
    auto j = parse_checker(r.out);
    std::string cwd = j.value("cwd", "");
    EXPECT_TRUE(!cwd.empty() && cwd[0] == '/') << "fd " << n << ": cwd outside the container's root: " << r.describe();
  }
  close(leaked);
}

// The fds the container's processes hold: stdio plus what was passed on with
// --preserve-fds, nothing of the runtime's or its caller's.
TEST(Hardening, FdAllowListForInitAndExec) {
  Bundle b;
  int dir = open_dir("/var/tmp");
  int pipes[2];
  ASSERT_EQ(pipe(pipes), 0);
  CmdOptions o;
  o.extra_fds = {dir, pipes[0], pipes[1]};
  b.checker_args({"all"});
  auto r = b.run({"--preserve-fds", "1"}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(fd_numbers(parse_checker(r.out)), (std::vector<int>{0, 1, 2, 3})) << r.out;

  Bundle c;
  c.checker_args({"sleep", "60"});
  ASSERT_EQ(c.run({"--detach"}).status, 0);
  r = c.rt({"exec", c.id, "/bin/checker", "all"}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(fd_numbers(parse_checker(r.out)), (std::vector<int>{0, 1, 2})) << r.out;
  r = c.rt({"exec", "--preserve-fds", "2", c.id, "/bin/checker", "all"}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(fd_numbers(parse_checker(r.out)), (std::vector<int>{0, 1, 2, 3, 4})) << r.out;
  close(dir);
  close(pipes[0]);
  close(pipes[1]);
}

// CVE-2021-30465: a mount target swapped for a symlink to a host directory
// while the runtime works. A thread exchanges a directory and such a symlink
// as fast as it can during a series of runs; a runtime that checks a path and
// then mounts by path sooner or later mounts on the host directory.
TEST(Hardening, SymlinkSwappedUnderMountTarget) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  fs::create_directories(outside);
  write_file(outside + "/precious", "host data");
  fs::create_directories(b.rootfs + "/race/dir");
  fs::create_symlink(outside, b.rootfs + "/race/link");
  b.config["mounts"].push_back(
      {{"destination", "/race/dir"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=64k"}}});
  b.set_args({"/bin/sh", "-c", "echo x > /race/dir/written 2>/dev/null; true"});
  b.config["root"]["readonly"] = false;
  std::atomic<bool> stop{false};
  std::string dir = b.rootfs + "/race/dir", link = b.rootfs + "/race/link";
  std::thread swapper([&] {
    while (!stop) renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, link.c_str(), RENAME_EXCHANGE);
  });
  for (int i = 0; i < 25; ++i) {
    b.id = b.new_id("race" + std::to_string(i));
    b.run();
  }
  stop = true;
  swapper.join();
  EXPECT_TRUE(mounts_containing(outside).empty()) << "a mount landed on the host directory";
  EXPECT_EQ(read_file(outside + "/precious"), "host data");
  EXPECT_FALSE(fs::exists(outside + "/written")) << "the container wrote into the host directory";
}

// CVE-2019-19921 / CVE-2023-27561: /proc (and /sys) of the rootfs replaced by
// a symlink, in every form (absolute, relative, climbing), is refused: procfs
// mounted through it could land where the image chose.
TEST(Hardening, ProcReplacedBySymlinkRefused) {
  for (const std::string target : {"/fakeproc", "fakeproc", "../../fakeproc", "/"}) {
    Bundle b;
    fs::remove(b.rootfs + "/proc");
    fs::create_directories(b.rootfs + "/fakeproc");
    fs::create_symlink(target, b.rootfs + "/proc");
    auto r = b.run();
    EXPECT_NE(r.status, 0) << "/proc -> " << target << " must be refused: " << r.describe();
    EXPECT_TRUE(fs::is_empty(b.rootfs + "/fakeproc")) << target;
  }
}

TEST(Hardening, ProcSymlinkInsideABindMountRefused) {
  // The image cannot change /proc itself, but a volume mounted at / of a
  // path on the way could carry the symlink (runc 1.1.4's regression).
  Bundle b;
  std::string vol = b.dir + "/volume";
  fs::create_directories(vol + "/real");
  fs::create_symlink("/fakeproc", vol + "/proc");
  fs::create_directories(b.rootfs + "/fakeproc");
  fs::create_directories(b.rootfs + "/vol");
  b.config["mounts"].push_back({{"destination", "/vol"}, {"type", "bind"}, {"source", vol}, {"options", {"rbind"}}});
  b.config["mounts"].push_back({{"destination", "/vol/proc"}, {"type", "proc"}, {"source", "proc"}});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << "procfs on a symlink inside a volume must be refused: " << r.describe();
  EXPECT_TRUE(fs::is_empty(b.rootfs + "/fakeproc"));
}

// maskedPaths are resolved inside the container: a masked path that is a
// symlink to a host path masks nothing of the host and shows nothing of it.
TEST(Hardening, MaskedPathSymlinkDoesNotReachTheHost) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  fs::create_directories(outside);
  write_file(outside + "/precious", "host data");
  fs::create_symlink(outside, b.rootfs + "/evil");
  fs::create_symlink(outside + "/precious", b.rootfs + "/evil-file");
  b.config["linux"]["maskedPaths"].push_back("/evil");
  b.config["linux"]["maskedPaths"].push_back("/evil-file");
  b.checker_args({"ls", "/evil"});
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_EQ(r.out.find("precious"), std::string::npos) << "the host directory is visible: " << r.out;
  EXPECT_EQ(read_file(outside + "/precious"), "host data");
  EXPECT_TRUE(mounts_containing(outside).empty());
  // and the real masked paths stay masked
  b.config["linux"]["maskedPaths"].push_back("/proc/kcore");
  b.checker_args({"cat", "/proc/kcore"});
  b.id = b.new_id("kcore");
  r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(parse_checker(r.out)["content"], "") << r.out;
}

}  // namespace
}  // namespace berth::test
