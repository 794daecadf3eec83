// Which namespaces the runtime's clone() makes and which the init unshares
// itself (NamespacePlan::init_unshare_flags).
#include <sched.h>

#include <gtest/gtest.h>

#include "runtime/namespaces.h"

namespace berth::runtime {
namespace {

NamespacePlan plan_of(std::vector<oci::Namespace> namespaces) {
  oci::Linux linux;
  linux.namespaces = std::move(namespaces);
  auto plan = plan_namespaces(linux);
  EXPECT_TRUE(plan) << plan.error().what();
  return plan ? std::move(*plan) : NamespacePlan{};
}

constexpr int kInitMade = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;

TEST(NamespacePlan, TheInitUnsharesMountNetworkIpcUtsAndClonesOnlyThePidNamespace) {
  auto plan = plan_of({{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"cgroup", ""}});
  EXPECT_EQ(plan.init_unshare_flags(), kInitMade);
  EXPECT_EQ(plan.init_clone_flags(), CLONE_NEWPID);
  // cgroup stays the init's own later unshare, after it joined its cgroups.
  EXPECT_TRUE(plan.new_cgroup);
}

TEST(NamespacePlan, OnlyWhatIsNewIsUnshared) {
  auto plan = plan_of({{"mount", ""}, {"uts", ""}});
  EXPECT_EQ(plan.init_unshare_flags(), CLONE_NEWNS | CLONE_NEWUTS);
  EXPECT_EQ(plan.init_clone_flags(), 0);
}

TEST(NamespacePlan, WithANewUserNamespaceCloneMakesEverything) {
  auto plan = plan_of({{"user", ""}, {"pid", ""}, {"network", ""}, {"mount", ""}});
  EXPECT_EQ(plan.init_unshare_flags(), 0);
  EXPECT_EQ(plan.init_clone_flags(), CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS);
}

TEST(NamespacePlan, ThroughAnIntermediateCloneMakesEverything) {
  auto plan = plan_of({{"pid", ""}, {"network", "/proc/self/ns/net"}, {"mount", ""}, {"ipc", ""}});
  ASSERT_TRUE(plan.needs_intermediate());
  EXPECT_EQ(plan.init_unshare_flags(), 0);
  EXPECT_EQ(plan.init_clone_flags(), CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC);
}

}  // namespace
}  // namespace berth::runtime
