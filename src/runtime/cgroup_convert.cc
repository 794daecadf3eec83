#include "runtime/cgroup_convert.h"

#include <algorithm>

namespace berth::runtime::cgroup {

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::optional<int64_t>> memory_swap_to_v2(std::optional<int64_t> swap, std::optional<int64_t> limit) {
  int64_t s = swap.value_or(0), m = limit.value_or(0);
  // As v1: memory unlimited and swap not given means both unlimited.
  if (m == -1 && s == 0) return std::optional<int64_t>(-1);
  if (s == 0) return std::optional<int64_t>();
  if (s == -1) return std::optional<int64_t>(-1);
  if (m == 0 || m == -1)
    return error("linux.resources.memory.swap: {} cannot be set without a memory limit", s);
  if (s < m)
    return error("linux.resources.memory.swap: {} (memory+swap) is lower than the memory limit {}", s, m);
  return std::optional<int64_t>(s - m);
}

std::string max_or_number(int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); }

std::string cpu_max(std::optional<int64_t> quota, std::optional<uint64_t> period) {
  bool has_quota = quota && *quota != 0;
  bool has_period = period && *period != 0;
  if (!has_quota && !has_period) return {};
  std::string s = has_quota && *quota > 0 ? std::to_string(*quota) : "max";
  if (has_period) s += " " + std::to_string(*period);
  return s;
}

std::string rdma_max_line(const std::string& device, const oci::RdmaLimit& limit) {
  auto value = [](const std::optional<uint32_t>& v) { return v ? std::to_string(*v) : std::string("max"); };
  return device + " hca_handle=" + value(limit.hca_handles) + " hca_object=" + value(limit.hca_objects);
}

std::vector<oci::DeviceCgroupRule> effective_device_rules(const std::vector<oci::DeviceCgroupRule>& spec_rules) {
  std::vector<oci::DeviceCgroupRule> rules = spec_rules;
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
    rules.push_back({.allow = true, .type = type, .major = major, .minor = minor, .access = access});
  };
  allow("c", std::nullopt, std::nullopt, "m");
  allow("b", std::nullopt, std::nullopt, "m");
  allow("c", 1, 3, "rwm");   // /dev/null
  allow("c", 1, 8, "rwm");   // /dev/random
  allow("c", 1, 7, "rwm");   // /dev/full
  allow("c", 5, 0, "rwm");   // /dev/tty
  allow("c", 1, 5, "rwm");   // /dev/zero
  allow("c", 1, 9, "rwm");   // /dev/urandom
  allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
  allow("c", 5, 2, "rwm");   // /dev/ptmx
  return rules;
}

std::string v1_device_rule(const oci::DeviceCgroupRule& r) {
  auto num = [](const std::optional<int64_t>& v) { return v && *v >= 0 ? std::to_string(*v) : std::string("*"); };
  std::string type = r.type.empty() ? "a" : r.type;
  std::string access = r.access.empty() ? "rwm" : r.access;
  return type + " " + num(r.major) + ":" + num(r.minor) + " " + access;
}

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

uint32_t access_bits(const std::string& access) {
  if (access.empty()) return BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
  uint32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

}  // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceCgroupRule>& rules) {
  constexpr uint32_t kAll = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
  std::vector<bpf_insn> p;
  // struct bpf_cgroup_dev_ctx { u32 access_type (type | access << 16); u32 major; u32 minor; }
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));  // r2 = access_type
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff));  // w2 &= 0xffff: device type
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0));  // r3 = access_type
  p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16));  // w3 >>= 16: access asked for
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));  // r4 = major
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));  // r5 = minor
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    // Each block jumps to the next one on a mismatch: the jumps are patched
    // once the block's length is known.
    std::vector<size_t> jumps;
    auto jump_if = [&](bpf_insn i) {
      jumps.push_back(p.size());
      p.push_back(i);
    };
    if (r.type == "c" || r.type == "b") {
      int32_t type = r.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
      jump_if(insn(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, 0, type));
    }
    uint32_t acc = access_bits(r.access);
    if (r.allow && acc != kAll) {
      // every access asked for must be granted: (w3 & acc) == w3
      p.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0));
      p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, static_cast<int32_t>(acc)));
      jump_if(insn(BPF_JMP32 | BPF_JNE | BPF_X, 1, 3, 0, 0));
    } else if (!r.allow && acc != kAll) {
      // any access asked for is taken away: (w3 & acc) != 0
      p.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0));
      p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, static_cast<int32_t>(acc)));
      jump_if(insn(BPF_JMP32 | BPF_JEQ | BPF_K, 1, 0, 0, 0));
    }
    if (r.major && *r.major >= 0)
      jump_if(insn(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(*r.major))));
    if (r.minor && *r.minor >= 0)
      jump_if(insn(BPF_JMP32 | BPF_JNE | BPF_K, 5, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(*r.minor))));
    p.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : jumps) p[j].off = static_cast<int16_t>(p.size() - j - 1);
    // A rule that matches everything decides alone: the verifier refuses
    // unreachable code after it.
    if (jumps.empty()) return p;
  }
  // No rule matched: denied (the list starts from "deny everything").
  p.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

namespace {

template <typename T>
void take(std::optional<T>& dst, const std::optional<T>& src) {
  if (src) dst = src;
}

}  // namespace

oci::Resources merge_resources(const oci::Resources& current, const oci::Resources& u) {
  oci::Resources m = current;
  if (!u.devices.empty()) m.devices = u.devices;
  if (u.memory) {
    auto& d = m.memory ? *m.memory : m.memory.emplace();
    const auto& s = *u.memory;
    take(d.limit, s.limit);
    take(d.reservation, s.reservation);
    take(d.swap, s.swap);
    take(d.kernel, s.kernel);
    take(d.kernel_tcp, s.kernel_tcp);
    take(d.swappiness, s.swappiness);
    take(d.disable_oom_killer, s.disable_oom_killer);
    take(d.use_hierarchy, s.use_hierarchy);
    take(d.check_before_update, s.check_before_update);
  }
  if (u.cpu) {
    auto& d = m.cpu ? *m.cpu : m.cpu.emplace();
    const auto& s = *u.cpu;
    take(d.shares, s.shares);
    take(d.quota, s.quota);
    take(d.burst, s.burst);
    take(d.period, s.period);
    take(d.realtime_runtime, s.realtime_runtime);
    take(d.realtime_period, s.realtime_period);
    if (!s.cpus.empty()) d.cpus = s.cpus;
    if (!s.mems.empty()) d.mems = s.mems;
    take(d.idle, s.idle);
  }
  if (u.pids) {
    auto& d = m.pids ? *m.pids : m.pids.emplace();
    take(d.limit, u.pids->limit);
  }
  if (u.block_io) {
    auto& d = m.block_io ? *m.block_io : m.block_io.emplace();
    const auto& s = *u.block_io;
    take(d.weight, s.weight);
    take(d.leaf_weight, s.leaf_weight);
    if (!s.weight_device.empty()) d.weight_device = s.weight_device;
    if (!s.throttle_read_bps_device.empty()) d.throttle_read_bps_device = s.throttle_read_bps_device;
    if (!s.throttle_write_bps_device.empty()) d.throttle_write_bps_device = s.throttle_write_bps_device;
    if (!s.throttle_read_iops_device.empty()) d.throttle_read_iops_device = s.throttle_read_iops_device;
    if (!s.throttle_write_iops_device.empty()) d.throttle_write_iops_device = s.throttle_write_iops_device;
  }
  if (!u.hugepage_limits.empty()) {
    for (const auto& h : u.hugepage_limits) {
      auto it = std::find_if(m.hugepage_limits.begin(), m.hugepage_limits.end(),
                             [&](const oci::HugepageLimit& x) { return x.page_size == h.page_size; });
      if (it != m.hugepage_limits.end()) *it = h;
      else m.hugepage_limits.push_back(h);
    }
  }
  if (u.network) {
    auto& d = m.network ? *m.network : m.network.emplace();
    take(d.class_id, u.network->class_id);
    if (!u.network->priorities.empty()) d.priorities = u.network->priorities;
  }
  for (const auto& [dev, limit] : u.rdma) m.rdma[dev] = limit;
  for (const auto& [key, value] : u.unified) m.unified[key] = value;
  return m;
}

oci::Resources update_delta(const oci::Resources& merged, const oci::Resources& u) {
  oci::Resources d = u;
  if (d.memory && merged.memory && (d.memory->limit || d.memory->swap)) {
    d.memory->limit = merged.memory->limit;
    d.memory->swap = merged.memory->swap;
  }
  if (d.memory && merged.memory) d.memory->check_before_update = merged.memory->check_before_update;
  if (d.cpu && merged.cpu && (d.cpu->quota || d.cpu->period)) {
    d.cpu->quota = merged.cpu->quota;
    d.cpu->period = merged.cpu->period;
  }
  if (d.cpu && merged.cpu && (d.cpu->realtime_runtime || d.cpu->realtime_period)) {
    d.cpu->realtime_runtime = merged.cpu->realtime_runtime;
    d.cpu->realtime_period = merged.cpu->realtime_period;
  }
  return d;
}

}  // namespace berth::runtime::cgroup
