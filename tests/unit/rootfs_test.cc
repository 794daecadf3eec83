// prepare_rootfs / enter_rootfs / finalize_rootfs for real, as root. Each test
// forks a child that unshares its mount (and UTS, IPC) namespace and makes "/"
// private before anything else, so no mount reaches the host: the mounts die
// with the child. The child checks what a container would see and reports
// failures through a pipe; the parent removes the temporary bundle.
#include "runtime/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "runtime/cgroup.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

// Failures collected in the child (no gtest assertions there: it _exits).
struct Checks {
  std::string failures;
  void expect(bool ok, const std::string& what) {
    if (!ok) failures += what + "\n";
  }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

long fs_type(const std::string& path) {
  struct statfs s {};
  return ::statfs(path.c_str(), &s) == 0 ? static_cast<long>(s.f_type) : -1;
}

bool mount_readonly(const std::string& path) {
  struct statvfs s {};
  return ::statvfs(path.c_str(), &s) == 0 && (s.f_flag & ST_RDONLY);
}

unsigned long mount_flags(const std::string& path) {
  struct statvfs s {};
  return ::statvfs(path.c_str(), &s) == 0 ? s.f_flag : 0;
}

std::string link_of(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string("<") + std::strerror(errno) + ">" : std::string(buf, static_cast<size_t>(n));
}

// Runs `body` in a child with its own mount, UTS and IPC namespaces; returns
// the child's failure text ("" when all went well).
std::string in_child(const std::function<void(Checks&)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    Checks c;
    // Never touch the host's mounts: stop right here if the namespace is not ours.
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) < 0 ||
        ::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0) {
      c.failures = std::string("unshare/make-private: ") + std::strerror(errno);
    } else {
      body(c);
    }
    (void)!::write(fds[1], c.failures.data(), c.failures.size());
    ::_exit(c.failures.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) out += "child died with status " + std::to_string(status);
  else if (WEXITSTATUS(status) != 0 && out.empty()) out = "child failed without a message";
  return out;
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/berth-test-rootfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = tmpl;
    rootfs_ = bundle_ + "/rootfs";
    for (const char* d : {"bin", "proc", "sys", "dev", "etc", "tmp", "data"}) fs::create_directories(rootfs_ + "/" + d);
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    std::ofstream(rootfs_ + "/tmp/seed") << "seed";
    fs::create_directories(bundle_ + "/volume");
    std::ofstream(bundle_ + "/volume/file") << "volume";
    std::ofstream(bundle_ + "/hostfile") << "hostfile";
    opts_.rootfs = rootfs_;
    opts_.bundle = bundle_;
  }
  void TearDown() override {
    if (bundle_.empty()) return;
    std::error_code ec;
    fs::remove_all(bundle_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  static oci::Mount mount(std::string dest, std::string type, std::string source, std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
  }

  // runc's default mounts.
  oci::Spec base_spec() {
    oci::Spec spec;
    spec.root = oci::Root{"rootfs", false};
    spec.mounts = {
        mount("/proc", "proc", "proc", {}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
        mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
    };
    spec.linux.emplace();
    return spec;
  }

  std::string bundle_, rootfs_;
  RootfsOptions opts_;
};

TEST_F(RootfsTest, FullContainerView) {
  oci::Spec spec = base_spec();
  spec.root->readonly = true;
  spec.process.emplace();
  spec.process->cwd = "/home/berth-test/cwd";
  spec.hostname = "berth-test-host";
  spec.domainname = "berth-test-domain";
  spec.mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  spec.mounts.push_back(mount("/data", "bind", bundle_ + "/volume", {"rbind", "ro", "nosuid"}));
  spec.mounts.push_back(mount("/etc/hostfile", "none", "hostfile", {"bind"}));  // relative: from the bundle
  spec.mounts.push_back(mount("/tmp", "tmpfs", "tmpfs", {"tmpcopyup", "mode=1777"}));
  spec.mounts.push_back(mount("/ro-tmpfs", "tmpfs", "tmpfs", {"ro", "mode=755"}));
  spec.mounts.push_back(mount("/ro-tmpfs/inner", "tmpfs", "tmpfs", {"rprivate"}));
  oci::Device dev;
  dev.type = "c";
  dev.path = "/dev/berth-test-null";
  dev.major = 1;
  dev.minor = 3;
  dev.file_mode = 0640;
  dev.uid = 1;
  dev.gid = 2;
  spec.linux->devices.push_back(dev);
  spec.linux->sysctl = {{"kernel.shmmax", "12345678"}};
  spec.linux->masked_paths = {"/proc/keys", "/proc/acpi", "/proc/kcore", "/proc/no-such-file", "/sys/firmware"};
  spec.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger", "/proc/cmdline", "/proc/fs", "/proc/no-such-dir"};

  auto layout = cgroup::detect_layout();
  ASSERT_TRUE(layout) << layout.error().what();
  opts_.cgroup_layout = &*layout;
  const bool host_kcore = ::access("/proc/kcore", F_OK) == 0;

  std::string failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    if (auto r = enter_rootfs(opts_); !r) return c.expect(false, "enter: " + r.error().what());
    if (auto r = finalize_rootfs(spec); !r) return c.expect(false, "finalize: " + r.error().what());

    char cwd[256] = {};
    c.expect(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is not /");
    c.expect(::access("/bin/busybox", X_OK) == 0, "/bin/busybox missing");
    c.expect(!fs::exists(bundle_), "the host's bundle path is visible inside");
    c.expect(fs::is_directory("/home/berth-test/cwd"), "process.cwd was not created");
    // Root and the default filesystems.
    c.expect(mount_readonly("/"), "/ is not read-only");
    c.expect(::mkdir("/newdir", 0755) < 0 && errno == EROFS, "mkdir in a read-only root did not fail with EROFS");
    c.expect(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is not procfs");
    c.expect(fs_type("/sys") == SYSFS_MAGIC, "/sys is not sysfs");
    c.expect(mount_readonly("/sys"), "/sys is not read-only");
    c.expect(fs_type("/dev") == TMPFS_MAGIC, "/dev is not a tmpfs");
    c.expect((mount_flags("/dev") & ST_NOSUID) && !mount_readonly("/dev"), "/dev flags wrong");
    c.expect(fs_type("/dev/pts") == DEVPTS_SUPER_MAGIC, "/dev/pts is not devpts");
    c.expect(fs_type("/dev/shm") == TMPFS_MAGIC, "/dev/shm is not a tmpfs");
    c.expect((mount_flags("/dev/shm") & (ST_NOEXEC | ST_NODEV | ST_NOSUID)) == (ST_NOEXEC | ST_NODEV | ST_NOSUID),
             "/dev/shm flags wrong");
    struct stat st {};
    c.expect(::stat("/dev/shm", &st) == 0 && (st.st_mode & 07777) == 01777, "/dev/shm mode is not 1777");
    c.expect(fs_type("/dev/mqueue") == MQUEUE_MAGIC, "/dev/mqueue is not mqueue");
    // Devices.
    for (auto [path, minor] : {std::pair{"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/full", 7}, {"/dev/random", 8},
                               {"/dev/urandom", 9}}) {
      c.expect(::lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
                   static_cast<int>(minor(st.st_rdev)) == minor && (st.st_mode & 07777) == 0666 && st.st_uid == 0,
               std::string(path) + " is not the right device node");
    }
    c.expect(::lstat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 5, "/dev/tty wrong");
    c.expect(::lstat("/dev/berth-test-null", &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0640 &&
                 st.st_uid == 1 && st.st_gid == 2,
             "config device: wrong mode or owner");
    c.expect(link_of("/dev/ptmx") == "pts/ptmx", "/dev/ptmx -> " + link_of("/dev/ptmx"));
    c.expect(link_of("/dev/fd") == "/proc/self/fd", "/dev/fd -> " + link_of("/dev/fd"));
    c.expect(link_of("/dev/stdin") == "/proc/self/fd/0", "/dev/stdin wrong");
    c.expect(link_of("/dev/stdout") == "/proc/self/fd/1", "/dev/stdout wrong");
    c.expect(link_of("/dev/stderr") == "/proc/self/fd/2", "/dev/stderr wrong");
    c.expect(host_kcore == (::lstat("/dev/core", &st) == 0), "/dev/core presence does not match /proc/kcore");
    // Config mounts.
    c.expect(read_text("/data/file") == "volume", "/data/file content");
    c.expect(mount_readonly("/data") && (mount_flags("/data") & ST_NOSUID), "/data is not ro,nosuid");
    c.expect(read_text("/etc/hostfile") == "hostfile", "/etc/hostfile content");
    c.expect(fs_type("/tmp") == TMPFS_MAGIC && read_text("/tmp/seed") == "seed", "tmpcopyup did not copy /tmp/seed");
    c.expect(::stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777, "/tmp mode");
    c.expect(::mkdir("/tmp/x", 0755) == 0, "/tmp not writable");
    c.expect(mount_readonly("/ro-tmpfs") && fs_type("/ro-tmpfs") == TMPFS_MAGIC, "/ro-tmpfs is not a ro tmpfs");
    c.expect(fs_type("/ro-tmpfs/inner") == TMPFS_MAGIC && !mount_readonly("/ro-tmpfs/inner"),
             "a mount inside a read-only tmpfs is missing");
    // cgroups (hybrid here: a ro tmpfs of v1 hierarchies plus "unified").
    if (layout->mode == cgroup::Mode::v2) {
      c.expect(fs_type("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC, "/sys/fs/cgroup is not cgroup2");
    } else {
      c.expect(fs_type("/sys/fs/cgroup") == TMPFS_MAGIC && mount_readonly("/sys/fs/cgroup"),
               "/sys/fs/cgroup is not a read-only tmpfs");
      for (const auto& h : layout->hierarchies) {
        std::string p = "/sys/fs/cgroup/" + fs::path(h.mount_point).filename().string();
        long want = h.unified ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC;
        c.expect(fs_type(p) == want, p + " is not a cgroup mount");
        c.expect(mount_readonly(p), p + " is not read-only");
      }
    }
    // maskedPaths, readonlyPaths, sysctl, hostname.
    c.expect(::stat("/proc/keys", &st) == 0 && S_ISCHR(st.st_mode) && read_text("/proc/keys").empty(),
             "/proc/keys is not masked");
    c.expect(fs_type("/proc/acpi") == TMPFS_MAGIC && mount_readonly("/proc/acpi") && fs::is_empty("/proc/acpi"),
             "/proc/acpi is not masked by an empty ro tmpfs");
    c.expect(fs_type("/sys/firmware") == TMPFS_MAGIC, "/sys/firmware is not masked");
    c.expect(mount_readonly("/proc/sys"), "/proc/sys is not read-only");
    c.expect(mount_readonly("/proc/cmdline"), "/proc/cmdline (a file) is not read-only");
    c.expect(mount_readonly("/proc/fs") && fs_type("/proc/fs") == PROC_SUPER_MAGIC, "/proc/fs is not read-only");
    c.expect(!mount_readonly("/proc"), "/proc became read-only");
    c.expect(read_text("/proc/sys/kernel/shmmax") == "12345678\n",
             "sysctl kernel.shmmax = " + read_text("/proc/sys/kernel/shmmax"));
    char host[64] = {};
    ::gethostname(host, sizeof host);
    c.expect(std::string(host) == "berth-test-host", std::string("hostname is ") + host);
    char domain[64] = {};
    ::getdomainname(domain, sizeof domain);
    c.expect(std::string(domain) == "berth-test-domain", std::string("domainname is ") + domain);
  });
  EXPECT_EQ(failures, "");
  // Nothing leaked to the host.
  EXPECT_NE(fs_type(rootfs_ + "/proc"), PROC_SUPER_MAGIC);
  EXPECT_NE(fs_type(rootfs_ + "/dev"), TMPFS_MAGIC);
}

TEST_F(RootfsTest, CgroupMountWithCgroupNamespace) {
  oci::Spec spec = base_spec();
  spec.mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev"}));
  auto layout = cgroup::detect_layout();
  ASSERT_TRUE(layout) << layout.error().what();
  opts_.cgroup_layout = &*layout;
  opts_.new_cgroup_ns = true;
  std::string failures = in_child([&](Checks& c) {
    if (::unshare(CLONE_NEWCGROUP) < 0) return c.expect(false, "unshare(CLONE_NEWCGROUP) failed");
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    if (auto r = enter_rootfs(opts_); !r) return c.expect(false, "enter: " + r.error().what());
    std::string mi = read_text("/proc/self/mountinfo");
    for (const auto& h : layout->hierarchies) {
      std::string p = "/sys/fs/cgroup/" + fs::path(h.mount_point).filename().string();
      long want = h.unified ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC;
      c.expect(fs_type(p) == want, p + " is not a cgroup mount");
      c.expect(!mount_readonly(p), p + " is read-only without \"ro\"");
      // A fresh mount in the namespace: rooted at "/", never at a host path.
      c.expect(mi.find(" / " + p + " ") != std::string::npos, p + " is not rooted at the namespace:\n" + mi);
    }
    // This process is at the root of its cgroup namespace.
    c.expect(read_text("/proc/self/cgroup").find(":/\n") != std::string::npos, "not at the namespace root");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, NoPivotAndPropagation) {
  oci::Spec spec = base_spec();
  spec.linux->rootfs_propagation = "private";
  opts_.no_pivot = true;
  std::string failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    if (auto r = enter_rootfs(opts_); !r) return c.expect(false, "enter: " + r.error().what());
    if (auto r = finalize_rootfs(spec); !r) return c.expect(false, "finalize: " + r.error().what());
    c.expect(::access("/bin/busybox", X_OK) == 0, "/bin/busybox missing");
    c.expect(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is not procfs");
    c.expect(::access("/dev/null", F_OK) == 0, "/dev/null missing");
    std::string mi = read_text("/proc/self/mountinfo");
    c.expect(mi.find(" / / ") != std::string::npos || mi.find(" / ") != std::string::npos, "no root in mountinfo");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, SharedRootfsPropagation) {
  oci::Spec spec = base_spec();
  spec.linux->rootfs_propagation = "shared";
  std::string failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    if (auto r = enter_rootfs(opts_); !r) return c.expect(false, "enter: " + r.error().what());
    if (auto r = finalize_rootfs(spec); !r) return c.expect(false, "finalize: " + r.error().what());
    // "/" is a shared mount now: its mountinfo line carries "shared:N".
    std::string mi = read_text("/proc/self/mountinfo");
    std::istringstream in(mi);
    std::string line;
    bool shared_root = false;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string id, parent, dev, root, point;
      f >> id >> parent >> dev >> root >> point;
      if (point == "/") shared_root = line.find("shared:") != std::string::npos;
    }
    c.expect(shared_root, "/ is not shared:\n" + mi);
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, UserNamespaceDevicesAreBindMounts) {
  oci::Spec spec = base_spec();
  opts_.new_user_ns = true;  // we are root in the initial namespace, but take the bind path
  std::string failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    struct stat st {};
    std::string null = rootfs_ + "/dev/null";
    c.expect(::stat(null.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
                 minor(st.st_rdev) == 3,
             "/dev/null is not the host's null device");
    struct stat host {};
    ::stat("/dev/null", &host);
    c.expect(st.st_ino == host.st_ino && st.st_dev == host.st_dev, "/dev/null is not a bind of the host's node");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, SymlinkDestinationsStayInside) {
  // /escape -> ../../../../<bundle>/outside: resolved in the rootfs, not on the host.
  fs::create_directories(bundle_ + "/outside");
  fs::create_directories(rootfs_ + bundle_ + "/outside");
  fs::create_symlink("../../../../../../.." + bundle_ + "/outside", rootfs_ + "/escape");
  oci::Spec spec = base_spec();
  spec.mounts.push_back(mount("/escape/sub", "tmpfs", "tmpfs", {}));
  std::string failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(spec, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    c.expect(!fs::exists(bundle_ + "/outside/sub"), "the mount escaped the rootfs");
    c.expect(fs_type(rootfs_ + bundle_ + "/outside/sub") == TMPFS_MAGIC, "the tmpfs is not inside the rootfs");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, ProcOnSymlinkRefused) {
  fs::remove(rootfs_ + "/proc");
  fs::create_symlink("/etc", rootfs_ + "/proc");
  oci::Spec spec = base_spec();
  std::string failures = in_child([&](Checks& c) {
    auto r = prepare_rootfs(spec, opts_);
    c.expect(!r, "proc mounted on a symlink");
    if (!r) c.expect(r.error().what().find("symlink") != std::string::npos, "unclear error: " + r.error().what());
    c.expect(fs_type(rootfs_ + "/etc") != PROC_SUPER_MAGIC, "proc landed on the symlink's target");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, ProcSubdirectoryDestinationRefused) {
  oci::Spec spec = base_spec();
  spec.mounts.push_back(mount("/proc/self", "tmpfs", "tmpfs", {}));
  std::string failures = in_child([&](Checks& c) {
    auto r = prepare_rootfs(spec, opts_);
    c.expect(!r, "a tmpfs over /proc/self was accepted");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsTest, BadInputsFailClearly) {
  oci::Spec spec = base_spec();
  oci::Mount idmapped = mount("/data", "bind", bundle_ + "/volume", {"rbind", "idmap"});
  spec.mounts.push_back(idmapped);
  // "idmap" alone takes the container's mappings, and this config has none.
  auto trees = prepare_idmapped_mounts(spec, bundle_);
  ASSERT_FALSE(trees.has_value());
  EXPECT_NE(trees.error().what().find("mount \"/data\""), std::string::npos) << trees.error().what();
  EXPECT_NE(trees.error().what().find("linux.uidMappings"), std::string::npos) << trees.error().what();
  // The init never mounts one the runtime did not prepare.
  std::string failures = in_child([&](Checks& c) {
    auto r = prepare_rootfs(spec, opts_);
    c.expect(!r && r.error().what().find("not prepared") != std::string::npos,
             "idmapped mount: " + (r ? std::string("accepted") : r.error().what()));
  });
  EXPECT_EQ(failures, "");

  oci::Spec bad = base_spec();
  bad.linux->sysctl = {{"kernel..shmmax", "1"}};
  failures = in_child([&](Checks& c) {
    if (auto r = prepare_rootfs(bad, opts_); !r) return c.expect(false, "prepare: " + r.error().what());
    if (auto r = enter_rootfs(opts_); !r) return c.expect(false, "enter: " + r.error().what());
    auto r = finalize_rootfs(bad);
    c.expect(!r && r.error().what().find("kernel..shmmax") != std::string::npos,
             "sysctl with \"..\": " + (r ? std::string("accepted") : r.error().what()));
  });
  EXPECT_EQ(failures, "");

  oci::Spec prop = base_spec();
  prop.linux->rootfs_propagation = "sharde";
  failures = in_child([&](Checks& c) {
    auto r = prepare_rootfs(prop, opts_);
    c.expect(!r && r.error().what().find("rootfsPropagation") != std::string::npos, "bad rootfsPropagation accepted");
  });
  EXPECT_EQ(failures, "");
}

}  // namespace
}  // namespace berth::runtime
