// linux.resources.cpu: v1 cpu (cpu.shares, cfs quota/period/burst, rt, idle)
// and cpuset; v2 cpu.weight, cpu.max, cpu.max.burst, cpu.idle and cpuset.
#include <cerrno>

#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup::detail {
namespace {

Result<> apply_cpuset(const Targets& t, const oci::CpuResources& c) {
  if (c.cpus.empty() && c.mems.empty()) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.cpu.cpus", "cpuset", "cpuset"));
  if (!c.cpus.empty()) BERTH_TRY(write_value(place.dir, "cpuset.cpus", c.cpus, "linux.resources.cpu.cpus"));
  if (!c.mems.empty()) BERTH_TRY(write_value(place.dir, "cpuset.mems", c.mems, "linux.resources.cpu.mems"));
  return {};
}

// Real-time bandwidth, before the init joins (a SCHED_RR task cannot enter a
// cgroup without any): period first, as runc does.
Result<> apply_rt_v1(const std::string& dir, const oci::CpuResources& c) {
  if (!c.realtime_period && !c.realtime_runtime) return {};
  if (!file_exists(dir + "/cpu.rt_runtime_us"))
    return error("linux.resources.cpu.realtimeRuntime: the kernel has no real-time group scheduling "
                 "(CONFIG_RT_GROUP_SCHED is off)");
  if (c.realtime_period && *c.realtime_period != 0)
    BERTH_TRY(write_value(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period),
                          "linux.resources.cpu.realtimePeriod"));
  if (c.realtime_runtime && *c.realtime_runtime != 0) {
    auto r = write_value(dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime),
                         "linux.resources.cpu.realtimeRuntime");
    if (!r && r.error().code() == EINVAL)
      return error("linux.resources.cpu.realtimeRuntime: {} is more than the parent cgroup \"{}\" leaves "
                   "(its cpu.rt_runtime_us, less its other children's)",
                   *c.realtime_runtime, parent_dir(dir));
    BERTH_TRY(std::move(r));
  }
  return {};
}

Result<> apply_v1(const std::string& dir, const oci::CpuResources& c) {
  BERTH_TRY(apply_rt_v1(dir, c));
  if (c.shares && *c.shares != 0) {
    BERTH_TRY(write_value(dir, "cpu.shares", std::to_string(*c.shares), "linux.resources.cpu.shares"));
    // The kernel clamps silently: say what it took, as runc does.
    BERTH_TRY_ASSIGN(got, read_trimmed(dir + "/cpu.shares"));
    if (got != std::to_string(*c.shares))
      return error("linux.resources.cpu.shares: {} is out of the kernel's range (it would be {})", *c.shares, got);
  }
  int64_t quota = c.quota.value_or(0);
  uint64_t period = c.period.value_or(0);
  bool period_pending = false;
  if (period != 0) {
    auto r = write_value(dir, "cpu.cfs_period_us", std::to_string(period), "linux.resources.cpu.period");
    // A shorter period can make old quota/new period exceed the parent's
    // share: retry after the quota is set.
    if (!r) {
      if (r.error().code() != EINVAL || quota == 0) return r;
      period_pending = true;
    }
  }
  if (quota != 0) {
    BERTH_TRY(write_value(dir, "cpu.cfs_quota_us", std::to_string(quota < 0 ? -1 : quota), "linux.resources.cpu.quota"));
    if (period_pending)
      BERTH_TRY(write_value(dir, "cpu.cfs_period_us", std::to_string(period), "linux.resources.cpu.period"));
  }
  if (c.burst) BERTH_TRY(write_value(dir, "cpu.cfs_burst_us", std::to_string(*c.burst), "linux.resources.cpu.burst"));
  if (c.idle) BERTH_TRY(write_value(dir, "cpu.idle", std::to_string(*c.idle), "linux.resources.cpu.idle"));
  return {};
}

Result<> apply_v2(const std::string& dir, const oci::CpuResources& c, const std::map<std::string, std::string>& unified) {
  if ((c.realtime_period && *c.realtime_period != 0) || (c.realtime_runtime && *c.realtime_runtime != 0))
    return error("linux.resources.cpu.realtimeRuntime: cgroup v2 has no real-time group scheduling");
  if (c.idle) BERTH_TRY(write_value(dir, "cpu.idle", std::to_string(*c.idle), "linux.resources.cpu.idle"));
  // An explicit unified cpu.weight wins (written later with the other unified values).
  if (c.shares && *c.shares != 0 && !unified.contains("cpu.weight"))
    BERTH_TRY(write_value(dir, "cpu.weight", std::to_string(cpu_shares_to_weight(*c.shares)), "linux.resources.cpu.shares"));
  if (c.burst) BERTH_TRY(write_value(dir, "cpu.max.burst", std::to_string(*c.burst), "linux.resources.cpu.burst"));
  std::string max = cpu_max(c.quota, c.period);
  if (!max.empty()) BERTH_TRY(write_value(dir, "cpu.max", max, "linux.resources.cpu.quota"));
  return {};
}

bool asks_cpu(const oci::CpuResources& c) {
  return (c.shares && *c.shares != 0) || (c.quota && *c.quota != 0) || (c.period && *c.period != 0) || c.burst ||
         (c.realtime_runtime && *c.realtime_runtime != 0) || (c.realtime_period && *c.realtime_period != 0) || c.idle;
}

}  // namespace

Result<> apply_cpu(const Targets& t, const oci::CpuResources& c, const std::map<std::string, std::string>& unified) {
  BERTH_TRY(apply_cpuset(t, c));
  if (!asks_cpu(c)) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.cpu", "cpu", "cpu"));
  return place.v2 ? apply_v2(place.dir, c, unified) : apply_v1(place.dir, c);
}

}  // namespace berth::runtime::cgroup::detail
