// build_spec over a fake image config and a temp rootfs: docker's rules for
// args, env, user, workdir; capabilities, privileged, read-only, ulimits,
// resources, mounts and volume paths, shared namespaces, --init, seccomp;
// every built spec passes the runtime-spec validation. Also its time.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/spec_builder.h"
#include "oci/config.h"
#include "spec_test_util.h"

namespace berth::engine {
namespace {

using testing::TempRootfs;

std::string err(const auto& r) { return r ? std::string("<ok>") : r.error().what(); }

class BuildSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_.write_users();
    image_.config.entrypoint = {"/ep"};
    image_.config.cmd = {"a"};
  }
  Result<oci::Spec> build() {
    SpecInputs in{.id = "0123456789abcdef0123", .options = &options_, .image = &image_, .rootfs = fs_.rootfs(),
                  .userdata = fs_.userdata(), .namespaces = namespaces_, .volume_paths = volume_paths_,
                  .init_path = init_path_};
    auto s = build_spec(in);
    if (s) {
      auto v = oci::validate(*s);
      EXPECT_TRUE(v) << v.error().what();
    }
    return s;
  }
  const oci::Mount* mount(const oci::Spec& s, std::string_view dst) {
    auto it = std::ranges::find(s.mounts, dst, &oci::Mount::destination);
    return it == s.mounts.end() ? nullptr : &*it;
  }
  static bool has(const std::vector<std::string>& v, std::string_view x) { return std::ranges::find(v, x) != v.end(); }

  TempRootfs fs_;
  RunOptions options_;
  oci::ImageConfig image_;
  SharedNamespaces namespaces_;
  std::map<std::string, std::string> volume_paths_;
  std::string init_path_ = "/usr/bin/catatonit";
};

TEST_F(BuildSpec, EntrypointAndCmd) {
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"/ep", "a"}));
  options_.command = {"b", "c"};
  EXPECT_EQ(build()->process->args, (std::vector<std::string>{"/ep", "b", "c"}));
  options_.entrypoint = std::vector<std::string>{"/x"};  // replaces the image's Cmd too
  options_.command = {};
  EXPECT_EQ(build()->process->args, (std::vector<std::string>{"/x"}));
  options_.command = {"c"};
  EXPECT_EQ(build()->process->args, (std::vector<std::string>{"/x", "c"}));
  options_.entrypoint = std::vector<std::string>{""};  // --entrypoint "" clears it
  EXPECT_EQ(build()->process->args, (std::vector<std::string>{"c"}));
  options_.command = {};
  EXPECT_EQ(err(build()), "no command: the image has no Entrypoint or Cmd and none was given");
  options_.entrypoint.reset();
  image_.config.entrypoint = {};
  EXPECT_EQ(build()->process->args, (std::vector<std::string>{"a"}));
  image_.config.cmd = {};
  EXPECT_EQ(err(build()), "no command: the image has no Entrypoint or Cmd and none was given");
}

// crun 1.8 (Debian 12) refuses ociVersion "1.2.0"; the engine uses no 1.2 field.
TEST_F(BuildSpec, OciVersionIsOneEveryPeerRuntimeAccepts) {
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->oci_version, "1.1.0");
  EXPECT_FALSE(s->process->exec_cpu_affinity);
}

TEST_F(BuildSpec, EnvMergeOrder) {
  image_.config.env = {"PATH=/custom", "A=img", "B=img"};
  std::string env_file = fs_.dir() + "/env";
  std::ofstream(env_file) << "A=file\nC=file\n";
  options_.env_files = {env_file};
  options_.env = {"B=flag", "D=flag", "C=flag2"};
  options_.tty = true;
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->env,
            (std::vector<std::string>{"PATH=/custom", "HOSTNAME=0123456789ab", "TERM=xterm", "container=berth", "A=file",
                                      "B=flag", "C=flag2", "D=flag", "HOME=/root"}));
  EXPECT_TRUE(s->process->terminal);
  options_.env = {"HOME=/mine"};
  options_.tty = false;
  options_.hostname = "web";
  s = build();
  EXPECT_EQ(s->process->env, (std::vector<std::string>{"PATH=/custom", "HOSTNAME=web", "container=berth", "A=file",
                                                       "B=img", "C=file", "HOME=/mine"}));
  EXPECT_EQ(s->hostname, "web");
  options_.env_files = {fs_.dir() + "/missing"};
  EXPECT_EQ(err(build()), "--env-file " + fs_.dir() + "/missing: No such file or directory");
}

TEST_F(BuildSpec, DefaultPathWithoutImageEnv) {
  auto s = build();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->process->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(s->hostname, "0123456789ab");
}

TEST_F(BuildSpec, User) {
  image_.config.user = "bob";
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->user.uid, 1000u);
  EXPECT_EQ(s->process->user.gid, 1000u);
  EXPECT_EQ(s->process->user.additional_gids, (std::vector<uint32_t>{10, 29}));
  EXPECT_TRUE(has(s->process->env, "HOME=/home/bob"));
  options_.user = "4242:4343";  // -u over the image's User; numbers without entries
  s = build();
  EXPECT_EQ(s->process->user.uid, 4242u);
  EXPECT_EQ(s->process->user.gid, 4343u);
  EXPECT_TRUE(has(s->process->env, "HOME=/"));
  options_.user = "mallory";
  EXPECT_EQ(err(build()), "user \"mallory\": no such user in the image's /etc/passwd");
}

TEST_F(BuildSpec, WorkingDirCreated) {
  options_.user = "bob";
  image_.config.working_dir = "srv/app/";  // relative: from "/"
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->cwd, "/srv/app");
  struct stat st {};
  ASSERT_EQ(::stat((fs_.rootfs() + "/srv/app").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, 1000u);  // made for the user, as docker does
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  // An existing directory keeps its owner.
  fs_.write("/data/keep", "");
  options_.workdir = "/data";
  s = build();
  ASSERT_TRUE(s);
  ASSERT_EQ(::stat((fs_.rootfs() + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);

  // A symlink climbing out of the rootfs resolves inside it.
  std::filesystem::create_directories(fs_.dir() + "/outside");
  std::filesystem::create_symlink("../../../outside", fs_.rootfs() + "/link");
  options_.workdir = "/link/sub";
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->cwd, "/link/sub");
  EXPECT_FALSE(std::filesystem::exists(fs_.dir() + "/outside/sub"));
  EXPECT_TRUE(std::filesystem::is_directory(fs_.rootfs() + "/outside/sub"));

  // A dangling absolute symlink: its target is made inside the rootfs.
  std::filesystem::create_symlink(fs_.dir() + "/outside", fs_.rootfs() + "/abs");
  options_.workdir = "/abs/deep";
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_FALSE(std::filesystem::exists(fs_.dir() + "/outside/deep"));
  EXPECT_TRUE(std::filesystem::is_directory(fs_.rootfs() + fs_.dir() + "/outside/deep"));

  options_.workdir = "rel";
  EXPECT_EQ(err(build()), "-w rel: not an absolute path");
  fs_.write("/file", "");
  options_.workdir = "/file/sub";
  EXPECT_NE(err(build()).find("workdir /file/sub"), std::string::npos) << err(build());
}

TEST_F(BuildSpec, Capabilities) {
  auto s = build();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->process->capabilities->bounding, default_capabilities());
  EXPECT_EQ(s->process->capabilities->effective, default_capabilities());
  EXPECT_TRUE(s->process->capabilities->inheritable.empty());
  EXPECT_EQ(default_capabilities().size(), 11u);

  options_.cap_add = {"net_admin", "CAP_SYS_TIME"};
  options_.cap_drop = {"CHOWN"};
  s = build();
  auto& b = s->process->capabilities->bounding;
  EXPECT_TRUE(has(b, "CAP_NET_ADMIN"));
  EXPECT_TRUE(has(b, "CAP_SYS_TIME"));
  EXPECT_FALSE(has(b, "CAP_CHOWN"));
  EXPECT_EQ(b.size(), 12u);
  // The seccomp policy follows: clock setting allowed with CAP_SYS_TIME.
  auto named = [&](std::string_view n) {
    return std::ranges::any_of(s->linux->seccomp->syscalls, [&](auto& c) { return has(c.names, n); });
  };
  EXPECT_FALSE(named("clock_settime"));
  EXPECT_TRUE(named("mount"));

  options_.cap_add = {"KILL"};
  options_.cap_drop = {"all"};
  EXPECT_EQ(build()->process->capabilities->bounding, (std::vector<std::string>{"CAP_KILL"}));
  options_.cap_add = {"ALL"};
  options_.cap_drop = {"NET_RAW"};
  s = build();
  EXPECT_GT(s->process->capabilities->bounding.size(), 30u);
  EXPECT_TRUE(has(s->process->capabilities->bounding, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(has(s->process->capabilities->bounding, "CAP_NET_RAW"));
  options_.cap_drop = {};
  options_.cap_add = {"FLY"};
  EXPECT_EQ(err(build()), "--cap-add FLY: unknown capability");
  options_.cap_add = {};
  options_.cap_drop = {"CAP_NOPE"};
  EXPECT_EQ(err(build()), "--cap-drop CAP_NOPE: unknown capability");
}

TEST_F(BuildSpec, DefaultsOfSecurity) {
  auto s = build();
  ASSERT_TRUE(s);
  const auto& l = *s->linux;
  ASSERT_TRUE(l.seccomp);
  EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ALLOW");
  for (auto p : {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                 "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
                 "/sys/dev/block"})
    EXPECT_TRUE(has(l.masked_paths, p)) << p;
  for (auto p : {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})
    EXPECT_TRUE(has(l.readonly_paths, p)) << p;
  EXPECT_FALSE(s->process->no_new_privileges);
  EXPECT_FALSE(s->process->oom_score_adj);
  ASSERT_EQ(l.resources->devices.size(), 1u);
  EXPECT_FALSE(l.resources->devices[0].allow);
  EXPECT_EQ(l.cgroups_path, "/berth/0123456789abcdef0123");
  EXPECT_TRUE(has(mount(*s, "/sys")->options, "ro"));
  EXPECT_TRUE(has(mount(*s, "/sys/fs/cgroup")->options, "ro"));
  EXPECT_EQ(s->annotations.at("io.container.manager"), "berth");

  options_.no_new_privileges = true;
  options_.seccomp = "unconfined";
  options_.cgroup_parent = "machine/";
  s = build();
  EXPECT_TRUE(s->process->no_new_privileges);
  EXPECT_FALSE(s->linux->seccomp);
  EXPECT_EQ(s->linux->cgroups_path, "/machine/0123456789abcdef0123");

  // A profile file in the runtime-spec form.
  std::string profile = fs_.dir() + "/profile.json";
  std::ofstream(profile) << R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]})";
  options_.seccomp = profile;
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->linux->seccomp->default_action, "SCMP_ACT_ERRNO");
  std::ofstream(profile, std::ios::trunc) << R"({"defaultAction":"SCMP_ACT_FLY"})";
  EXPECT_NE(err(build()).find("--security-opt seccomp=" + profile), std::string::npos) << err(build());
}

TEST_F(BuildSpec, DockerFormSeccompProfile) {
  std::string profile = fs_.dir() + "/docker.json";
  std::ofstream(profile) << R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
      {"name": "close", "action": "SCMP_ACT_ALLOW"},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["acct"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_KILL"]}},
      {"names": ["s390_pci_mmio_read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
       "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}}
    ]})";
  options_.seccomp = profile;
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  const auto& p = *s->linux->seccomp;
  EXPECT_EQ(p.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(p.default_errno_ret, 1u);
#if defined(__x86_64__)
  EXPECT_EQ(p.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  std::vector<std::string> names;
  for (const auto& c : p.syscalls) names.insert(names.end(), c.names.begin(), c.names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"read", "write", "close", "ptrace", "clone"}));
  EXPECT_EQ(p.syscalls.back().args.size(), 1u);

  options_.cap_add = {"SYS_ADMIN"};
  options_.cap_drop = {"KILL"};
  names.clear();
  auto admin = build();
  ASSERT_TRUE(admin) << err(admin);
  for (const auto& c : admin->linux->seccomp->syscalls) names.insert(names.end(), c.names.begin(), c.names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"read", "write", "close", "mount", "ptrace", "personality"}));

  // containers-common's own profile, when installed, reads and compiles.
  if (std::filesystem::exists("/usr/share/containers/seccomp.json")) {
    options_.seccomp = "/usr/share/containers/seccomp.json";
    auto c = build();
    ASSERT_TRUE(c) << err(c);
    EXPECT_GT(c->linux->seccomp->syscalls.size(), 5u);
  }
  options_.seccomp = profile;
  std::ofstream(profile, std::ios::trunc) << "[]";
  EXPECT_EQ(err(build()), "--security-opt seccomp=" + profile + ": not a JSON object");
}

TEST_F(BuildSpec, Privileged) {
  options_.privileged = true;
  options_.cap_drop = {"ALL"};  // --privileged wins
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_TRUE(has(s->process->capabilities->bounding, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(s->linux->seccomp);
  EXPECT_TRUE(s->linux->masked_paths.empty());
  EXPECT_TRUE(s->linux->readonly_paths.empty());
  EXPECT_FALSE(has(mount(*s, "/sys")->options, "ro"));
  EXPECT_FALSE(has(mount(*s, "/sys/fs/cgroup")->options, "ro"));
  ASSERT_EQ(s->linux->resources->devices.size(), 1u);
  EXPECT_TRUE(s->linux->resources->devices[0].allow);
  EXPECT_TRUE(std::ranges::any_of(s->linux->devices, [](auto& d) { return d.path == "/dev/null"; }));
}

TEST_F(BuildSpec, ReadOnlyAndMounts) {
  options_.read_only = true;
  std::string host = fs_.dir() + "/host";
  std::filesystem::create_directories(host);
  options_.mounts = {
      {MountRequest::Type::bind, host, "/data/sub", true, {"z", "rslave"}},
      {MountRequest::Type::volume, "cache", "/data", false, {"nocopy"}},
      {MountRequest::Type::tmpfs, "", "/scratch/", false, {"size=1m", "exec"}},
      {MountRequest::Type::bind, fs_.dir() + "/host", "/etc/hosts", false, {"bind"}},
  };
  volume_paths_ = {{"/data", "/var/lib/berth/volumes/cache/_data"}, {"/img", "/var/lib/berth/volumes/anon/_data"}};
  image_.config.volumes = {"/img", "/data"};
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_TRUE(s->root->readonly);
  EXPECT_EQ(s->root->path, fs_.rootfs());
  for (auto d : {"/tmp", "/var/tmp", "/run"}) ASSERT_TRUE(mount(*s, d)) << d;
  EXPECT_EQ(mount(*s, "/tmp")->type, "tmpfs");

  auto* bind = mount(*s, "/data/sub");
  ASSERT_TRUE(bind);
  EXPECT_EQ(bind->source, host);
  EXPECT_EQ(bind->options, (std::vector<std::string>{"rbind", "rslave", "ro"}));
  auto* vol = mount(*s, "/data");
  ASSERT_TRUE(vol);
  EXPECT_EQ(vol->source, "/var/lib/berth/volumes/cache/_data");
  EXPECT_EQ(vol->options, (std::vector<std::string>{"rbind", "rprivate"}));
  EXPECT_EQ(mount(*s, "/img")->source, "/var/lib/berth/volumes/anon/_data");
  auto* tmp = mount(*s, "/scratch");
  ASSERT_TRUE(tmp);
  EXPECT_EQ(tmp->options, (std::vector<std::string>{"nosuid", "nodev", "size=1m"}));
  // The user's /etc/hosts replaces the generated one; /etc/hostname stays.
  EXPECT_EQ(std::ranges::count(s->mounts, "/etc/hosts", &oci::Mount::destination), 1);
  EXPECT_EQ(mount(*s, "/etc/hosts")->source, host);
  EXPECT_EQ(mount(*s, "/etc/hosts")->options, (std::vector<std::string>{"bind", "rprivate"}));
  EXPECT_EQ(mount(*s, "/etc/hostname")->source, fs_.userdata() + "/hostname");
  EXPECT_EQ(mount(*s, "/etc/resolv.conf")->source, fs_.userdata() + "/resolv.conf");
  // Parents before children.
  auto pos = [&](std::string_view d) { return std::ranges::find(s->mounts, d, &oci::Mount::destination) - s->mounts.begin(); };
  EXPECT_LT(pos("/data"), pos("/data/sub"));
  EXPECT_LT(pos("/proc"), pos("/data"));

  options_.shm_size = "1g";
  EXPECT_TRUE(has(mount(*build(), "/dev/shm")->options, "size=1073741824"));
  options_.shm_size = "big";
  EXPECT_EQ(err(build()), "--shm-size big: invalid size (want a number with an optional b, k, m, g, t or p)");
  options_.shm_size = "";

  volume_paths_.erase("/img");
  EXPECT_EQ(err(build()), "volume (anonymous) at /img: no host path was resolved for it");
  options_.mounts = {{MountRequest::Type::bind, fs_.dir() + "/nope", "/x", false, {}}};
  EXPECT_EQ(err(build()), "bind mount " + fs_.dir() + "/nope:/x: No such file or directory");
}

TEST_F(BuildSpec, UlimitsAndResources) {
  auto s = build();
  ASSERT_TRUE(s);
  struct rlimit rl {};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  uint64_t nofile = std::min<uint64_t>(1048576, rl.rlim_max);
  ASSERT_EQ(s->process->rlimits.size(), 1u);
  EXPECT_EQ(s->process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s->process->rlimits[0].hard, nofile);
  EXPECT_EQ(s->linux->resources->pids->limit, 2048);
  EXPECT_FALSE(s->linux->resources->memory);
  EXPECT_FALSE(s->linux->resources->cpu);

  options_.ulimits = {{"nofile", 100, 200}, {"nproc", 50, 60}};
  options_.memory = 256 << 20;
  options_.memory_swap = -1;
  options_.cpus = 0.5;
  options_.pids_limit = 0;
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->rlimits.size(), 2u);
  EXPECT_EQ(s->process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s->process->rlimits[0].soft, 100u);
  EXPECT_EQ(s->process->rlimits[1].type, "RLIMIT_NPROC");
  EXPECT_EQ(s->linux->resources->memory->limit, 256 << 20);
  EXPECT_EQ(s->linux->resources->memory->swap, -1);
  EXPECT_EQ(s->linux->resources->cpu->quota, 50000);
  EXPECT_EQ(s->linux->resources->cpu->period, 100000u);
  EXPECT_EQ(s->linux->resources->pids->limit, -1);

  options_.memory_swap = 100 << 20;
  EXPECT_EQ(err(build()), "--memory-swap 104857600: below --memory 268435456 (it counts memory plus swap)");
  options_.memory = 1 << 20;
  options_.memory_swap.reset();
  EXPECT_EQ(err(build()), "--memory 1048576: below the minimum of 6 MiB");
  options_.memory.reset();
  options_.memory_swap = 1 << 30;
  EXPECT_EQ(err(build()), "--memory-swap needs --memory");
  options_.memory_swap.reset();
  options_.cpus = 100000;
  EXPECT_NE(err(build()).find("--cpus 100000: out of range 0.01 to"), std::string::npos);
  options_.cpus.reset();

  options_.sysctls = {"net.ipv4.ip_forward=1", "kernel.shmmax=1000", "fs.mqueue.msg_max=20"};
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->linux->sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(s->linux->sysctl.size(), 3u);
  options_.sysctls = {"kernel.panic=1"};
  EXPECT_EQ(err(build()),
            "--sysctl kernel.panic=1: \"kernel.panic\" is not namespaced (kernel.msg*, kernel.sem, kernel.shm*, "
            "fs.mqueue.*, net.*)");
  options_.sysctls = {"net.core.somaxconn=1"};
  namespaces_.network = "host";
  EXPECT_EQ(err(build()), "--sysctl net.core.somaxconn=1: the container uses the host's network");
  // A pod member: refused only in the pod's network namespace, not in one of its own.
  options_.pod = "berth-test-pod";
  namespaces_.network = "/run/berth/netns/pod";
  namespaces_.network_pod = "berth-test-pod";
  EXPECT_EQ(err(build()), "--sysctl net.core.somaxconn=1: the container shares its network with pod berth-test-pod");
  namespaces_.network = "/run/berth/netns/member";
  namespaces_.network_pod.clear();
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->linux->sysctl.at("net.core.somaxconn"), "1");
  options_.pod.clear();
  namespaces_ = {};
  options_.sysctls = {"novalue"};
  EXPECT_EQ(err(build()), "--sysctl novalue: want name=value");
}

TEST_F(BuildSpec, Devices) {
  options_.devices = {"/dev/null:/dev/mynull:rw"};
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  ASSERT_EQ(s->linux->devices.size(), 1u);
  EXPECT_EQ(s->linux->devices[0].path, "/dev/mynull");
  EXPECT_EQ(s->linux->devices[0].type, "c");
  EXPECT_EQ(s->linux->devices[0].major, 1);
  EXPECT_EQ(s->linux->devices[0].minor, 3);
  ASSERT_EQ(s->linux->resources->devices.size(), 2u);
  EXPECT_TRUE(s->linux->resources->devices[1].allow);
  EXPECT_EQ(s->linux->resources->devices[1].access, "rw");
  options_.devices = {"/dev/null:r"};
  EXPECT_EQ(build()->linux->devices[0].path, "/dev/null");
  options_.devices = {"/dev/null:/x:rwz"};
  EXPECT_EQ(err(build()), "--device /dev/null:/x:rwz: invalid permissions \"rwz\" (any of r, w, m)");
  options_.devices = {"/etc"};
  EXPECT_EQ(err(build()), "--device /etc: not a device");
}

TEST_F(BuildSpec, Namespaces) {
  auto s = build();
  ASSERT_TRUE(s);
  std::vector<std::string> types;
  for (auto& n : s->linux->namespaces) {
    types.push_back(n.type);
    EXPECT_TRUE(n.path.empty());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"pid", "network", "ipc", "uts", "mount", "cgroup"}));

  namespaces_ = {.network = "/run/berth/netns/pod", .ipc = "/proc/1/ns/ipc", .uts = "/proc/1/ns/uts", .pid = ""};
  s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(oci::find_namespace(*s, "network")->path, "/run/berth/netns/pod");
  EXPECT_EQ(oci::find_namespace(*s, "ipc")->path, "/proc/1/ns/ipc");
  EXPECT_EQ(oci::find_namespace(*s, "uts")->path, "/proc/1/ns/uts");
  EXPECT_TRUE(s->hostname.empty());  // the pod's UTS namespace has its name

  namespaces_ = {};
  options_.network = "host";
  s = build();
  EXPECT_FALSE(oci::find_namespace(*s, "network"));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(s->hostname, host);
}

TEST_F(BuildSpec, InitAndAnnotations) {
  options_.init = true;
  options_.command = {"sleep", "1"};
  image_.config.labels = {{"org.opencontainers.image.title", "t"}, {"maintainer", "m"}};
  image_.config.stop_signal = "SIGQUIT";
  options_.annotations = {{"x", "y"}};
  auto s = build();
  ASSERT_TRUE(s) << err(s);
  EXPECT_EQ(s->process->args, (std::vector<std::string>{"/run/berth-init", "--", "/ep", "sleep", "1"}));
  auto* m = mount(*s, "/run/berth-init");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, "/usr/bin/catatonit");
  EXPECT_TRUE(has(m->options, "ro"));
  EXPECT_EQ(s->annotations.at("org.opencontainers.image.title"), "t");
  EXPECT_FALSE(s->annotations.contains("maintainer"));
  EXPECT_EQ(s->annotations.at("org.opencontainers.image.stopSignal"), "SIGQUIT");
  EXPECT_EQ(s->annotations.at("x"), "y");
  init_path_ = fs_.dir() + "/no-catatonit";
  EXPECT_EQ(err(build()), "--init: " + init_path_ + ": No such file or directory");
}

// build_spec's own cost on the busybox rootfs (it runs on every `berth run`).
TEST(BuildSpecTime, Busybox) {
  const std::string rootfs = "/var/tmp/berth-fixtures/busybox-rootfs";
  if (!std::filesystem::exists(rootfs + "/etc/passwd")) GTEST_SKIP() << "no busybox fixture";
  RunOptions o;
  o.command = {"true"};
  oci::ImageConfig img;
  img.config.cmd = {"sh"};
  img.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  SpecInputs in{.id = "0123456789abcdef", .options = &o, .image = &img, .rootfs = rootfs, .userdata = "/x"};
  constexpr int kRuns = 200;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(build_spec(in));
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("build_spec (busybox, default flags): %.1f us per call\n", double(us) / kRuns);
  auto j0 = std::chrono::steady_clock::now();
  auto spec = build_spec(in);
  auto json = oci::config_to_json(*spec, false);
  auto jus = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - j0).count();
  std::printf("build_spec + config_to_json: %lld us, %zu bytes\n", static_cast<long long>(jus), json.size());
  EXPECT_LT(us / kRuns, 5000);  // generous for a debug build on a loaded machine
}

}  // namespace
}  // namespace berth::engine
