// Cgroup managers against the real kernel, as root (skipped otherwise). Every
// cgroup made here is named "berth-test-<pid>..." and removed; the host's own
// cgroups are never written.
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "base/file.h"
#include "runtime/cgroup.h"

namespace berth::runtime::cgroup {
namespace {

std::string tag() { return "berth-test-" + std::to_string(::getpid()); }

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// Waits up to 5 s for `pid` to exit; its wait status, or -1.
int wait_exit(pid_t pid) {
  for (int i = 0; i < 5000; ++i) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return -1;
}

// A child that sleeps until killed; killed and reaped on scope exit.
struct Sleeper {
  pid_t pid = -1;
  Sleeper() {
    pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
  }
  ~Sleeper() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  int wait() {
    int s = wait_exit(pid);
    if (s != -1) pid = -1;
    return s;
  }
};

// Removes the listed directories (deepest first) whatever a test did.
struct DirCleanup {
  std::vector<std::string> dirs;
  ~DirCleanup() {
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& d : dirs) ::rmdir(d.c_str());
  }
};

// Every line of /proc/<pid>/cgroup ends with ":<path>" (hierarchies mounted with root "/").
std::string all_lines_at(pid_t pid, const std::string& path) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return text.error().what();
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    std::string line = text->substr(start, nl - start);
    start = nl == std::string::npos ? text->size() : nl + 1;
    if (line.empty()) continue;
    if (!line.ends_with(":" + path)) return "line \"" + line + "\" is not in " + path;
  }
  return {};
}

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto l = detect_layout();
    ASSERT_TRUE(l) << l.error().what();
    layout = *l;
  }
  Layout layout;
};

TEST_F(CgroupTest, DetectsThisHost) {
  ASSERT_FALSE(layout.hierarchies.empty());
  for (const auto& h : layout.hierarchies) {
    EXPECT_TRUE(exists(h.mount_point + "/cgroup.procs")) << h.mount_point;
    if (h.unified && layout.mode == Mode::hybrid) {
      EXPECT_EQ(h.mount_point, "/sys/fs/cgroup/unified");
    }
  }
  if (exists("/sys/fs/cgroup/unified/cgroup.procs")) {
    EXPECT_EQ(layout.mode, Mode::hybrid);
    EXPECT_TRUE(layout.hierarchies.back().unified);
    auto controllers = read_file("/sys/fs/cgroup/unified/cgroup.controllers");
    ASSERT_TRUE(controllers);
    if (*controllers == "hugetlb\n") {
      EXPECT_EQ(layout.hierarchies.back().controllers, std::vector<std::string>{"hugetlb"});
    }
  }
}

TEST_F(CgroupTest, AbsolutePathLifecycle) {
  std::string rel = "/" + tag() + "/c1";
  DirCleanup cleanup;
  for (const auto& h : layout.hierarchies) {
    cleanup.dirs.push_back(h.mount_point + rel);
    cleanup.dirs.push_back(h.mount_point + "/" + tag());
  }
  auto m = make_manager(layout, rel, "unused-id");
  ASSERT_TRUE(m) << m.error().what();
  auto paths = (*m)->paths();
  ASSERT_EQ(paths.size(), layout.hierarchies.size());
  for (const auto& h : layout.hierarchies) EXPECT_EQ(paths[h.mount_point], h.mount_point + rel);

  auto created = (*m)->create();
  ASSERT_TRUE(created) << created.error().what();
  for (const auto& [mp, dir] : paths) EXPECT_TRUE(exists(dir)) << dir;
  ASSERT_TRUE((*m)->create()) << "create is idempotent";

  Sleeper child;
  ASSERT_GT(child.pid, 0);
  auto added = (*m)->add_process(child.pid);
  ASSERT_TRUE(added) << added.error().what();
  EXPECT_EQ(all_lines_at(child.pid, rel), "");
  for (const auto& [mp, dir] : paths) {
    auto procs = read_file(dir + "/cgroup.procs");
    ASSERT_TRUE(procs) << procs.error().what();
    EXPECT_EQ(*procs, std::to_string(child.pid) + "\n") << dir;
  }
  auto pids = (*m)->pids();
  ASSERT_TRUE(pids) << pids.error().what();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid});

  pid_t dead = child.pid;
  auto sent = (*m)->signal_all(SIGKILL);
  ASSERT_TRUE(sent) << sent.error().what();
  int status = child.wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  // Errors name the file.
  auto late = (*m)->add_process(dead);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), ESRCH);
  EXPECT_NE(late.error().what().find("write \"" + paths[layout.hierarchies.front().mount_point] + "/cgroup.procs\""), std::string::npos)
      << late.error().what();

  auto destroyed = (*m)->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().what();
  for (const auto& [mp, dir] : paths) {
    EXPECT_FALSE(exists(dir)) << dir;
    EXPECT_TRUE(exists(mp + "/" + tag())) << "parents stay, as with runc";
  }
  EXPECT_TRUE((*m)->destroy()) << "a missing directory is fine";
}

TEST_F(CgroupTest, ReusesExistingDirsAndLoadsFromPaths) {
  std::string rel = "/" + tag() + "-reuse";
  DirCleanup cleanup;
  for (const auto& h : layout.hierarchies) {
    // Made by "someone else": a v1 cpuset cgroup made this way has empty cpus/mems.
    ASSERT_EQ(::mkdir((h.mount_point + rel).c_str(), 0755), 0) << h.mount_point + rel;
    cleanup.dirs.push_back(h.mount_point + rel);
  }
  auto m = make_manager(layout, rel, "x");
  ASSERT_TRUE(m) << m.error().what();
  auto created = (*m)->create();
  ASSERT_TRUE(created) << created.error().what();
  for (const auto& h : layout.hierarchies) {
    if (std::ranges::find(h.controllers, "cpuset") == h.controllers.end() || h.unified) continue;
    auto cpus = read_file(h.mount_point + rel + "/cpuset.cpus");
    ASSERT_TRUE(cpus);
    EXPECT_NE(*cpus, "\n") << "cpuset.cpus was copied from the parent";
  }

  Sleeper child;
  auto added = (*m)->add_process(child.pid);
  ASSERT_TRUE(added) << added.error().what();

  auto loaded = load_manager((*m)->paths());
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ((*loaded)->paths(), (*m)->paths());
  auto pids = (*loaded)->pids();
  ASSERT_TRUE(pids) << pids.error().what();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid});
  auto sent = (*loaded)->signal_all(SIGTERM);
  ASSERT_TRUE(sent) << sent.error().what();
  int status = child.wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  // Thawed again afterwards.
  for (const auto& [mp, dir] : (*m)->paths()) {
    if (auto state = read_file(dir + "/freezer.state")) {
      EXPECT_EQ(*state, "THAWED\n");
    }
  }
  auto destroyed = (*loaded)->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().what();
  for (const auto& [mp, dir] : (*m)->paths()) EXPECT_FALSE(exists(dir)) << dir;
}

// A manager loaded from the saved paths (start, exec, kill, delete) tells a
// hybrid host's unified hierarchy from the v1 ones as the made one does: it is
// the clone3 target, and has no "tasks" file to join.
TEST_F(CgroupTest, LoadedManagerMatchesTheMadeOne) {
  std::string rel = "/" + tag() + "-loaded";
  DirCleanup cleanup;
  for (const auto& h : layout.hierarchies) cleanup.dirs.push_back(h.mount_point + rel);
  auto m = make_manager(layout, rel, "x");
  ASSERT_TRUE(m) << m.error().what();
  auto loaded = load_manager((*m)->paths());
  ASSERT_TRUE(loaded) << loaded.error().what();
  auto made_files = (*m)->self_join_files();
  ASSERT_TRUE(made_files) << made_files.error().what();
  auto loaded_files = (*loaded)->self_join_files();
  ASSERT_TRUE(loaded_files) << loaded_files.error().what();
  std::ranges::sort(*made_files);  // the loaded manager lists by mount point
  std::ranges::sort(*loaded_files);
  EXPECT_EQ(*loaded_files, *made_files);
  for (const auto& f : *loaded_files) EXPECT_FALSE(f.starts_with("/sys/fs/cgroup/unified/")) << f;

  auto made_target = (*m)->open_clone_target();
  ASSERT_TRUE(made_target) << made_target.error().what();
  auto loaded_target = (*loaded)->open_clone_target();
  ASSERT_TRUE(loaded_target) << loaded_target.error().what();
  ASSERT_EQ(loaded_target->valid(), made_target->valid()) << "mode " << int(layout.mode);
  if (made_target->valid()) {
    struct stat a {}, b {};
    ASSERT_EQ(::fstat(made_target->get(), &a), 0);
    ASSERT_EQ(::fstat(loaded_target->get(), &b), 0);
    EXPECT_TRUE(a.st_dev == b.st_dev && a.st_ino == b.st_ino) << "not the same cgroup2 directory";
  }
  ASSERT_TRUE((*m)->create());
  auto made_stats = (*m)->stats();
  ASSERT_TRUE(made_stats) << made_stats.error().what();
  auto loaded_stats = (*loaded)->stats();
  ASSERT_TRUE(loaded_stats) << loaded_stats.error().what();
  EXPECT_EQ(loaded_stats->hugetlb.size(), made_stats->hugetlb.size());
  auto destroyed = (*loaded)->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().what();
}

TEST_F(CgroupTest, RelativePathIsBelowOwnCgroup) {
  std::string rel = tag() + "-rel/c1";
  DirCleanup cleanup;
  auto m = make_manager(layout, rel, "x");
  ASSERT_TRUE(m) << m.error().what();
  for (const auto& h : layout.hierarchies) {
    std::string own = h.self == "/" ? "" : h.self;
    if (layout.mode == Mode::v2) own = own.substr(0, own.find_last_of('/'));
    EXPECT_EQ((*m)->paths()[h.mount_point], h.mount_point + own + "/" + rel);
    cleanup.dirs.push_back(h.mount_point + own + "/" + rel);
    cleanup.dirs.push_back(h.mount_point + own + "/" + tag() + "-rel");
  }
  ASSERT_TRUE((*m)->create());
  Sleeper child;
  auto added = (*m)->add_process(child.pid);
  ASSERT_TRUE(added) << added.error().what();
  auto text = read_file("/proc/" + std::to_string(child.pid) + "/cgroup");
  ASSERT_TRUE(text);
  for (const auto& h : layout.hierarchies) {
    if (h.unified || h.controllers.empty()) continue;
    std::string own = h.self == "/" ? "" : h.self;
    EXPECT_NE(text->find(":" + own + "/" + rel + "\n"), std::string::npos) << *text;
  }
  ASSERT_TRUE((*m)->signal_all(SIGKILL));
  EXPECT_NE(child.wait(), -1);
  auto destroyed = (*m)->destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().what();
}

// Kills a process group of ours and reaps everything on scope exit.
struct GroupReaper {
  pid_t leader = -1;
  ~GroupReaper() {
    if (leader > 0) ::kill(-leader, SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0 || (leader > 0 && ::kill(-leader, 0) == 0)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
};

TEST_F(CgroupTest, SignalAllCatchesForkingTasks) {
  std::string rel = "/" + tag() + "-fork";
  DirCleanup cleanup;
  for (const auto& h : layout.hierarchies) cleanup.dirs.push_back(h.mount_point + rel);
  auto m = make_manager(layout, rel, "x");
  ASSERT_TRUE(m) << m.error().what();
  ASSERT_TRUE((*m)->create());
  // Orphaned grandchildren come to us, so we can reap them.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  GroupReaper reaper;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t forker = ::fork();
  if (forker == 0) {
    ::setpgid(0, 0);
    ::close(go[1]);
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(1);
    // Keeps forking children that live on.
    for (;;) {
      pid_t p = ::fork();
      if (p == 0) {
        for (;;) ::pause();
      }
      if (p < 0) ::usleep(1000);
    }
  }
  ::setpgid(forker, forker);
  reaper.leader = forker;
  ::close(go[0]);
  auto added = (*m)->add_process(forker);
  if (!added) ::close(go[1]);
  ASSERT_TRUE(added) << added.error().what();
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto before = (*m)->pids();
  ASSERT_TRUE(before) << before.error().what();
  EXPECT_GT(before->size(), 1u) << "the forker has forked";
  auto sent = (*m)->signal_all(SIGKILL);
  EXPECT_TRUE(sent) << sent.error().what();
  // Everything in the cgroup dies: reap until it is empty.
  bool empty = false;
  for (int i = 0; i < 3000 && !empty; ++i) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    auto pids = (*m)->pids();
    empty = pids && pids->empty();
    if (!empty) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(empty);
  auto destroyed = (*m)->destroy();
  EXPECT_TRUE(destroyed) << destroyed.error().what();
}

// Runs `fn` in a forked child (its own mount namespace is up to fn); its
// returned text is the failure, "" for success.
std::string run_in_child(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe(p) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string err = fn();
    if (!err.empty()) (void)!::write(p[1], err.data(), err.size());
    _exit(err.empty() ? 0 : 1);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    out = "child failed with status " + std::to_string(status);
  return out;
}

#define CHECK_OR(cond, msg) \
  if (!(cond)) return std::string(msg)
#define CHECK_OK(r) \
  if (!(r)) return std::string(#r ": ") + (r).error().what()

// The full cycle of a manager: create, add a sleeper, list, kill, destroy.
std::string cycle(Manager& m, int sig) {
  auto created = m.create();
  CHECK_OK(created);
  Sleeper child;
  auto added = m.add_process(child.pid);
  CHECK_OK(added);
  auto pids = m.pids();
  CHECK_OK(pids);
  CHECK_OR(*pids == std::vector<pid_t>{child.pid}, "pids() does not list the child");
  auto sent = m.signal_all(sig);
  CHECK_OK(sent);
  int status = child.wait();
  CHECK_OR(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig, "child not killed by the signal");
  auto destroyed = m.destroy();
  CHECK_OK(destroyed);
  for (const auto& [mp, dir] : m.paths()) CHECK_OR(!exists(dir), dir + " still exists");
  return {};
}

std::string private_mounts() {
  if (::unshare(CLONE_NEWNS) < 0) return "unshare(CLONE_NEWNS) failed";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return "make / private failed";
  return {};
}

TEST_F(CgroupTest, PureV1View) {
  if (layout.mode != Mode::hybrid) GTEST_SKIP() << "simulates v1 from a hybrid host";
  std::string rel = "/" + tag() + "-v1";
  DirCleanup cleanup;  // in case the child dies half-way
  for (const auto& h : layout.hierarchies) {
    cleanup.dirs.push_back(h.mount_point + rel + "/c1");
    cleanup.dirs.push_back(h.mount_point + rel);
  }
  std::string err = run_in_child([&]() -> std::string {
    if (auto e = private_mounts(); !e.empty()) return e;
    // What the benchmark does for crun.
    if (::umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0) return "umount /sys/fs/cgroup/unified failed";
    auto l = detect_layout();
    CHECK_OK(l);
    CHECK_OR(l->mode == Mode::v1, "layout is not v1");
    for (const auto& h : l->hierarchies) CHECK_OR(!h.unified, "a unified hierarchy in a v1 layout");
    CHECK_OR(l->hierarchies.size() + 1 == layout.hierarchies.size(), "lost a v1 hierarchy");
    auto m = make_manager(*l, rel + "/c1", "x");
    CHECK_OK(m);
    CHECK_OR(!(*m)->paths().contains("/sys/fs/cgroup/unified"), "the unified mount is used");
    if (auto e = cycle(**m, SIGKILL); !e.empty()) return e;
    return {};
  });
  EXPECT_EQ(err, "");
}

TEST_F(CgroupTest, V2ManagerOnAPrivateCgroup2Mount) {
  std::string rel = "/" + tag() + "-v2";
  char tmpl[] = "/tmp/berth-test-cg2-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string mnt = tmpl;
  // The same hierarchy is visible at the host's own cgroup2 mount, if any: clean there too.
  DirCleanup cleanup;
  for (const auto& h : layout.hierarchies)
    if (h.unified) {
      cleanup.dirs.push_back(h.mount_point + rel + "/c1");
      cleanup.dirs.push_back(h.mount_point + rel);
      cleanup.dirs.push_back(h.mount_point + "/" + tag() + "-v2rel");
    }
  std::string err = run_in_child([&]() -> std::string {
    if (auto e = private_mounts(); !e.empty()) return e;
    if (::mount("none", mnt.c_str(), "cgroup2", 0, nullptr) < 0) return "mount cgroup2 failed";
    Layout l{.mode = Mode::v2,
             .hierarchies = {Hierarchy{.mount_point = mnt, .root = "/", .controllers = {}, .unified = true, .self = "/"}}};
    auto m = make_manager(l, rel + "/c1", "x");
    CHECK_OK(m);
    auto paths = (*m)->paths();
    CHECK_OR(paths.size() == 1 && paths[mnt] == mnt + rel + "/c1", "wrong v2 path");
    // SIGTERM goes through cgroup.freeze, SIGKILL through cgroup.kill.
    if (auto e = cycle(**m, SIGTERM); !e.empty()) return "SIGTERM: " + e;
    auto loaded = load_manager(paths);
    CHECK_OK(loaded);
    if (auto e = cycle(**loaded, SIGKILL); !e.empty()) return "SIGKILL: " + e;
    // Relative: below the parent of the own cgroup ("/" here).
    auto r = make_manager(l, "berth-test-" + std::to_string(::getppid()) + "-v2rel", "x");
    CHECK_OK(r);
    CHECK_OR((*r)->paths()[mnt] == mnt + "/berth-test-" + std::to_string(::getppid()) + "-v2rel", "wrong relative");
    if (auto e = cycle(**r, SIGKILL); !e.empty()) return "relative: " + e;
    ::rmdir((mnt + rel).c_str());
    return {};
  });
  ::rmdir(mnt.c_str());
  EXPECT_EQ(err, "");
}

}  // namespace
}  // namespace berth::runtime::cgroup
