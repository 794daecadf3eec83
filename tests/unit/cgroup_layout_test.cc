// Pure tests of cgroup layout detection and path rules, on mountinfo fixtures.
#include <gtest/gtest.h>

#include "runtime/cgroup.h"

namespace berth::runtime::cgroup {
namespace {

// This machine (hybrid, hugetlb only in the unified mount).
constexpr const char* kHybrid = R"(22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";
constexpr const char* kHybridSelf = R"(9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/e4f6
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
)";

// A systemd v1 host: joined controllers, flags among the options, a bind mount.
constexpr const char* kV1 = R"(25 1 8:1 / / rw - ext4 /dev/sda1 rw
26 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
27 26 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
30 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpu,cpuacct
31 26 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:14 - cgroup cgroup rw,net_cls,net_prio
32 26 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
33 26 0:29 / /sys/fs/cgroup/cpuset rw,nosuid shared:16 - cgroup cgroup rw,cpuset,clone_children
90 25 0:28 /some /var/lib/x/memory rw shared:15 - cgroup cgroup rw,memory
)";
constexpr const char* kV1Self = R"(12:cpuset:/
11:memory:/user.slice/user-0.slice/session-1.scope
4:cpuacct,cpu:/user.slice
3:net_prio,net_cls:/
1:name=systemd:/user.slice/user-0.slice/session-1.scope
)";

constexpr const char* kV2 = R"(25 1 8:1 / / rw - ext4 /dev/sda1 rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
)";
constexpr const char* kV2Self = "0::/user.slice/user-0.slice/session-2.scope\n";

TEST(CgroupLayout, Hybrid) {
  auto l = layout_from_mountinfo(kHybrid, kHybridSelf);
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::hybrid);
  ASSERT_EQ(l->hierarchies.size(), 10u);
  const auto& mem = l->hierarchies[3];
  EXPECT_EQ(mem.mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mem.controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(mem.self, "/process_api/e4f6");
  EXPECT_FALSE(mem.unified);
  EXPECT_EQ(l->hierarchies[8].controllers, std::vector<std::string>{"name=systemd"});
  const auto& u = l->hierarchies.back();
  EXPECT_TRUE(u.unified);
  EXPECT_EQ(u.mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(u.self, "/");
}

TEST(CgroupLayout, PureV1) {
  auto l = layout_from_mountinfo(kV1, kV1Self);
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::v1);
  // The bind mount of the memory hierarchy at /var/lib/x/memory counts once.
  ASSERT_EQ(l->hierarchies.size(), 5u);
  EXPECT_EQ(l->hierarchies[0].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(l->hierarchies[0].self, "/user.slice/user-0.slice/session-1.scope");
  EXPECT_EQ(l->hierarchies[1].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(l->hierarchies[1].self, "/user.slice");  // "cpuacct,cpu" in another order
  EXPECT_EQ(l->hierarchies[2].controllers, (std::vector<std::string>{"net_cls", "net_prio"}));
  EXPECT_EQ(l->hierarchies[3].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l->hierarchies[4].controllers, std::vector<std::string>{"cpuset"});
  for (const auto& h : l->hierarchies) EXPECT_FALSE(h.unified);
}

TEST(CgroupLayout, PureV2) {
  auto l = layout_from_mountinfo(kV2, kV2Self);
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::v2);
  ASSERT_EQ(l->hierarchies.size(), 1u);
  EXPECT_TRUE(l->hierarchies[0].unified);
  EXPECT_EQ(l->hierarchies[0].mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(l->hierarchies[0].self, "/user.slice/user-0.slice/session-2.scope");
}

TEST(CgroupLayout, V2AtRootWinsOverStrayV1Mounts) {
  std::string text = std::string(kV2) + "40 30 0:50 / /run/x rw - cgroup cgroup rw,name=foo\n";
  auto l = layout_from_mountinfo(text, kV2Self);
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::v2);
  ASSERT_EQ(l->hierarchies.size(), 1u);
}

TEST(CgroupLayout, NoCgroupsIsAnError) {
  auto l = layout_from_mountinfo("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().what().find("no cgroup"), std::string::npos);
}

TEST(CgroupLayout, OnlyACgroup2ElsewhereIsV2) {
  auto l = layout_from_mountinfo("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n26 25 0:9 / /tmp/cg rw - cgroup2 none rw\n",
                                 "0::/a\n");
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, Mode::v2);
  EXPECT_EQ(l->hierarchies[0].mount_point, "/tmp/cg");
}

Hierarchy hier(std::string mp, std::string root, std::string self) {
  return Hierarchy{.mount_point = std::move(mp), .root = std::move(root), .controllers = {}, .unified = false,
                   .self = std::move(self)};
}

TEST(CgroupResolve, AbsoluteIsBelowTheMount) {
  auto h = hier("/sys/fs/cgroup/memory", "/", "/process_api/x");
  EXPECT_EQ(resolve_dir(h, Mode::v1, "/berth/c1", "id").value(), "/sys/fs/cgroup/memory/berth/c1");
  EXPECT_EQ(resolve_dir(h, Mode::v1, "//a/./b//", "id").value(), "/sys/fs/cgroup/memory/a/b");
  EXPECT_EQ(resolve_dir(h, Mode::v1, "/a/../b", "id").value(), "/sys/fs/cgroup/memory/b");
  // Inside a container whose cgroup is mounted with a non-/ root: still the visible root.
  auto c = hier("/sys/fs/cgroup/memory", "/docker/abc", "/docker/abc");
  EXPECT_EQ(resolve_dir(c, Mode::v1, "/x", "id").value(), "/sys/fs/cgroup/memory/x");
}

TEST(CgroupResolve, RelativeIsBelowOwnCgroup) {
  auto h = hier("/sys/fs/cgroup/memory", "/", "/process_api/x");
  EXPECT_EQ(resolve_dir(h, Mode::hybrid, "a/b", "id").value(), "/sys/fs/cgroup/memory/process_api/x/a/b");
  auto root = hier("/sys/fs/cgroup/pids", "/", "/");
  EXPECT_EQ(resolve_dir(root, Mode::v1, "a", "id").value(), "/sys/fs/cgroup/pids/a");
  // The mount's root is taken off the own cgroup.
  auto c = hier("/sys/fs/cgroup/memory", "/docker/abc", "/docker/abc/sub");
  EXPECT_EQ(resolve_dir(c, Mode::v1, "a", "id").value(), "/sys/fs/cgroup/memory/sub/a");
  // Own cgroup not visible under the mount: the mount point.
  auto away = hier("/sys/fs/cgroup/memory", "/docker/abc", "/docker/abcd");
  EXPECT_EQ(resolve_dir(away, Mode::v1, "a", "id").value(), "/sys/fs/cgroup/memory/a");
  // Not listed in /proc/self/cgroup: the mount point.
  auto unknown = hier("/sys/fs/cgroup/x", "/", "");
  EXPECT_EQ(resolve_dir(unknown, Mode::v1, "a", "id").value(), "/sys/fs/cgroup/x/a");
}

TEST(CgroupResolve, V2RelativeIsBelowTheParentOfOwnCgroup) {
  auto h = hier("/sys/fs/cgroup", "/", "/user.slice/session-2.scope");
  h.unified = true;
  EXPECT_EQ(resolve_dir(h, Mode::v2, "c1", "id").value(), "/sys/fs/cgroup/user.slice/c1");
  auto top = hier("/sys/fs/cgroup", "/", "/");
  EXPECT_EQ(resolve_dir(top, Mode::v2, "c1", "id").value(), "/sys/fs/cgroup/c1");
  // In a hybrid layout the unified mount follows the v1 rule.
  EXPECT_EQ(resolve_dir(h, Mode::hybrid, "c1", "id").value(), "/sys/fs/cgroup/user.slice/session-2.scope/c1");
}

TEST(CgroupResolve, EmptyIsTheIdBelowOwnCgroup) {
  auto h = hier("/sys/fs/cgroup/memory", "/", "/process_api/x");
  EXPECT_EQ(resolve_dir(h, Mode::v1, "", "ctr-1").value(), "/sys/fs/cgroup/memory/process_api/x/ctr-1");
}

TEST(CgroupResolve, RefusesEscapesAndTheStartItself) {
  auto h = hier("/sys/fs/cgroup/memory", "/", "/process_api/x");
  for (const char* bad : {"../x", "/../x", "a/../../x", "/", ".", "/a/..", ""}) {
    auto r = resolve_dir(h, Mode::v1, bad, bad[0] ? "id" : "..");
    ASSERT_FALSE(r) << bad << " -> " << r.value();
    EXPECT_FALSE(r.error().what().empty());
  }
  auto r = resolve_dir(h, Mode::v1, "/../etc", "id");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "linux.cgroupsPath \"/../etc\": \"..\" climbs above the hierarchy's root");
}

}  // namespace
}  // namespace berth::runtime::cgroup
