// build_spec's output run for real: the spec for the busybox rootfs written
// as a bundle and run with the built `berth-runtime run`. Proves the
// container runs; Berth's default seccomp policy refuses namespace creation
// without CAP_SYS_ADMIN (a user namespace, which the kernel alone would
// allow) and --cap-add SYS_ADMIN lifts it; masked and read-only paths;
// the generated /etc/hosts and /etc/hostname; -u and a created -w; --init
// with --read-only.
// The program runs in a network namespace of its own, as a subreaper;
// everything it makes is under /var/tmp/berth-test-specrun-* and cgroups
// under /berth-test-specrun, removed at the end.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "engine/etc_files.h"
#include "engine/spec_builder.h"
#include "oci/config.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::sh;

constexpr const char* kBusybox = "/var/tmp/berth-fixtures/busybox-rootfs";
constexpr const char* kCgroupParent = "berth-test-specrun";

class SpecRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = "/var/tmp/berth-test-specrun-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    // A private copy: build_spec makes the workdir in it.
    ASSERT_EQ(sh("cp -a " + std::string(kBusybox) + " " + dir_ + "/rootfs").status, 0);
    std::filesystem::create_directories(dir_ + "/bundle");
    std::filesystem::create_directories(dir_ + "/userdata");
    std::filesystem::create_directories(dir_ + "/state");
    EtcInputs etc{.hostname = "berth-test-ctr", .add_hosts = {"berth-test-peer:10.1.2.3"}};
    auto r = write_etc_files(dir_ + "/userdata", etc);
    ASSERT_TRUE(r) << r.error().what();
  }
  static void TearDownTestSuite() {
    // The runtime removed each container's cgroup; their parent is ours.
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
      std::error_code ignored;
      std::filesystem::remove(e.path() / kCgroupParent, ignored);
    }
    std::filesystem::remove_all(dir_, ec);
  }

  // Builds the spec for `o` running `script` in sh and runs it to its end:
  // exit status, stdout and stderr.
  image::testing::Cmd run(RunOptions o, const std::string& script) {
    static int n = 0;
    std::string id = "berth-test-specrun-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    o.command = {"sh", "-c", script};
    o.hostname = "berth-test-ctr";
    oci::ImageConfig img;
    img.config.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    SpecInputs in{.id = id, .options = &o, .image = &img, .rootfs = dir_ + "/rootfs",
                  .userdata = dir_ + "/userdata", .cgroups_path = "/" + std::string(kCgroupParent) + "/" + id};
    auto t0 = std::chrono::steady_clock::now();
    auto spec = build_spec(in);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!spec) return {.status = -1, .out = "build_spec: " + spec.error().what()};
    std::printf("build_spec: %lld us\n", static_cast<long long>(us));
    std::ofstream(dir_ + "/bundle/config.json", std::ios::trunc) << oci::config_to_json(*spec);
    std::string rt = std::string(BERTH_BIN_DIR) + "/berth-runtime --root " + dir_ + "/state ";
    auto c = sh(rt + "run --bundle " + dir_ + "/bundle " + id + " </dev/null");
    sh(rt + "delete --force " + id);
    return c;
  }

  static std::string dir_;
};

std::string SpecRun::dir_;

TEST_F(SpecRun, Runs) {
  auto c = run({}, "echo hello from $HOSTNAME; id -u; ls /sys/class/net");
  EXPECT_EQ(c.status, 0) << c.out;
  EXPECT_EQ(c.out, "hello from berth-test-ctr\n0\nlo\n");  // a network namespace of its own
}

TEST_F(SpecRun, SeccompDeniesNamespacesWithoutSysAdmin) {
  // The kernel lets anyone make a user namespace; Berth's policy does not.
  auto c = run({}, "unshare -U true 2>/dev/null && echo made || echo refused");
  EXPECT_EQ(c.out, "refused\n") << c.out;
  c = run({}, "unshare -n true 2>/dev/null && echo made || echo refused");
  EXPECT_EQ(c.out, "refused\n") << c.out;
  RunOptions unconfined;
  unconfined.seccomp = "unconfined";
  c = run(unconfined, "unshare -U true && echo made || echo refused");
  EXPECT_EQ(c.out, "made\n") << "the kernel refuses user namespaces here: " << c.out;

  RunOptions admin;
  admin.cap_add = {"SYS_ADMIN"};
  c = run(admin, "unshare -n true && unshare -U true && echo made || echo refused");
  EXPECT_EQ(c.out, "made\n") << c.out;
}

TEST_F(SpecRun, MaskedAndReadOnlyPaths) {
  // The masked files this kernel has (a missing one is not masked).
  std::string files;
  for (auto p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats"})
    if (std::filesystem::exists(p)) files += std::string(" ") + p;
  ASSERT_FALSE(files.empty());
  std::string script = "for p in" + files +
                       "; do [ -c $p ] || echo $p visible; done; "
                       "[ -z \"$(ls /sys/firmware)$(ls /proc/acpi)\" ] || echo dirs visible; "
                       "{ echo x > /proc/sys/kernel/domainname; } 2>/dev/null && echo sys writable; "
                       "{ echo x > /proc/sysrq-trigger; } 2>/dev/null && echo sysrq writable; echo done";
  auto c = run({}, script);
  EXPECT_EQ(c.out, "done\n");
  RunOptions privileged;
  privileged.privileged = true;
  c = run(privileged, "[ -c /proc/keys ] && echo masked; [ -n \"$(ls /sys/firmware)\" ] && echo firmware; echo done");
  EXPECT_NE(c.out.find("firmware\ndone\n"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("masked"), std::string::npos) << c.out;
}

TEST_F(SpecRun, EtcFilesAreTheGeneratedOnes) {
  auto c = run({}, "cat /etc/hostname; hostname; grep -c berth-test-peer /etc/hosts; grep -q '^nameserver' "
                   "/etc/resolv.conf && echo resolv");
  EXPECT_EQ(c.status, 0) << c.out;
  EXPECT_EQ(c.out, "berth-test-ctr\nberth-test-ctr\n1\nresolv\n");
}

TEST_F(SpecRun, UserAndWorkdir) {
  RunOptions o;
  o.user = "berth";  // uid 1000 in the busybox image
  o.workdir = "/home/berth/work/here";
  auto c = run(o, "id -u; id -g; echo $HOME; pwd; stat -c %u /home/berth/work/here; touch x && echo writable");
  EXPECT_EQ(c.status, 0) << c.out;
  EXPECT_EQ(c.out, "1000\n1000\n/home/berth\n/home/berth/work/here\n1000\nwritable\n");
  o.user = "4321:99";
  o.workdir = "";
  c = run(o, "id -u; id -g; grep CapEff /proc/self/status");
  EXPECT_EQ(c.out, "4321\n99\nCapEff:\t0000000000000000\n");
}

TEST_F(SpecRun, InitAndReadOnly) {
  RunOptions o;
  o.init = true;
  o.read_only = true;
  auto c = run(o, "tr '\\0' ' ' </proc/1/cmdline; echo; touch /x 2>/dev/null || echo ro; touch /tmp/x && echo tmp");
  EXPECT_EQ(c.status, 0) << c.out;
  EXPECT_TRUE(c.out.starts_with("/run/berth-init -- sh -c ")) << c.out;
  EXPECT_TRUE(c.out.ends_with("\nro\ntmp\n")) << c.out;
}

}  // namespace
}  // namespace berth::engine

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Our own network namespace (the containers get theirs inside it) and a
  // subreaper for the runtime's orphans.
  if (::unshare(CLONE_NEWNET) < 0) {
    std::perror("unshare(CLONE_NEWNET)");
    return 1;
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  int rc = RUN_ALL_TESTS();
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return rc;
}
