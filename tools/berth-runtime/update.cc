#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>

#include "base/file.h"
#include "commands.h"
#include "oci/config.h"
#include "runtime/update.h"

namespace berth::tool {
namespace {

struct UpdateArgs {
  std::string id, resources;
  std::string blkio_weight, cpu_period, cpu_quota, cpu_burst, cpu_share, cpu_rt_period, cpu_rt_runtime;
  std::string cpuset_cpus, cpuset_mems, memory, memory_reservation, memory_swap, pids_limit;
  std::string kernel_memory, kernel_memory_tcp, l3_cache_schema, mem_bw_schema;
};

template <typename T>
Result<T> number(const std::string& value, std::string_view flag) {
  try {
    size_t used = 0;
    long long v = std::stoll(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0) return error("{}: must not be negative, got \"{}\"", flag, value);
    }
    return static_cast<T>(v);
  } catch (const std::exception&) {
    return error("{}: not a number: \"{}\"", flag, value);
  }
}

template <typename T, typename U>
Result<> set(std::optional<T>& dst, Result<U> value) {
  if (!value) return std::unexpected(std::move(value).error());
  dst = static_cast<T>(*value);
  return {};
}

Result<std::string> read_resources(const std::string& path) {
  if (path != "-") return read_file(path);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  if (n < 0) return sys_error(errno, "read the resources from stdin");
  return text;
}

// runc update: --resources first, then each flag given over it.
Result<runtime::UpdateRequest> request(const UpdateArgs& a) {
  runtime::UpdateRequest req;
  auto& r = req.resources;
  if (!a.resources.empty()) {
    BERTH_TRY_ASSIGN(text, read_resources(a.resources));
    BERTH_TRY_ASSIGN(parsed, with_context(oci::parse_resources(text), "--resources " + a.resources));
    r = std::move(parsed);
  }
  auto cpu = [&]() -> oci::CpuResources& { return r.cpu ? *r.cpu : r.cpu.emplace(); };
  auto mem = [&]() -> oci::MemoryResources& { return r.memory ? *r.memory : r.memory.emplace(); };
  if (!a.blkio_weight.empty()) {
    BERTH_TRY_ASSIGN(v, number<uint16_t>(a.blkio_weight, "--blkio-weight"));
    (r.block_io ? *r.block_io : r.block_io.emplace()).weight = v;
  }
  if (!a.cpu_period.empty()) BERTH_TRY(set(cpu().period, number<uint64_t>(a.cpu_period, "--cpu-period")));
  if (!a.cpu_quota.empty()) BERTH_TRY(set(cpu().quota, number<int64_t>(a.cpu_quota, "--cpu-quota")));
  if (!a.cpu_burst.empty()) BERTH_TRY(set(cpu().burst, number<int64_t>(a.cpu_burst, "--cpu-burst")));
  if (!a.cpu_share.empty()) BERTH_TRY(set(cpu().shares, number<uint64_t>(a.cpu_share, "--cpu-share")));
  if (!a.cpu_rt_period.empty())
    BERTH_TRY(set(cpu().realtime_period, number<uint64_t>(a.cpu_rt_period, "--cpu-rt-period")));
  if (!a.cpu_rt_runtime.empty())
    BERTH_TRY(set(cpu().realtime_runtime, number<int64_t>(a.cpu_rt_runtime, "--cpu-rt-runtime")));
  if (!a.cpuset_cpus.empty()) cpu().cpus = a.cpuset_cpus;
  if (!a.cpuset_mems.empty()) cpu().mems = a.cpuset_mems;
  if (!a.memory.empty()) BERTH_TRY(set(mem().limit, runtime::parse_ram_size(a.memory, "--memory")));
  if (!a.memory_reservation.empty())
    BERTH_TRY(set(mem().reservation, runtime::parse_ram_size(a.memory_reservation, "--memory-reservation")));
  if (!a.memory_swap.empty()) BERTH_TRY(set(mem().swap, runtime::parse_ram_size(a.memory_swap, "--memory-swap")));
  if (!a.kernel_memory.empty())
    BERTH_TRY(set(mem().kernel, runtime::parse_ram_size(a.kernel_memory, "--kernel-memory")));
  if (!a.kernel_memory_tcp.empty())
    BERTH_TRY(set(mem().kernel_tcp, runtime::parse_ram_size(a.kernel_memory_tcp, "--kernel-memory-tcp")));
  if (!a.pids_limit.empty()) {
    BERTH_TRY_ASSIGN(v, number<int64_t>(a.pids_limit, "--pids-limit"));
    (r.pids ? *r.pids : r.pids.emplace()).limit = v;
  }
  req.l3_cache_schema = a.l3_cache_schema;
  req.mem_bw_schema = a.mem_bw_schema;
  return req;
}

}  // namespace

void add_update(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("update", "update the resource limits of a container");
  auto a = std::make_shared<UpdateArgs>();
  cmd->add_option("id", a->id, "container id")->required();
  cmd->add_option("-r,--resources", a->resources,
                  "path to a JSON file of linux.resources to apply, or '-' to read it from stdin");
  cmd->add_option("--blkio-weight", a->blkio_weight, "per-cgroup block IO weight, 10 to 1000");
  cmd->add_option("--cpu-period", a->cpu_period, "CPU CFS period in microseconds");
  cmd->add_option("--cpu-quota", a->cpu_quota, "CPU CFS quota in microseconds per period (-1: none)");
  cmd->add_option("--cpu-burst", a->cpu_burst, "CPU CFS burst in microseconds");
  cmd->add_option("--cpu-share", a->cpu_share, "CPU shares (relative weight)");
  cmd->add_option("--cpu-rt-period", a->cpu_rt_period, "CPU real-time period in microseconds");
  cmd->add_option("--cpu-rt-runtime", a->cpu_rt_runtime, "CPU real-time runtime in microseconds per period");
  cmd->add_option("--cpuset-cpus", a->cpuset_cpus, "CPUs to use (0-3, 0,1)");
  cmd->add_option("--cpuset-mems", a->cpuset_mems, "memory nodes to use (0-3, 0,1)");
  cmd->add_option("--memory", a->memory, "memory limit (64m, 1g...; -1: none)");
  cmd->add_option("--memory-reservation", a->memory_reservation, "memory soft limit");
  cmd->add_option("--memory-swap", a->memory_swap, "memory + swap limit (-1: unlimited swap)");
  cmd->add_option("--pids-limit", a->pids_limit, "maximum number of processes (-1 or 0: none)");
  cmd->add_option("--kernel-memory", a->kernel_memory, "kernel memory limit (obsolete: ignored with a warning)");
  cmd->add_option("--kernel-memory-tcp", a->kernel_memory_tcp, "kernel TCP buffer limit (obsolete)");
  cmd->add_option("--l3-cache-schema", a->l3_cache_schema, "Intel RDT/CAT L3 cache schema");
  cmd->add_option("--mem-bw-schema", a->mem_bw_schema, "Intel RDT/MBA memory bandwidth schema");
  cmd->callback([&g, a]() {
    auto req = request(*a);
    if (!req) {
      g.exit_code = report(req.error());
      return;
    }
    g.exit_code = check(runtime::update_container(runtime::Runtime(g.root).store(), a->id, *req));
  });
}

}  // namespace berth::tool
