// The capability name table: pure logic, no root needed.
#include <linux/capability.h>

#include <fstream>

#include <gtest/gtest.h>

#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

TEST(CapabilityNames, KnownNumbers) {
  EXPECT_EQ(capability_from_name("CAP_CHOWN").value(), CAP_CHOWN);
  EXPECT_EQ(capability_from_name("CAP_SETPCAP").value(), CAP_SETPCAP);
  EXPECT_EQ(capability_from_name("CAP_NET_BIND_SERVICE").value(), CAP_NET_BIND_SERVICE);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN").value(), CAP_SYS_ADMIN);
  EXPECT_EQ(capability_from_name("CAP_SYS_RESOURCE").value(), CAP_SYS_RESOURCE);
  EXPECT_EQ(capability_from_name("CAP_AUDIT_READ").value(), CAP_AUDIT_READ);
  EXPECT_EQ(capability_from_name("CAP_PERFMON").value(), 38);
  EXPECT_EQ(capability_from_name("CAP_BPF").value(), 39);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE").value(), 40);
}

TEST(CapabilityNames, RoundTripEveryNumber) {
  auto names = all_capability_names();
  ASSERT_EQ(names.size(), 41u);
  for (int c = 0; c <= 40; ++c) {
    std::string_view name = capability_name(c);
    ASSERT_FALSE(name.empty()) << c;
    EXPECT_TRUE(name.starts_with("CAP_")) << name;
    EXPECT_EQ(names[static_cast<size_t>(c)], name);
    auto back = capability_from_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, c);
  }
  EXPECT_EQ(capability_name(41), "");
  EXPECT_EQ(capability_name(-1), "");
}

TEST(CapabilityNames, UnknownNamesAreErrors) {
  for (std::string_view bad : {"CAP_FOO", "", "cap_chown", "CHOWN", "CAP_CHOWN ", "CAP_"}) {
    auto r = capability_from_name(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().what(), fmt::format("unknown capability \"{}\"", bad));
  }
}

TEST(CapabilityNames, LastCapabilityMatchesKernel) {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int kernel = -1;
  f >> kernel;
  ASSERT_GT(kernel, 30);
  EXPECT_EQ(last_capability(), kernel);
}

}  // namespace
}  // namespace berth::runtime
