// linux.resources.memory on v1 (memory.limit_in_bytes, memsw...) and v2
// (memory.max, memory.swap.max...), with runc's write orders and conversions.
#include <cerrno>
#include <charconv>

#include "base/file.h"
#include "base/log.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup::detail {
namespace {

constexpr std::string_view kField = "linux.resources.memory";

Result<int64_t> read_number(const std::string& path) {
  BERTH_TRY_ASSIGN(s, read_trimmed(path));
  if (s == "max") return INT64_MAX;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return error("\"{}\": not a number: \"{}\"", path, s);
  return v;
}

// checkBeforeUpdate: a new limit below what the cgroup already uses fails
// instead of sending the container to the OOM killer.
Result<> check_usage(const std::string& dir, const char* usage_file, int64_t limit) {
  if (limit <= 0) return {};
  BERTH_TRY_ASSIGN(usage, read_number(dir + "/" + usage_file));
  if (limit < usage)
    return error("linux.resources.memory.limit: {} is below the container's current memory usage {} "
                 "(checkBeforeUpdate)",
                 limit, usage);
  return {};
}

void warn_kernel(const oci::MemoryResources& m, bool v2) {
  if (m.kernel) log::warn("linux.resources.memory.kernel is ignored: the kernel no longer limits kernel memory");
  if (m.kernel_tcp && v2) log::warn("linux.resources.memory.kernelTCP is ignored: cgroup v2 has no such limit");
}

Result<> apply_v1(const std::string& dir, const oci::MemoryResources& m, const ApplyOptions& opts) {
  warn_kernel(m, false);
  int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
  if (opts.update && m.check_before_update.value_or(false)) BERTH_TRY(check_usage(dir, "memory.usage_in_bytes", limit));
  // memsw is memory + swap: unlimited memory without a swap value means both.
  if (limit == -1 && swap == 0) swap = -1;
  bool has_memsw = file_exists(dir + "/memory.memsw.limit_in_bytes");
  auto write_limit = [&]() -> Result<> {
    if (limit == 0) return {};
    return write_value(dir, "memory.limit_in_bytes", std::to_string(limit), "linux.resources.memory.limit");
  };
  auto write_swap = [&]() -> Result<> {
    if (swap == 0) return {};
    if (!has_memsw) {
      if (swap == -1) return {};
      return error("linux.resources.memory.swap: the kernel does not account swap (no \"{}/memory.memsw.limit_in_bytes\"; "
                   "boot with swapaccount=1)",
                   dir);
    }
    return write_value(dir, "memory.memsw.limit_in_bytes", std::to_string(swap), "linux.resources.memory.swap");
  };
  // memsw must stay >= memory at every step: raise the one that grows first.
  if (limit != 0 && swap != 0 && has_memsw) {
    BERTH_TRY_ASSIGN(current, read_number(dir + "/memory.limit_in_bytes"));
    if (swap == -1 || current < swap) {
      BERTH_TRY(write_swap());
      BERTH_TRY(write_limit());
    } else {
      BERTH_TRY(write_limit());
      BERTH_TRY(write_swap());
    }
  } else {
    BERTH_TRY(write_limit());
    BERTH_TRY(write_swap());
  }
  if (m.reservation && *m.reservation != 0)
    BERTH_TRY(write_value(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                          "linux.resources.memory.reservation"));
  if (m.kernel_tcp) {
    if (file_exists(dir + "/memory.kmem.tcp.limit_in_bytes"))
      BERTH_TRY(write_value(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
                            "linux.resources.memory.kernelTCP"));
    else
      log::warn("linux.resources.memory.kernelTCP is ignored: the kernel has no memory.kmem.tcp.limit_in_bytes");
  }
  if (m.swappiness)
    BERTH_TRY(write_value(dir, "memory.swappiness", std::to_string(*m.swappiness), "linux.resources.memory.swappiness"));
  if (m.disable_oom_killer && *m.disable_oom_killer)
    BERTH_TRY(write_value(dir, "memory.oom_control", "1", "linux.resources.memory.disableOOMKiller"));
  if (m.use_hierarchy) {
    auto r = write_value(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", "linux.resources.memory.useHierarchy");
    if (!r && !*m.use_hierarchy && r.error().code() == EINVAL)
      return error("linux.resources.memory.useHierarchy: false is not supported by this kernel "
                   "(memory accounting is always hierarchical)");
    BERTH_TRY(std::move(r));
  }
  return {};
}

Result<> apply_v2(const std::string& dir, const oci::MemoryResources& m, const ApplyOptions& opts) {
  warn_kernel(m, true);
  if (m.swappiness) log::warn("linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness");
  if (m.disable_oom_killer && *m.disable_oom_killer)
    log::warn("linux.resources.memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer");
  if (m.use_hierarchy && !*m.use_hierarchy)
    log::warn("linux.resources.memory.useHierarchy false is ignored: cgroup v2 is always hierarchical");
  int64_t limit = m.limit.value_or(0);
  if (opts.update && m.check_before_update.value_or(false)) BERTH_TRY(check_usage(dir, "memory.current", limit));
  BERTH_TRY_ASSIGN(swap, memory_swap_to_v2(m.swap, m.limit));
  if (swap) {
    if (!file_exists(dir + "/memory.swap.max")) {
      if (*swap != -1)
        return error("linux.resources.memory.swap: the kernel does not account swap (no \"{}/memory.swap.max\")", dir);
    } else {
      BERTH_TRY(write_value(dir, "memory.swap.max", max_or_number(*swap), "linux.resources.memory.swap"));
    }
  }
  if (limit != 0) BERTH_TRY(write_value(dir, "memory.max", max_or_number(limit), "linux.resources.memory.limit"));
  if (m.reservation && *m.reservation != 0)
    BERTH_TRY(write_value(dir, "memory.low", max_or_number(*m.reservation), "linux.resources.memory.reservation"));
  return {};
}

bool asks_anything(const oci::MemoryResources& m) {
  return (m.limit && *m.limit != 0) || (m.swap && *m.swap != 0) || (m.reservation && *m.reservation != 0) ||
         m.swappiness || (m.disable_oom_killer && *m.disable_oom_killer) || m.use_hierarchy;
}

}  // namespace

Result<> apply_memory(const Targets& t, const oci::MemoryResources& m) {
  // kernelTCP alone needs the controller only where v1 still has the file.
  bool tcp_on_v1 = m.kernel_tcp && t.v1.contains("memory");
  if (!asks_anything(m) && !tcp_on_v1) {
    if (m.kernel) log::warn("linux.resources.memory.kernel is ignored: the kernel no longer limits kernel memory");
    if (m.kernel_tcp) log::warn("linux.resources.memory.kernelTCP is ignored");
    return {};
  }
  BERTH_TRY_ASSIGN(place, place_for(t, kField, "memory", "memory"));
  return place.v2 ? apply_v2(place.dir, m, t.opts) : apply_v1(place.dir, m, t.opts);
}

}  // namespace berth::runtime::cgroup::detail
