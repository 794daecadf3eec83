// The process `exec` runs, from its flags and the container's process (pure).
#include <gtest/gtest.h>

#include "runtime/exec.h"

namespace berth::runtime {
namespace {

oci::Process container_process() {
  oci::Process p;
  p.args = {"/bin/init"};
  p.cwd = "/";
  p.env = {"PATH=/bin", "A=1"};
  p.user.uid = 10;
  p.user.gid = 20;
  p.capabilities = oci::Capabilities{{"CAP_KILL"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}};
  p.rlimits = {{"RLIMIT_NOFILE", 100, 50}};
  p.no_new_privileges = true;
  p.apparmor_profile = "container-profile";
  p.console_size = oci::ConsoleSize{10, 20};
  return p;
}

TEST(ExecSpec, FlagsOverrideTheContainersProcess) {
  ExecOptions o;
  o.args = {"/bin/sh", "-c", "x"};
  o.cwd = "/tmp";
  o.env = {"A=2", "B=3"};
  o.user = "1000:1001";
  o.additional_gids = {5, 6};
  o.caps = {"CAP_SYS_ADMIN", "CAP_KILL"};
  o.tty = true;
  auto p = exec_process_from_flags(o, container_process());
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->args, o.args);
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_EQ(p->env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=3"}));
  EXPECT_EQ(p->user.uid, 1000u);
  EXPECT_EQ(p->user.gid, 1001u);
  EXPECT_EQ(p->user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p->capabilities->bounding, (std::vector<std::string>{"CAP_KILL", "CAP_SYS_ADMIN"}));
  EXPECT_EQ(p->capabilities->effective, (std::vector<std::string>{"CAP_KILL", "CAP_SYS_ADMIN"}));
  EXPECT_TRUE(p->capabilities->ambient.empty()) << "no inheritable set: --cap is not made ambient";
  EXPECT_TRUE(p->terminal);
  EXPECT_FALSE(p->console_size) << "the container's console size is its own terminal's";
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_EQ(p->apparmor_profile, "container-profile");
}

TEST(ExecSpec, UserWithoutGidKeepsTheContainersGid) {
  ExecOptions o;
  o.args = {"/bin/true"};
  o.user = "7";
  auto p = exec_process_from_flags(o, container_process());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user.uid, 7u);
  EXPECT_EQ(p->user.gid, 20u);
}

TEST(ExecSpec, Errors) {
  ExecOptions o;
  auto p = exec_process_from_flags(o, container_process());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what(), "process args cannot be empty");
  o.args = {"/bin/true"};
  o.user = "root";
  p = exec_process_from_flags(o, container_process());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().what().find("\"root\""), std::string::npos) << p.error().what();
  o.user = "1:x";
  EXPECT_FALSE(exec_process_from_flags(o, container_process()));
  o.user.clear();
  o.cwd = "relative";
  p = exec_process_from_flags(o, container_process());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().what().find("process.cwd"), std::string::npos) << p.error().what();
  o.cwd.clear();
  o.additional_gids = {-1};
  EXPECT_FALSE(exec_process_from_flags(o, container_process()));
}

TEST(ExecSpec, ContainerDefaultsFillWhatTheProcessLeavesUnset) {
  oci::Process own;
  own.args = {"/bin/true"};
  own.cwd = "/";
  auto p = with_container_defaults(own, container_process());
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding, (std::vector<std::string>{"CAP_KILL"}));
  EXPECT_EQ(p.rlimits.size(), 1u);
  EXPECT_TRUE(p.no_new_privileges) << "never fewer restrictions than the container";
  EXPECT_EQ(p.apparmor_profile, "container-profile");

  own.capabilities = oci::Capabilities{};
  own.rlimits = {{"RLIMIT_CORE", 1, 1}};
  own.apparmor_profile = "mine";
  p = with_container_defaults(own, container_process());
  EXPECT_TRUE(p.capabilities->bounding.empty()) << "an explicit set is kept";
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_CORE");
  EXPECT_EQ(p.apparmor_profile, "mine");
}

TEST(ExecSpec, MergeEnvLastWins) {
  EXPECT_EQ(merge_env({"A=1", "B=2", "A=3", "C", "C=4"}), (std::vector<std::string>{"A=3", "B=2", "C=4"}));
}

}  // namespace
}  // namespace berth::runtime
