// The process object: user, groups, umask, cwd, env, capabilities, rlimits,
// noNewPrivileges, oomScoreAdj, personality (runtime-spec config.md "Process").
#include <sys/personality.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>

#include <cstdio>
#include <fstream>

#include "harness.h"

namespace berth::test {
namespace {

uint64_t hex(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

TEST(Process, UserGroupsUmask) {
  Bundle b;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 027}};
  auto j = b.check();
  EXPECT_EQ(j["uid"], 1000);
  EXPECT_EQ(j["euid"], 1000);
  EXPECT_EQ(j["gid"], 1000);
  EXPECT_EQ(j["egid"], 1000);
  std::vector<int> groups = j["groups"];
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<int>{10, 20})) << j["groups"];
  EXPECT_EQ(j["umask"], 027);
}

TEST(Process, DefaultUmaskAndRootGroups) {
  Bundle b;
  auto j = b.check();
  EXPECT_EQ(j["uid"], 0);
  EXPECT_EQ(j["gid"], 0);
  EXPECT_EQ(j["umask"], 022) << "runtime-spec: umask defaults to 0022";
  EXPECT_TRUE(j["groups"].empty() || j["groups"] == json::array({0})) << j["groups"];
}

TEST(Process, CwdAndEnv) {
  Bundle b;
  b.config["process"]["cwd"] = "/tmp";
  b.config["process"]["env"] = {"PATH=/bin", "BERTH_A=1", "BERTH_B=two words"};
  auto j = b.check();
  EXPECT_EQ(j["cwd"], "/tmp");
  // exactly the configured environment (runc adds HOME when it is missing)
  json env = json::array();
  for (auto& e : j["env"])
    if (e.get<std::string>().rfind("HOME=", 0) != 0) env.push_back(e);
  EXPECT_EQ(env, json::array({"PATH=/bin", "BERTH_A=1", "BERTH_B=two words"})) << j["env"];
}

TEST(Process, CwdIsCreatedWhenMissing) {
  Bundle b;
  b.config["root"]["readonly"] = false;
  b.config["process"]["cwd"] = "/berth/work";
  auto j = b.check();
  EXPECT_EQ(j["cwd"], "/berth/work");
}

TEST(Process, ArgsResolvedThroughPath) {
  Bundle b;
  b.set_args({"echo", "via", "PATH"});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "via PATH\n");
}

TEST(Process, MissingExecutableFails) {
  Bundle b;
  b.set_args({"/bin/berth-not-here"});
  auto r = b.run();
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(b.state().has_value());
}

// runc's wording and errnos (Go's exec.LookPath), which engines map to
// docker's 127 (not found) and 126 (found but not executable). Lowercase,
// and unquoted as runc's logrus text quotes them (\"), for the comparison.
std::string lower(std::string s) {
  for (size_t i; (i = s.find("\\\"")) != std::string::npos;) s.erase(i, 1);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void expect_create_fails(const std::vector<std::string>& args, const std::vector<std::string>& wanted) {
  Bundle b;
  b.set_args(args);
  auto r = b.create();
  EXPECT_NE(r.status, 0) << r.describe();
  for (const auto& w : wanted) EXPECT_NE(lower(r.err).find(lower(w)), std::string::npos) << w << ": " << r.describe();
  EXPECT_FALSE(b.state().has_value());
}

TEST(Process, CommandThatCannotRunNamesItAndItsErrno) {
  expect_create_fails({"/bin/berth-test-not-here"},
                      {"exec: \"/bin/berth-test-not-here\": stat /bin/berth-test-not-here", "no such file or directory"});
  expect_create_fails({"berth-test-not-in-path"},
                      {"exec: \"berth-test-not-in-path\": executable file not found in $PATH"});
  expect_create_fails({"/etc/passwd"}, {"exec: \"/etc/passwd\": permission denied"});
  // Go >= 1.21 (newer runc) says "is a directory", older Go "permission denied".
  expect_create_fails({"/bin"}, {"exec: \"/bin\": "});
  if (runtime_is_berth()) expect_create_fails({"/bin"}, {"exec: \"/bin\": is a directory: permission denied"});
}

TEST(Process, CapabilitiesAllFiveSetsForNonRoot) {
  Bundle b;
  std::vector<std::string> caps = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.config["process"]["noNewPrivileges"] = true;
  for (auto set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) b.config["process"]["capabilities"][set] = caps;
  auto j = b.check();
  uint64_t want = cap_mask(caps);
  for (auto set : {"eff", "prm", "inh", "bnd", "amb"}) EXPECT_EQ(hex(j["caps"][set]), want) << set << ": " << j["caps"];
}

TEST(Process, CapabilitiesDistinctSets) {
  Bundle b;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.config["process"]["capabilities"] = {
      {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}},
      {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"inheritable", {"CAP_CHOWN", "CAP_KILL"}},
      {"effective", {"CAP_KILL"}},
      {"ambient", {"CAP_KILL"}}};
  auto j = b.check();
  // after execve by a non-root user without file caps: P' = ambient, E' = ambient
  EXPECT_EQ(hex(j["caps"]["bnd"]), cap_mask({"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}));
  EXPECT_EQ(hex(j["caps"]["inh"]), cap_mask({"CAP_CHOWN", "CAP_KILL"}));
  EXPECT_EQ(hex(j["caps"]["amb"]), cap_mask({"CAP_KILL"}));
  EXPECT_EQ(hex(j["caps"]["prm"]), cap_mask({"CAP_KILL"}));
  EXPECT_EQ(hex(j["caps"]["eff"]), cap_mask({"CAP_KILL"}));
}

TEST(Process, CapabilitiesOfRootBoundedByBoundingSet) {
  Bundle b;
  b.config["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_SYS_ADMIN"}},
                                         {"permitted", {"CAP_CHOWN", "CAP_SYS_ADMIN"}},
                                         {"effective", {"CAP_CHOWN", "CAP_SYS_ADMIN"}}};
  auto j = b.check();
  uint64_t want = cap_mask({"CAP_CHOWN", "CAP_SYS_ADMIN"});
  EXPECT_EQ(hex(j["caps"]["bnd"]), want);
  EXPECT_EQ(hex(j["caps"]["eff"]), want);
  EXPECT_EQ(hex(j["caps"]["prm"]), want);
  EXPECT_EQ(hex(j["caps"]["inh"]), 0u);
  EXPECT_EQ(hex(j["caps"]["amb"]), 0u);
}

TEST(Process, NoCapabilitiesObject) {
  Bundle b;
  b.config["process"].erase("capabilities");
  auto j = b.check();
  EXPECT_EQ(hex(j["caps"]["eff"]), 0u);
  EXPECT_EQ(hex(j["caps"]["bnd"]), 0u);
}

TEST(Process, UnknownCapabilityWarns) {
  // runtime-spec 1.1+: a capability that cannot be mapped is logged as a
  // warning; runtimes SHOULD NOT fail
  Bundle b;
  b.config["process"]["capabilities"]["bounding"].push_back("CAP_BERTH_NONSENSE");
  b.checker_args({"all"});
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_NE(r.err.find("CAP_BERTH_NONSENSE"), std::string::npos) << "warning expected: " << r.err;
  EXPECT_EQ(hex(parse_checker(r.out)["caps"]["bnd"]), cap_mask({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
}

TEST(Process, Rlimits) {
  Bundle b;
  b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 1000}},
                                    {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 4096}},
                                    {{"type", "RLIMIT_NPROC"}, {"soft", 300}, {"hard", 400}}};
  auto j = b.check();
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"], json::array({512, 1000}));
  EXPECT_EQ(j["rlimits"]["RLIMIT_CORE"], json::array({0, 4096}));
  EXPECT_EQ(j["rlimits"]["RLIMIT_NPROC"], json::array({300, 400}));
}

TEST(Process, RlimitAboveHardLimitFails) {
  // root here lacks CAP_SYS_RESOURCE: raising a hard limit fails, and must be reported
  struct rlimit cur;
  getrlimit(RLIMIT_NOFILE, &cur);
  if (cur.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "nofile hard limit is unlimited";
  Bundle b;
  b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", cur.rlim_max + 1000}, {"hard", cur.rlim_max + 1000}}};
  b.write_config();
  auto probe = run_cmd({"sh", "-c", "ulimit -Hn " + std::to_string(cur.rlim_max + 1000)});
  if (probe.status == 0) GTEST_SKIP() << "this host can raise RLIMIT_NOFILE (has CAP_SYS_RESOURCE)";
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  if (runtime_is_berth()) { EXPECT_NE(r.err.find("RLIMIT_NOFILE"), std::string::npos) << r.err; }
}

TEST(Process, NoNewPrivileges) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = true;
  EXPECT_EQ(b.check()["no_new_privs"], 1);
  b.config["process"]["noNewPrivileges"] = false;
  EXPECT_EQ(b.check()["no_new_privs"], 0);
}

TEST(Process, OomScoreAdjRaise) {
  Bundle b;
  b.config["process"]["oomScoreAdj"] = 500;
  EXPECT_EQ(b.check()["oom_score_adj"], 500);
}

TEST(Process, OomScoreAdjLowerFailsClearly) {
  std::ifstream self("/proc/self/oom_score_adj");
  int mine = 0;
  self >> mine;
  Bundle b;
  b.config["process"]["oomScoreAdj"] = mine - 500;
  auto probe = run_cmd({"sh", "-c", "echo " + std::to_string(mine - 500) + " > /proc/self/oom_score_adj"});
  if (probe.status == 0) GTEST_SKIP() << "this host can lower oom_score_adj (has CAP_SYS_RESOURCE)";
  b.checker_args({"all"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << "lowering oom_score_adj without CAP_SYS_RESOURCE must fail: " << r.describe();
  if (runtime_is_berth()) { EXPECT_NE(r.err.find("oom_score_adj"), std::string::npos) << r.err; }
  EXPECT_FALSE(b.state().has_value());
}

TEST(Process, PersonalityLinux32) {
  SKIP_ON_RUNC("runc 1.1 ignores linux.personality (added in runc 1.2)");
  Bundle b;
  b.config["linux"]["personality"] = {{"domain", "LINUX32"}};
  auto j = b.check();
  EXPECT_EQ(j["personality"].get<int>() & PER_MASK, PER_LINUX32);
  b.set_args({"/bin/uname", "-m"});
  auto r = b.run();
  EXPECT_EQ(r.out, "i686\n") << r.describe();
}

TEST(Process, SeccompNotSetByDefault) {
  Bundle b;
  EXPECT_EQ(b.check()["seccomp"], 0) << "runc spec's default has no seccomp profile";
}

}  // namespace
}  // namespace berth::test
