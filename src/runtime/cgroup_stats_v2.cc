// Stats from a cgroup2 directory (runc's fs2), mapped onto v1's meaning:
// usec become nsec, io.stat fills v1's bytes/ios tables, "swap" is
// memory+swap as v1's memsw, the page cache is memory.stat's "file".
#include <cstdint>

#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

namespace {

Result<> cpu_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(text, read_optional(files, d.path + "/cpu.stat"));
  if (!text) return {};
  auto kv = parse_flat_keyed(*text);
  s.cpu.total = kv["usage_usec"] * 1000;
  s.cpu.user = kv["user_usec"] * 1000;
  s.cpu.kernel = kv["system_usec"] * 1000;
  s.cpu.periods = kv["nr_periods"];
  s.cpu.throttled_periods = kv["nr_throttled"];
  s.cpu.throttled_time = kv["throttled_usec"] * 1000;
  return {};
}

Result<> cpuset_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(cpus, read_optional(files, d.path + "/cpuset.cpus.effective"));
  if (cpus) s.cpuset.cpus = parse_cpu_list(*cpus);
  BERTH_TRY_ASSIGN(mems, read_optional(files, d.path + "/cpuset.mems.effective"));
  if (mems) s.cpuset.mems = parse_cpu_list(*mems);
  return {};
}

Result<> memory_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(stat, read_optional(files, d.path + "/memory.stat"));
  if (!stat) return {};
  s.memory.raw = parse_flat_keyed(*stat);
  s.memory.cache = s.memory.raw["file"];
  auto& usage = s.memory.usage;
  BERTH_TRY_ASSIGN(current, read_number(files, d.path + "/memory.current"));
  BERTH_TRY_ASSIGN(limit, read_number(files, d.path + "/memory.max"));
  BERTH_TRY_ASSIGN(peak, read_number(files, d.path + "/memory.peak"));  // Linux 5.19+
  usage.usage = current;
  usage.limit = limit;
  usage.max = peak;
  BERTH_TRY_ASSIGN(events, read_optional(files, d.path + "/memory.events"));
  if (events) usage.failcnt = parse_flat_keyed(*events)["max"];
  // No swap accounting: swap.current is missing, and v1 would show no memsw either.
  BERTH_TRY_ASSIGN(swap_current, read_optional(files, d.path + "/memory.swap.current"));
  if (swap_current) {
    auto& swap = s.memory.swap;
    BERTH_TRY_ASSIGN(sc, parse_uint(*swap_current, d.path + "/memory.swap.current"));
    BERTH_TRY_ASSIGN(swap_max, read_number(files, d.path + "/memory.swap.max"));
    swap.usage = sc + usage.usage;
    swap.limit = swap_max == UINT64_MAX || usage.limit == UINT64_MAX ? UINT64_MAX : swap_max + usage.limit;
  }
  return {};
}

Result<> pids_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(current, read_number(files, d.path + "/pids.current"));
  BERTH_TRY_ASSIGN(limit, read_number(files, d.path + "/pids.max"));
  s.pids.current = current;
  s.pids.limit = limit == UINT64_MAX ? 0 : limit;
  return {};
}

Result<> io_stats(const Dir& d, const FileSource& files, Stats& s) {
  BERTH_TRY_ASSIGN(text, read_optional(files, d.path + "/io.stat"));
  if (text) parse_io_stat_v2(*text, s.blkio);
  return {};
}

}  // namespace

Result<> hugetlb_v2_stats(const Dir& d, const FileSource& files, Stats& s) {
  for (const auto& size : hugetlb_sizes(files, d.path, ".current")) {
    std::string base = d.path + "/hugetlb." + size;
    HugetlbEntry e;
    BERTH_TRY_ASSIGN(usage, read_number(files, base + ".current"));
    e.usage = usage;
    BERTH_TRY_ASSIGN(events, read_optional(files, base + ".events"));
    if (events) e.failcnt = parse_flat_keyed(*events)["max"];
    s.hugetlb[size] = e;
  }
  return {};
}

Result<Stats> v2_stats(const Dir& dir, const FileSource& files) {
  Stats s;
  BERTH_TRY(cpu_stats(dir, files, s));
  BERTH_TRY(cpuset_stats(dir, files, s));
  BERTH_TRY(memory_stats(dir, files, s));
  BERTH_TRY(pids_stats(dir, files, s));
  BERTH_TRY(io_stats(dir, files, s));
  BERTH_TRY(hugetlb_v2_stats(dir, files, s));
  return s;
}

}  // namespace berth::runtime::cgroup::detail
