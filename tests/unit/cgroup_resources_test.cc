// apply_resources() against fake hierarchies: plain directories with the
// files a kernel would show, so the v2 writers (which this hybrid host cannot
// run for memory, cpu, pids or io: those controllers are bound to v1) and the
// v1/hybrid placement are checked for file names and values without root.
// Updates (opts.update) leave devices alone: their program needs a real cgroup2
// directory (tested in tests/integration/resources_test.cc).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "runtime/cgroup_resources.h"

namespace fs = std::filesystem;

namespace berth::runtime::cgroup {
namespace {

struct FakeRoot {
  std::string dir;
  FakeRoot() {
    std::string tmpl = "/tmp/berth-test-cgres-XXXXXX";
    dir = ::mkdtemp(tmpl.data());
  }
  ~FakeRoot() { fs::remove_all(dir); }
  // A hierarchy at dir/name whose container directory "ctr" has `files` (empty).
  std::string hierarchy(const std::string& name, std::initializer_list<const char*> files) {
    std::string mount = dir + "/" + name;
    fs::create_directories(mount + "/ctr");
    std::ofstream(mount + "/cgroup.subtree_control");
    for (const char* f : files) std::ofstream(mount + "/ctr/" + f);
    return mount;
  }
};

std::string content(const std::string& path) {
  auto s = read_file(path);
  return s ? *s : "<missing>";
}

Hierarchy v2_hierarchy(const std::string& mount, std::vector<std::string> controllers) {
  return {.mount_point = mount, .root = "/", .controllers = std::move(controllers), .unified = true, .self = "/"};
}
Hierarchy v1_hierarchy(const std::string& mount, std::vector<std::string> controllers) {
  return {.mount_point = mount, .root = "/", .controllers = std::move(controllers), .unified = false, .self = "/"};
}

TEST(CgroupResources, V2FilesAndConversions) {
  FakeRoot root;
  std::string m = root.hierarchy("v2", {"memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max",
                                        "cpu.max.burst", "cpu.idle", "pids.max", "io.weight", "io.max", "cpuset.cpus",
                                        "cpuset.mems", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "memory.high"});
  Layout layout{.mode = Mode::v2, .hierarchies = {v2_hierarchy(m, {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"})}};
  oci::Resources r;
  r.memory = oci::MemoryResources{.limit = 64 << 20, .reservation = 32 << 20, .swap = 128 << 20};
  r.cpu = oci::CpuResources{.shares = 1024, .quota = 50000, .burst = 1000, .period = 100000, .cpus = "0-1", .mems = "0",
                            .idle = 1};
  r.pids = oci::PidsResources{.limit = -1};
  r.block_io = oci::BlockIoResources{.weight = 500, .throttle_read_bps_device = {{8, 0, 1048576}}};
  r.hugepage_limits = {{"2MB", 4 << 20}};
  r.unified = {{"memory.high", "100000000"}};
  auto res = apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true});
  ASSERT_TRUE(res) << res.error().what();
  std::string c = m + "/ctr/";
  EXPECT_EQ(content(c + "memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(content(c + "memory.swap.max"), std::to_string(64 << 20));  // memsw 128M - memory 64M
  EXPECT_EQ(content(c + "memory.low"), std::to_string(32 << 20));
  EXPECT_EQ(content(c + "cpu.weight"), "39");
  EXPECT_EQ(content(c + "cpu.max"), "50000 100000");
  EXPECT_EQ(content(c + "cpu.max.burst"), "1000");
  EXPECT_EQ(content(c + "cpu.idle"), "1");
  EXPECT_EQ(content(c + "pids.max"), "max");
  EXPECT_EQ(content(c + "io.weight"), "4950");
  EXPECT_EQ(content(c + "io.max"), "8:0 rbps=1048576");
  EXPECT_EQ(content(c + "cpuset.cpus"), "0-1");
  EXPECT_EQ(content(c + "hugetlb.2MB.max"), std::to_string(4 << 20));
  EXPECT_EQ(content(c + "hugetlb.2MB.rsvd.max"), std::to_string(4 << 20));
  EXPECT_EQ(content(c + "memory.high"), "100000000");
  // controllers were enabled in the parent
  EXPECT_EQ(content(m + "/cgroup.subtree_control").substr(0, 1), "+");
}

// checkBeforeUpdate compares a new limit with memory.current (usage_in_bytes on v1).
TEST(CgroupResources, CheckBeforeUpdate) {
  FakeRoot root;
  std::string m = root.hierarchy("v2", {"memory.max", "memory.current"});
  write_file(m + "/ctr/memory.current", "100000000\n").value();
  Layout layout{.mode = Mode::v2, .hierarchies = {v2_hierarchy(m, {"memory"})}};
  oci::Resources r;
  r.memory = oci::MemoryResources{.limit = 50000000, .check_before_update = true};
  auto e = apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("50000000 is below the container's current memory usage 100000000"),
            std::string::npos)
      << e.error().what();
  EXPECT_EQ(content(m + "/ctr/memory.max"), "");
  r.memory->limit = 200000000;
  ASSERT_TRUE(apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true}));
  EXPECT_EQ(content(m + "/ctr/memory.max"), "200000000");
  // Without the flag, or at create, the usage is not looked at.
  r.memory = oci::MemoryResources{.limit = 50000000};
  EXPECT_TRUE(apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true}));
}

TEST(CgroupResources, V2BfqTakesTheV1Weight) {
  FakeRoot root;
  std::string m = root.hierarchy("v2", {"io.bfq.weight", "io.weight"});
  Layout layout{.mode = Mode::v2, .hierarchies = {v2_hierarchy(m, {"io"})}};
  oci::Resources r;
  r.block_io = oci::BlockIoResources{.weight = 500};
  ASSERT_TRUE(apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true}));
  EXPECT_EQ(content(m + "/ctr/io.bfq.weight"), "500");
  EXPECT_EQ(content(m + "/ctr/io.weight"), "");
}

TEST(CgroupResources, V2ErrorsNameFieldAndController) {
  FakeRoot root;
  std::string m = root.hierarchy("v2", {"memory.max"});
  Layout layout{.mode = Mode::v2, .hierarchies = {v2_hierarchy(m, {"memory", "hugetlb"})}};
  auto apply = [&](const oci::Resources& r) { return apply_resources(layout, {{m, m + "/ctr"}}, r, {.update = true}); };
  oci::Resources pids;
  pids.pids = oci::PidsResources{.limit = 5};
  auto e = apply(pids);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.pids: the pids cgroup controller is not available"),
            std::string::npos)
      << e.error().what();
  EXPECT_NE(e.error().what().find("offers: hugetlb memory"), std::string::npos) << e.error().what();

  oci::Resources swap;  // no memory.swap.max: the kernel does not account swap
  swap.memory = oci::MemoryResources{.limit = 64 << 20, .swap = 128 << 20};
  e = apply(swap);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.memory.swap: the kernel does not account swap"), std::string::npos);

  oci::Resources rt;
  rt.cpu = oci::CpuResources{.realtime_runtime = 1000};
  EXPECT_FALSE(apply(rt));

  oci::Resources classid;
  classid.network = oci::NetworkResources{.class_id = 7};
  e = apply(classid);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.network.classID: has no cgroup v2 equivalent"), std::string::npos);

  oci::Resources unified;
  unified.unified = {{"rdma.max", "x"}};
  e = apply(unified);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.unified[\"rdma.max\"]: the rdma controller is not available"),
            std::string::npos)
      << e.error().what();

  // Fields nobody asks for need no controller.
  oci::Resources empty;
  empty.cpu = oci::CpuResources{};
  empty.block_io = oci::BlockIoResources{};
  EXPECT_TRUE(apply(empty));
}

TEST(CgroupResources, V1FilesMemswAndBfq) {
  FakeRoot root;
  std::string mem = root.hierarchy("memory", {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                              "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control",
                                              "memory.kmem.tcp.limit_in_bytes"});
  std::string cpu = root.hierarchy("cpu,cpuacct", {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"});
  std::string blkio = root.hierarchy("blkio", {"blkio.bfq.weight", "blkio.bfq.weight_device",
                                               "blkio.throttle.write_iops_device"});
  std::string pids = root.hierarchy("pids", {"pids.max"});
  write_file(mem + "/ctr/memory.limit_in_bytes", "9223372036854771712").value();
  Layout layout{.mode = Mode::v1,
                .hierarchies = {v1_hierarchy(mem, {"memory"}), v1_hierarchy(cpu, {"cpu", "cpuacct"}),
                                v1_hierarchy(blkio, {"blkio"}), v1_hierarchy(pids, {"pids"})}};
  std::map<std::string, std::string> paths = {
      {mem, mem + "/ctr"}, {cpu, cpu + "/ctr"}, {blkio, blkio + "/ctr"}, {pids, pids + "/ctr"}};
  oci::Resources r;
  r.memory = oci::MemoryResources{.limit = 67108864, .reservation = 33554432, .swap = 134217728, .kernel_tcp = 1048576,
                                  .swappiness = 10, .disable_oom_killer = true};
  r.cpu = oci::CpuResources{.shares = 512, .quota = 50000, .period = 100000};
  r.block_io = oci::BlockIoResources{.weight = 300, .weight_device = {{8, 0, 200, std::nullopt}},
                                     .throttle_write_iops_device = {{8, 0, 300}}};
  r.pids = oci::PidsResources{.limit = 10};
  auto res = apply_resources(layout, paths, r, {.update = true});
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(content(mem + "/ctr/memory.limit_in_bytes").substr(0, 8), "67108864");
  EXPECT_EQ(content(mem + "/ctr/memory.memsw.limit_in_bytes"), "134217728");  // memory+swap as given
  EXPECT_EQ(content(mem + "/ctr/memory.soft_limit_in_bytes"), "33554432");
  EXPECT_EQ(content(mem + "/ctr/memory.swappiness"), "10");
  EXPECT_EQ(content(mem + "/ctr/memory.oom_control"), "1");
  EXPECT_EQ(content(mem + "/ctr/memory.kmem.tcp.limit_in_bytes"), "1048576");
  EXPECT_EQ(content(cpu + "/ctr/cpu.shares"), "512");
  EXPECT_EQ(content(cpu + "/ctr/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(content(cpu + "/ctr/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(content(blkio + "/ctr/blkio.bfq.weight"), "300");  // no blkio.weight: BFQ's file
  EXPECT_EQ(content(blkio + "/ctr/blkio.bfq.weight_device"), "8:0 200");
  EXPECT_EQ(content(blkio + "/ctr/blkio.throttle.write_iops_device"), "8:0 300");
  EXPECT_EQ(content(pids + "/ctr/pids.max"), "10");
}

// Hybrid: each controller where it is mounted; the unified mount takes what
// only it has, and unified values; a controller that is nowhere is named.
TEST(CgroupResources, HybridPlacement) {
  FakeRoot root;
  std::string mem = root.hierarchy("memory", {"memory.limit_in_bytes"});
  std::string uni = root.hierarchy("unified", {"hugetlb.2MB.max", "hugetlb.1GB.max"});
  Layout layout{.mode = Mode::hybrid,
                .hierarchies = {v1_hierarchy(mem, {"memory"}), v2_hierarchy(uni, {"hugetlb"})}};
  std::map<std::string, std::string> paths = {{mem, mem + "/ctr"}, {uni, uni + "/ctr"}};
  oci::Resources r;
  r.memory = oci::MemoryResources{.limit = 1 << 20};
  r.hugepage_limits = {{"2MB", 2 << 20}};
  r.unified = {{"hugetlb.1GB.max", "0"}};
  auto res = apply_resources(layout, paths, r, {.update = true});
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(content(mem + "/ctr/memory.limit_in_bytes"), std::to_string(1 << 20));
  EXPECT_EQ(content(uni + "/ctr/hugetlb.2MB.max"), std::to_string(2 << 20));
  EXPECT_EQ(content(uni + "/ctr/hugetlb.1GB.max"), "0");

  oci::Resources rdma;
  rdma.rdma = {{"mlx5_1", {.hca_handles = 3, .hca_objects = std::nullopt}}};
  auto e = apply_resources(layout, paths, rdma, {.update = true});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what(), "linux.resources.rdma: the rdma cgroup controller is not mounted");

  oci::Resources huge;  // a page size the kernel does not have
  huge.hugepage_limits = {{"16GB", 0}};
  e = apply_resources(layout, paths, huge, {.update = true});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.hugepageLimits[0]: the kernel has no 16GB huge pages"),
            std::string::npos);
}

TEST(CgroupResources, PureV1RefusesUnified) {
  FakeRoot root;
  std::string mem = root.hierarchy("memory", {"memory.limit_in_bytes"});
  Layout layout{.mode = Mode::v1, .hierarchies = {v1_hierarchy(mem, {"memory"})}};
  oci::Resources r;
  r.unified = {{"memory.max", "1"}};
  auto e = apply_resources(layout, {{mem, mem + "/ctr"}}, r, {.update = true});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what().find("linux.resources.unified: needs a cgroup2 hierarchy"), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime::cgroup
