// The pure conversions of linux.resources to cgroup values (runc 1.1's rules),
// the device filter program (run by a small interpreter of the instructions it
// uses), update merging, and `update`'s size parser.
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include "oci/config.h"
#include "runtime/cgroup_convert.h"
#include "runtime/update.h"

namespace berth::runtime::cgroup {
namespace {

TEST(CgroupConvert, CpuSharesToWeightIsRuncs) {
  EXPECT_EQ(cpu_shares_to_weight(0), 0u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);  // runc 1.1; crun's log formula gives 100
  EXPECT_EQ(cpu_shares_to_weight(512), 20u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
}

TEST(CgroupConvert, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupConvert, SwapIsMemoryPlusSwapOnV1AndSwapAloneOnV2) {
  auto v2 = [](std::optional<int64_t> swap, std::optional<int64_t> limit) { return memory_swap_to_v2(swap, limit); };
  EXPECT_EQ(*v2(128 << 20, 64 << 20), std::optional<int64_t>(64 << 20));
  EXPECT_EQ(*v2(64 << 20, 64 << 20), std::optional<int64_t>(0));  // no swap at all
  EXPECT_EQ(*v2(-1, 64 << 20), std::optional<int64_t>(-1));
  EXPECT_EQ(*v2(std::nullopt, -1), std::optional<int64_t>(-1));  // both unlimited
  EXPECT_EQ(*v2(std::nullopt, 64 << 20), std::optional<int64_t>());
  EXPECT_EQ(*v2(std::nullopt, std::nullopt), std::optional<int64_t>());
  auto below = v2(32 << 20, 64 << 20);
  ASSERT_FALSE(below);
  EXPECT_NE(below.error().what().find("lower than the memory limit"), std::string::npos);
  EXPECT_FALSE(v2(128 << 20, std::nullopt));
  EXPECT_FALSE(v2(128 << 20, -1));
}

TEST(CgroupConvert, CpuMax) {
  EXPECT_EQ(cpu_max(50000, 100000), "50000 100000");
  EXPECT_EQ(cpu_max(-1, 100000), "max 100000");
  EXPECT_EQ(cpu_max(50000, std::nullopt), "50000");
  EXPECT_EQ(cpu_max(std::nullopt, 100000), "max 100000");
  EXPECT_EQ(cpu_max(std::nullopt, std::nullopt), "");
  EXPECT_EQ(cpu_max(0, 0), "");
}

TEST(CgroupConvert, MaxOrNumberAndRdma) {
  EXPECT_EQ(max_or_number(-1), "max");
  EXPECT_EQ(max_or_number(4096), "4096");
  EXPECT_EQ(rdma_max_line("mlx5_1", {.hca_handles = 3, .hca_objects = std::nullopt}),
            "mlx5_1 hca_handle=3 hca_object=max");
}

TEST(CgroupConvert, V1DeviceRules) {
  EXPECT_EQ(v1_device_rule({.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"}), "a *:* rwm");
  EXPECT_EQ(v1_device_rule({.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rw"}), "c 1:3 rw");
  EXPECT_EQ(v1_device_rule({.allow = true, .type = "c", .major = 136, .minor = {}, .access = ""}), "c 136:* rwm");
  EXPECT_EQ(v1_device_rule({.allow = true, .type = "b", .major = -1, .minor = -1, .access = "m"}), "b *:* m");
}

TEST(CgroupConvert, DefaultDevicesFollowTheSpecRules) {
  std::vector<oci::DeviceCgroupRule> spec = {{.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"}};
  auto rules = effective_device_rules(spec);
  ASSERT_EQ(rules.size(), 11u);
  EXPECT_EQ(v1_device_rule(rules[0]), "a *:* rwm");
  EXPECT_EQ(v1_device_rule(rules[1]), "c *:* m");
  EXPECT_EQ(v1_device_rule(rules[3]), "c 1:3 rwm");
  EXPECT_EQ(v1_device_rule(rules.back()), "c 5:2 rwm");
}

// Runs the device program on one access: the instructions
// device_filter_program emits, and nothing else.
int run_filter(const std::vector<bpf_insn>& p, uint32_t type, uint32_t access, uint32_t major, uint32_t minor) {
  uint64_t r[11] = {};
  uint32_t ctx[3] = {type | (access << 16), major, minor};
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const bpf_insn& i = p[pc];
    uint64_t src = (BPF_SRC(i.code) == BPF_X) ? r[i.src_reg] : static_cast<uint32_t>(i.imm);
    switch (BPF_CLASS(i.code)) {
      case BPF_LDX:
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU:
        switch (BPF_OP(i.code)) {
          case BPF_AND: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & src); break;
          case BPF_RSH: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> src; break;
          case BPF_MOV: r[i.dst_reg] = static_cast<uint32_t>(src); break;
          default: ADD_FAILURE() << "unexpected alu op at " << pc; return -1;
        }
        break;
      case BPF_JMP32: {
        uint32_t a = static_cast<uint32_t>(r[i.dst_reg]), b = static_cast<uint32_t>(src);
        bool jump = BPF_OP(i.code) == BPF_JNE ? a != b : BPF_OP(i.code) == BPF_JEQ ? a == b : false;
        if (jump) pc += i.off;
        break;
      }
      case BPF_JMP:
        if (BPF_OP(i.code) == BPF_EXIT) return static_cast<int>(r[0]);
        ADD_FAILURE() << "unexpected jmp op at " << pc;
        return -1;
      default:
        ADD_FAILURE() << "unexpected class at " << pc;
        return -1;
    }
  }
  ADD_FAILURE() << "fell off the end";
  return -1;
}

constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

TEST(CgroupConvert, DeviceFilterFollowsTheRuleList) {
  std::vector<oci::DeviceCgroupRule> spec = {
      {.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"},
      {.allow = true, .type = "c", .major = 1, .minor = 12, .access = "r"},
      {.allow = true, .type = "b", .major = 7, .minor = {}, .access = "rw"},
      {.allow = false, .type = "b", .major = 7, .minor = 3, .access = "w"},
  };
  auto p = device_filter_program(effective_device_rules(spec));
  EXPECT_EQ(run_filter(p, C, R, 1, 12), 1);
  EXPECT_EQ(run_filter(p, C, W, 1, 12), 0);
  EXPECT_EQ(run_filter(p, C, R | W, 1, 12), 0);   // one rule must grant all
  EXPECT_EQ(run_filter(p, C, R, 1, 11), 0);       // not listed
  EXPECT_EQ(run_filter(p, B, R | W, 7, 1), 1);    // major wildcard
  EXPECT_EQ(run_filter(p, B, R, 7, 3), 1);        // the later deny takes only w
  EXPECT_EQ(run_filter(p, B, R | W, 7, 3), 0);
  EXPECT_EQ(run_filter(p, C, R | W, 1, 3), 1);    // defaults: /dev/null
  EXPECT_EQ(run_filter(p, C, R | W, 136, 5), 1);  // /dev/pts/*
  EXPECT_EQ(run_filter(p, B, M, 8, 0), 1);        // mknod of anything
  EXPECT_EQ(run_filter(p, B, R, 8, 0), 0);
}

TEST(CgroupConvert, DeviceFilterAllowAllThenDeny) {
  std::vector<oci::DeviceCgroupRule> spec = {
      {.allow = true, .type = "a", .major = {}, .minor = {}, .access = "rwm"},
      {.allow = false, .type = "c", .major = 1, .minor = 12, .access = "rwm"},
  };
  auto p = device_filter_program(spec);
  EXPECT_EQ(run_filter(p, C, R, 1, 12), 0);
  EXPECT_EQ(run_filter(p, C, R, 1, 13), 1);
  EXPECT_EQ(run_filter(p, B, R | W | M, 8, 0), 1);
  // A rule matching everything ends the program: nothing after it is unreachable.
  EXPECT_EQ(p.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(device_filter_program({}).size(), 8u);  // loads, deny, exit
  EXPECT_EQ(run_filter(device_filter_program({}), C, R, 1, 3), 0);
}

TEST(CgroupConvert, MergeKeepsWhatTheUpdateLeavesOut) {
  oci::Resources cur;
  cur.memory = oci::MemoryResources{.limit = 64 << 20, .swap = 128 << 20, .check_before_update = true};
  cur.pids = oci::PidsResources{.limit = 100};
  cur.unified = {{"memory.high", "1000000"}};
  cur.hugepage_limits = {{"2MB", 4 << 20}};
  oci::Resources up;
  up.memory = oci::MemoryResources{.limit = 32 << 20};
  up.cpu = oci::CpuResources{.quota = 20000};
  up.unified = {{"pids.max", "7"}};
  up.hugepage_limits = {{"2MB", 2 << 20}, {"1GB", 0}};
  auto m = merge_resources(cur, up);
  EXPECT_EQ(m.memory->limit, 32 << 20);
  EXPECT_EQ(m.memory->swap, 128 << 20);
  EXPECT_EQ(m.memory->check_before_update, true);
  EXPECT_EQ(m.pids->limit, 100);
  EXPECT_EQ(m.cpu->quota, 20000);
  EXPECT_EQ(m.unified.size(), 2u);
  ASSERT_EQ(m.hugepage_limits.size(), 2u);
  EXPECT_EQ(m.hugepage_limits[0].limit, 2u << 20);

  // The delta carries swap (for v2's conversion) and checkBeforeUpdate.
  auto d = update_delta(m, up);
  EXPECT_EQ(d.memory->limit, 32 << 20);
  EXPECT_EQ(d.memory->swap, 128 << 20);
  EXPECT_EQ(d.memory->check_before_update, true);
  EXPECT_FALSE(d.pids);
  EXPECT_EQ(d.cpu->quota, 20000);
  EXPECT_FALSE(d.cpu->period);
}

TEST(CgroupConvert, ResourcesJsonRoundTrip) {
  auto r = oci::parse_resources(
      R"({"memory":{"limit":67108864,"checkBeforeUpdate":true},"pids":{"limit":7},"unified":{"io.weight":"50"},)"
      R"("devices":[{"allow":false,"access":"rwm"}]})");
  ASSERT_TRUE(r) << r.error().what();
  auto again = oci::parse_resources(oci::resources_to_json(*r));
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->memory->limit, 67108864);
  EXPECT_EQ(again->memory->check_before_update, true);
  EXPECT_EQ(again->pids->limit, 7);
  EXPECT_EQ(again->unified.at("io.weight"), "50");
  EXPECT_EQ(again->devices.size(), 1u);
  auto bad = oci::parse_resources(R"({"memory":{"swappiness":200}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("linux.resources.memory.swappiness"), std::string::npos);
  EXPECT_FALSE(oci::parse_resources("{"));
}

TEST(CgroupConvert, RamSizes) {
  EXPECT_EQ(*parse_ram_size("64m", "--memory"), 64 << 20);
  EXPECT_EQ(*parse_ram_size("64M", "--memory"), 64 << 20);
  EXPECT_EQ(*parse_ram_size("64MiB", "--memory"), 64 << 20);
  EXPECT_EQ(*parse_ram_size("1g", "--memory"), 1 << 30);
  EXPECT_EQ(*parse_ram_size("1.5k", "--memory"), 1536);
  EXPECT_EQ(*parse_ram_size("4096", "--memory"), 4096);
  EXPECT_EQ(*parse_ram_size("100b", "--memory"), 100);
  EXPECT_EQ(*parse_ram_size("-1", "--memory"), -1);
  auto bad = parse_ram_size("10x", "--memory-swap");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("--memory-swap"), std::string::npos);
  EXPECT_FALSE(parse_ram_size("", "--memory"));
  EXPECT_FALSE(parse_ram_size("m", "--memory"));
}

}  // namespace
}  // namespace berth::runtime::cgroup
