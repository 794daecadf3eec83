// Stats from the v1 controllers (runc's fs manager): cpu, cpuacct, cpuset,
// memory, pids, blkio, hugetlb; on a hybrid host hugetlb may live in the
// unified hierarchy instead, and is read from there.
#include <unistd.h>

#include <cstdlib>

#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

namespace {

Result<> cpu_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(text, read_optional(files, d.path + "/cpu.stat"));
  if (!text) return {};
  auto kv = parse_flat_keyed(*text);
  s.cpu.periods = kv["nr_periods"];
  s.cpu.throttled_periods = kv["nr_throttled"];
  s.cpu.throttled_time = kv["throttled_time"];
  return {};
}

Result<> cpuacct_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(total, read_number(files, d.path + "/cpuacct.usage"));
  s.cpu.total = total;
  BERTH_TRY_ASSIGN(percpu, read_optional(files, d.path + "/cpuacct.usage_percpu"));
  if (percpu) s.cpu.percpu = parse_uint_list(*percpu);
  BERTH_TRY_ASSIGN(all, read_optional(files, d.path + "/cpuacct.usage_all"));
  if (all) parse_usage_all(*all, s.cpu.percpu_kernel, s.cpu.percpu_user);
  // cpuacct.stat counts clock ticks.
  BERTH_TRY_ASSIGN(stat, read_optional(files, d.path + "/cpuacct.stat"));
  if (stat) {
    auto kv = parse_flat_keyed(*stat);
    uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    s.cpu.user = kv["user"] * ns_per_tick;
    s.cpu.kernel = kv["system"] * ns_per_tick;
  }
  return {};
}

Result<> cpuset_stats(const Dir& d, const FileSource& files, Stats& s) {
  auto& c = s.cpuset;
  BERTH_TRY_ASSIGN(cpus, read_optional(files, d.path + "/cpuset.cpus"));
  if (!cpus) return {};
  c.cpus = parse_cpu_list(*cpus);
  BERTH_TRY_ASSIGN(mems, read_optional(files, d.path + "/cpuset.mems"));
  if (mems) c.mems = parse_cpu_list(*mems);
  struct {
    const char* file;
    uint64_t* field;
  } numbers[] = {{"cpu_exclusive", &c.cpu_exclusive},         {"mem_hardwall", &c.mem_hardwall},
                 {"mem_exclusive", &c.mem_exclusive},         {"memory_migrate", &c.memory_migrate},
                 {"memory_spread_page", &c.memory_spread_page}, {"memory_spread_slab", &c.memory_spread_slab},
                 {"memory_pressure", &c.memory_pressure},     {"sched_load_balance", &c.sched_load_balance}};
  for (auto& n : numbers) {
    BERTH_TRY_ASSIGN(v, read_number(files, d.path + "/cpuset." + n.file));
    *n.field = v;
  }
  BERTH_TRY_ASSIGN(relax, read_optional(files, d.path + "/cpuset.sched_relax_domain_level"));
  if (relax) c.sched_relax_domain_level = std::strtoll(relax->c_str(), nullptr, 10);
  return {};
}

// memory.<prefix>{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}; absent (no swap
// accounting, no kmem) leaves it zero.
Result<MemoryEntry> memory_entry(const Dir& d, const FileSource& files, const std::string& prefix) {
  MemoryEntry e;
  std::string base = d.path + "/memory." + prefix;
  BERTH_TRY_ASSIGN(usage, read_optional(files, base + "usage_in_bytes"));
  if (!usage) return e;
  BERTH_TRY_ASSIGN(u, parse_uint(*usage, base + "usage_in_bytes"));
  e.usage = u;
  BERTH_TRY_ASSIGN(max, read_number(files, base + "max_usage_in_bytes"));
  BERTH_TRY_ASSIGN(failcnt, read_number(files, base + "failcnt"));
  BERTH_TRY_ASSIGN(limit, read_number(files, base + "limit_in_bytes"));
  e.max = max;
  e.failcnt = failcnt;
  e.limit = limit;
  return e;
}

Result<> memory_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(stat, read_optional(files, d.path + "/memory.stat"));
  if (!stat) return {};
  s.memory.raw = parse_flat_keyed(*stat);
  s.memory.cache = s.memory.raw["cache"];
  BERTH_TRY_ASSIGN(usage, memory_entry(d, files, ""));
  BERTH_TRY_ASSIGN(swap, memory_entry(d, files, "memsw."));
  BERTH_TRY_ASSIGN(kernel, memory_entry(d, files, "kmem."));
  BERTH_TRY_ASSIGN(tcp, memory_entry(d, files, "kmem.tcp."));
  s.memory.usage = usage;
  s.memory.swap = swap;
  s.memory.kernel = kernel;
  s.memory.kernel_tcp = tcp;
  return {};
}

Result<> pids_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(current, read_number(files, d.path + "/pids.current"));
  BERTH_TRY_ASSIGN(limit, read_number(files, d.path + "/pids.max"));
  s.pids.current = current;
  // "max": no limit, reported as 0 as runc does.
  s.pids.limit = limit == UINT64_MAX ? 0 : limit;
  return {};
}

Result<> blkio_stats(const Dir& d, const FileSource& files, Stats& s) {
  auto& b = s.blkio;
  auto table = [&](const char* name, std::vector<BlkioEntry>& out) -> Result<bool> {
    BERTH_TRY_ASSIGN(text, read_optional(files, d.path + "/blkio." + name));
    if (!text) return false;
    out = parse_blkio_v1(*text);
    return true;
  };
  // CFQ's full set, else BFQ's, else the throttling layer's counters (as runc).
  BERTH_TRY_ASSIGN(cfq, table("io_service_bytes_recursive", b.service_bytes));
  if (cfq) {
    BERTH_TRY(table("io_serviced_recursive", b.serviced));
    BERTH_TRY(table("io_queued_recursive", b.queued));
    BERTH_TRY(table("io_service_time_recursive", b.service_time));
    BERTH_TRY(table("io_wait_time_recursive", b.wait_time));
    BERTH_TRY(table("io_merged_recursive", b.merged));
    BERTH_TRY(table("time_recursive", b.time));
    BERTH_TRY(table("sectors_recursive", b.sectors));
    return {};
  }
  BERTH_TRY_ASSIGN(bfq, table("bfq.io_service_bytes_recursive", b.service_bytes));
  if (bfq) {
    BERTH_TRY(table("bfq.io_serviced_recursive", b.serviced));
    return {};
  }
  BERTH_TRY(table("throttle.io_service_bytes_recursive", b.service_bytes));
  BERTH_TRY(table("throttle.io_serviced_recursive", b.serviced));
  return {};
}

Result<> hugetlb_v1_stats(const Dir& d, const FileSource& files, Stats& s) {
  for (const auto& size : hugetlb_sizes(files, d.path, ".usage_in_bytes")) {
    std::string base = d.path + "/hugetlb." + size;
    HugetlbEntry e;
    BERTH_TRY_ASSIGN(usage, read_number(files, base + ".usage_in_bytes"));
    BERTH_TRY_ASSIGN(max, read_number(files, base + ".max_usage_in_bytes"));
    BERTH_TRY_ASSIGN(failcnt, read_number(files, base + ".failcnt"));
    e.usage = usage;
    e.max = max;
    e.failcnt = failcnt;
    s.hugetlb[size] = e;
  }
  return {};
}

}  // namespace

Result<Stats> v1_stats(const std::vector<Dir>& dirs, const FileSource& files) {
  Stats s;
  if (const Dir* d = v1_controller_dir(dirs, "cpu", "cpu.shares", files)) BERTH_TRY(cpu_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "cpuacct", "cpuacct.usage", files))
    BERTH_TRY(cpuacct_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "cpuset", "cpuset.cpus", files)) BERTH_TRY(cpuset_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "memory", "memory.stat", files)) BERTH_TRY(memory_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "pids", "pids.current", files)) BERTH_TRY(pids_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "blkio", "blkio.reset_stats", files)) BERTH_TRY(blkio_stats(*d, files, s));
  if (const Dir* d = v1_controller_dir(dirs, "hugetlb", "hugetlb.2MB.limit_in_bytes", files)) {
    BERTH_TRY(hugetlb_v1_stats(*d, files, s));
  } else {
    for (const auto& d : dirs)
      if (d.unified) BERTH_TRY(hugetlb_v2_stats(d, files, s));
  }
  return s;
}

}  // namespace berth::runtime::cgroup::detail
