// Process attributes applied for real, each in a forked child (as in the
// container child between clone and exec), then read back from the kernel in
// that child. Needs root; skipped otherwise.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

// Runs `fn` in a forked child; returns what it returned ("" = all good),
// or a description of how the child died.
std::string in_child(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out = fn();
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fmt::format("child died, status {:#x}: {}", status, out);
  return out;
}

// "CapEff" -> its hex mask in /proc/self/status.
uint64_t status_mask(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with(field + ":")) return std::stoull(line.substr(field.size() + 1), nullptr, 16);
  return ~uint64_t{0};
}

std::string status_field(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with(field + ":")) {
      auto v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

std::string err(const Error& e) { return e.what(); }

constexpr uint64_t bit(int c) { return uint64_t{1} << c; }

class ProcessAttrs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST_F(ProcessAttrs, RlimitsAreAppliedAndReadBack) {
  EXPECT_EQ(in_child([] {
    std::vector<oci::Rlimit> l = {{"RLIMIT_NOFILE", 2000, 1000}, {"RLIMIT_CORE", 0, 0},
                                  {"RLIMIT_NPROC", 5000, 4000}};
    if (auto r = apply_rlimits(l); !r) return err(r.error());
    rlimit got{};
    getrlimit(RLIMIT_NOFILE, &got);
    if (got.rlim_cur != 1000 || got.rlim_max != 2000) return fmt::format("nofile {} {}", got.rlim_cur, got.rlim_max);
    getrlimit(RLIMIT_CORE, &got);
    if (got.rlim_cur != 0 || got.rlim_max != 0) return std::string("core");
    getrlimit(RLIMIT_NPROC, &got);
    if (got.rlim_cur != 4000 || got.rlim_max != 5000) return std::string("nproc");
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, RaisingAHardLimitSaysWhyItFails) {
  bool can_raise = status_mask("CapEff") & bit(24);
  std::string out = in_child([] {
    rlimit cur{};
    getrlimit(RLIMIT_NOFILE, &cur);
    uint64_t want = cur.rlim_max + 1000;
    auto r = apply_rlimits({{"RLIMIT_NOFILE", want, want}});
    if (r) return std::string("ok");
    return err(r.error());
  });
  if (can_raise) {
    EXPECT_EQ(out, "ok");
  } else {
    EXPECT_TRUE(out.starts_with("setrlimit RLIMIT_NOFILE soft=")) << out;
    EXPECT_NE(out.find("raising a hard limit needs CAP_SYS_RESOURCE"), std::string::npos) << out;
    EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
  }
}

TEST_F(ProcessAttrs, BadRlimitsAreRejectedBeforeAnyIsApplied) {
  auto r = apply_rlimits({{"RLIMIT_FOO", 1, 1}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "unknown rlimit \"RLIMIT_FOO\"");
  r = apply_rlimits({{"RLIMIT_CORE", 1, 1}, {"RLIMIT_CORE", 2, 2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "rlimit \"RLIMIT_CORE\" is given more than once");
  r = apply_rlimits({{"RLIMIT_CORE", 1, 2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "rlimit RLIMIT_CORE: soft limit 2 is above hard limit 1");
  EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME").value(), RLIMIT_RTTIME);
}

TEST_F(ProcessAttrs, IdentityWithGroups) {
  EXPECT_EQ(in_child([] {
    oci::User u;
    u.uid = 65534;
    u.gid = 65534;
    u.additional_gids = {5, 6, 1234};
    if (auto r = set_identity(u); !r) return err(r.error());
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    if (ru != 65534 || eu != 65534 || su != 65534) return fmt::format("uids {} {} {}", ru, eu, su);
    if (rg != 65534 || eg != 65534 || sg != 65534) return fmt::format("gids {} {} {}", rg, eg, sg);
    gid_t groups[16];
    int n = getgroups(16, groups);
    if (n != 3 || groups[0] != 5 || groups[1] != 6 || groups[2] != 1234)
      return fmt::format("{} groups", n);
    // The permitted set survived the uid change, the effective one did not;
    // keepcaps is off again.
    if (status_mask("CapPrm") == 0) return std::string("permitted set lost");
    if (status_mask("CapEff") != 0) return std::string("effective set kept");
    if (prctl(PR_GET_KEEPCAPS) != 0) return std::string("keepcaps left on");
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, EmptyGroupsDropsHostGroups) {
  EXPECT_EQ(in_child([] {
    gid_t extra[] = {4242};
    setgroups(1, extra);
    oci::User u;
    if (auto r = set_identity(u); !r) return err(r.error());
    if (getgroups(0, nullptr) != 0) return std::string("supplementary groups kept");
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, SetgroupsDeniedInAUserNamespace) {
  EXPECT_EQ(in_child([] {
    if (unshare(CLONE_NEWUSER) < 0) return fmt::format("unshare: {}", strerror(errno));
    if (!write_file("/proc/self/setgroups", "deny")) return std::string("setgroups deny");
    if (!write_file("/proc/self/uid_map", "0 0 1")) return std::string("uid_map");
    if (!write_file("/proc/self/gid_map", "0 0 1")) return std::string("gid_map");
    oci::User u;
    if (auto r = set_identity(u); !r) return "no groups: " + err(r.error());
    u.additional_gids = {0};
    auto r = set_identity(u);
    if (r) return std::string("setgroups with groups succeeded");
    return err(r.error());
  }), "setgroups [0] (setgroups is denied in this user namespace): Operation not permitted");
}

TEST_F(ProcessAttrs, CapabilitiesAsRoot) {
  uint64_t own_bnd = status_mask("CapBnd");
  ASSERT_TRUE(own_bnd & bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(in_child([] {
    oci::Capabilities c;
    c.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    c.permitted = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    c.effective = {"CAP_CHOWN", "CAP_KILL"};
    c.inheritable = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
    c.ambient = {"CAP_NET_BIND_SERVICE"};
    if (auto r = apply_capabilities(c); !r) return err(r.error());
    auto got = fmt::format("eff={:x} prm={:x} inh={:x} bnd={:x} amb={:x}", status_mask("CapEff"),
                           status_mask("CapPrm"), status_mask("CapInh"), status_mask("CapBnd"),
                           status_mask("CapAmb"));
    auto want = fmt::format("eff={:x} prm={:x} inh={:x} bnd={:x} amb={:x}", bit(0) | bit(5),
                            bit(0) | bit(5) | bit(10), bit(5) | bit(10), bit(0) | bit(5) | bit(10),
                            bit(10));
    return got == want ? std::string() : got + " want " + want;
  }), "");
}

TEST_F(ProcessAttrs, CapabilitiesAfterUidChange) {
  EXPECT_EQ(in_child([] {
    oci::User u;
    u.uid = 65534;
    u.gid = 65534;
    if (auto r = set_identity(u); !r) return err(r.error());
    oci::Capabilities c;
    c.bounding = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"};
    c.permitted = c.bounding;
    c.effective = {"CAP_NET_BIND_SERVICE"};
    c.inheritable = {"CAP_NET_BIND_SERVICE"};
    c.ambient = {"CAP_NET_BIND_SERVICE"};
    if (auto r = apply_capabilities(c); !r) return err(r.error());
    if (getuid() != 65534) return std::string("uid");
    uint64_t all = bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW);
    if (status_mask("CapBnd") != all) return fmt::format("bnd {:x}", status_mask("CapBnd"));
    if (status_mask("CapPrm") != all) return fmt::format("prm {:x}", status_mask("CapPrm"));
    if (status_mask("CapEff") != bit(10)) return fmt::format("eff {:x}", status_mask("CapEff"));
    if (status_mask("CapAmb") != bit(10)) return fmt::format("amb {:x}", status_mask("CapAmb"));
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, CapabilitiesThatCannotBeGrantedAreSkipped) {
  // Ask for everything: whatever the runtime itself lacks (CAP_SYS_RESOURCE on
  // this machine) is skipped with a warning, not an error (the spec's SHOULD NOT fail).
  uint64_t own = status_mask("CapPrm");
  EXPECT_EQ(in_child([own] {
    oci::Capabilities c;
    c.bounding = all_capability_names();
    c.permitted = c.effective = c.inheritable = c.ambient = c.bounding;
    if (auto r = apply_capabilities(c); !r) return err(r.error());
    uint64_t known = (bit(last_capability()) << 1) - 1;
    if (status_mask("CapPrm") != (own & known)) return fmt::format("prm {:x}", status_mask("CapPrm"));
    if (status_mask("CapEff") != (own & known)) return fmt::format("eff {:x}", status_mask("CapEff"));
    if (status_mask("CapAmb") != (status_mask("CapInh") & own))
      return fmt::format("amb {:x}", status_mask("CapAmb"));
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, EmptyCapabilitiesDropEverything) {
  EXPECT_EQ(in_child([] {
    if (auto r = apply_capabilities({}); !r) return err(r.error());
    for (auto f : {"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"})
      if (status_mask(f) != 0) return fmt::format("{} {:x}", f, status_mask(f));
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, UnknownCapabilityIsSkipped) {
  // The spec: a value that cannot be mapped is warned about, not fatal (runc too).
  EXPECT_EQ(in_child([] {
    oci::Capabilities c;
    c.bounding = c.permitted = c.effective = {"CAP_FOO", "CAP_KILL"};
    if (auto r = apply_capabilities(c); !r) return err(r.error());
    if (status_mask("CapEff") != bit(CAP_KILL)) return fmt::format("eff {:x}", status_mask("CapEff"));
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, DropBoundingSetBeforeUidChange) {
  EXPECT_EQ(in_child([] {
    oci::Capabilities c;
    c.bounding = {"CAP_KILL"};
    if (auto r = drop_bounding_set(c); !r) return err(r.error());
    if (status_mask("CapBnd") != bit(CAP_KILL)) return fmt::format("bnd {:x}", status_mask("CapBnd"));
    return std::string();
  }), "");
}

TEST_F(ProcessAttrs, OomScoreAdj) {
  EXPECT_EQ(in_child([] {
    if (auto r = apply_oom_score_adj(500); !r) return err(r.error());
    auto v = read_file("/proc/self/oom_score_adj");
    if (!v || *v != "500\n") return std::string("raise not read back");
    auto r = apply_oom_score_adj(-999);
    if (r) {
      v = read_file("/proc/self/oom_score_adj");
      return *v == "-999\n" ? std::string() : std::string("lower not read back");
    }
    return err(r.error());
  }), (status_mask("CapEff") & bit(24))
          ? ""
          : "set oom_score_adj to -999 (lowering it needs CAP_SYS_RESOURCE): Permission denied");
}

TEST_F(ProcessAttrs, PersonalityLinux32) {
  EXPECT_EQ(in_child([] {
    if (auto r = apply_personality({"LINUX32", {}}); !r) return err(r.error());
    utsname u{};
    uname(&u);
    return std::string(u.machine);
  }), "i686");
  auto r = apply_personality({"LINUX64", {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "linux.personality.domain \"LINUX64\" is not LINUX or LINUX32");
  r = apply_personality({"LINUX", {"ADDR_NO_RANDOMIZE"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "linux.personality.flags: flag \"ADDR_NO_RANDOMIZE\" is not supported");
}

TEST_F(ProcessAttrs, Umask) {
  EXPECT_EQ(in_child([] {
    oci::User u;
    u.umask = 077;
    if (auto r = apply_umask(u); !r) return err(r.error());
    mode_t m = umask(0);
    u.umask.reset();
    if (auto r = apply_umask(u); !r) return err(r.error());
    mode_t d = umask(0);
    u.umask = 027;  // set_identity applies it too
    if (auto r = set_identity(u); !r) return err(r.error());
    mode_t i = umask(0);
    return fmt::format("{:o} {:o} {:o}", m, d, i);
  }), "77 22 27");
}

TEST_F(ProcessAttrs, NoNewPrivileges) {
  EXPECT_EQ(in_child([] {
    std::string before = status_field("NoNewPrivs");
    if (auto r = set_no_new_privileges(); !r) return err(r.error());
    return before + " " + status_field("NoNewPrivs");
  }), "0 1");
}

TEST_F(ProcessAttrs, SchedulerBatchWithNice) {
  EXPECT_EQ(in_child([] {
    oci::Scheduler s;
    s.policy = "SCHED_BATCH";
    s.nice = 7;
    s.flags = {"SCHED_FLAG_RESET_ON_FORK"};
    if (auto r = apply_scheduler(s); !r) return err(r.error());
    int pol = sched_getscheduler(0);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    return fmt::format("{} {}", pol, nice);
  }), fmt::format("{} 7", SCHED_BATCH | SCHED_RESET_ON_FORK));
}

TEST_F(ProcessAttrs, SchedulerErrorsNameTheValue) {
  oci::Scheduler s;
  s.policy = "SCHED_FOO";
  EXPECT_EQ(apply_scheduler(s).error().what(), "process.scheduler.policy \"SCHED_FOO\" is not known");
  s.policy = "SCHED_OTHER";
  s.flags = {"SCHED_FLAG_NOPE"};
  EXPECT_EQ(apply_scheduler(s).error().what(), "process.scheduler.flags: \"SCHED_FLAG_NOPE\" is not known");
  EXPECT_EQ(in_child([] {
    oci::Scheduler d;
    d.policy = "SCHED_FIFO";
    d.priority = 1000;  // beyond 99: the kernel refuses
    auto r = apply_scheduler(d);
    return r ? std::string("applied") : err(r.error());
  }), "sched_setattr policy=SCHED_FIFO nice=0 priority=1000 runtime=0 deadline=0 period=0: Invalid argument");
}

TEST_F(ProcessAttrs, IoPriority) {
  EXPECT_EQ(in_child([] {
    if (auto r = apply_io_priority({"IOPRIO_CLASS_BE", 3}); !r) return err(r.error());
    long a = syscall(SYS_ioprio_get, 1, 0);
    if (auto r = apply_io_priority({"IOPRIO_CLASS_IDLE", 0}); !r) return err(r.error());
    long b = syscall(SYS_ioprio_get, 1, 0);
    return fmt::format("{} {}", a, b);
  }), fmt::format("{} {}", (2 << 13) | 3, 3 << 13));
  EXPECT_EQ(apply_io_priority({"IOPRIO_CLASS_X", 0}).error().what(),
            "process.ioPriority.class \"IOPRIO_CLASS_X\" is not known");
  EXPECT_EQ(apply_io_priority({"IOPRIO_CLASS_BE", 8}).error().what(),
            "process.ioPriority.priority 8 is not within 0..7");
}

TEST(CpuList, Parse) {
  EXPECT_EQ(parse_cpu_list("0-3,7").value(), (std::vector<int>{0, 1, 2, 3, 7}));
  EXPECT_EQ(parse_cpu_list("5").value(), (std::vector<int>{5}));
  EXPECT_EQ(parse_cpu_list("1,1-2").value(), (std::vector<int>{1, 1, 2}));
  for (auto bad : {"", "a", "1-", "-1", "3-1", "1,,2", "1 ", "0x1"})
    EXPECT_FALSE(parse_cpu_list(bad).has_value()) << bad;
  EXPECT_EQ(parse_cpu_list("3-1").error().what(), "cpu list \"3-1\": range \"3-1\" is reversed");
}

std::string allowed_list() { return status_field("Cpus_allowed_list"); }

TEST_F(ProcessAttrs, CpuAffinity) {
  std::string all = allowed_list();
  EXPECT_EQ(in_child([] {
    if (auto r = apply_cpu_affinity("0"); !r) return err(r.error());
    return allowed_list();
  }), "0");
  // initial then no final: back to every CPU the process may use.
  EXPECT_EQ(in_child([] {
    oci::ExecCpuAffinity a{"0", ""};
    if (auto r = apply_exec_cpu_affinity_initial(a); !r) return err(r.error());
    std::string mid = allowed_list();
    if (auto r = apply_exec_cpu_affinity_final(a); !r) return err(r.error());
    return mid + " " + allowed_list();
  }), "0 " + all);
  EXPECT_EQ(in_child([] {
    oci::ExecCpuAffinity a{"", "0"};
    if (auto r = apply_exec_cpu_affinity_final(a); !r) return err(r.error());
    return allowed_list();
  }), "0");
}

}  // namespace
}  // namespace berth::runtime
