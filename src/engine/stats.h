// `berth stats`: a running container's resource usage, as docker and podman
// show it. Read from the outside of the container, by its init's pid, so
// that every runtime handler works the same way:
//  - the cgroup: /proc/<pid>/cgroup names its directory in each hierarchy,
//    mapped onto this host's mounts (v1, v2 or hybrid) and read with the
//    runtime's cgroup stats (runtime/cgroup_stats.h);
//  - network I/O: /proc/<pid>/net/dev, the counters of the container's
//    network namespace (loopback left out).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "runtime/cgroup.h"

namespace berth::engine {

// One reading.
struct StatsSample {
  runtime::cgroup::Stats cgroup;
  int64_t taken_ns = 0;  // CLOCK_REALTIME, as the container records' times
};

// The cgroup directories of process `pid`, by hierarchy mount point (what
// runtime::cgroup::load_manager takes), from its /proc/<pid>/cgroup text and
// the host's layout. Pure. Hierarchies the process is not listed in are left out.
Result<std::map<std::string, std::string>> cgroup_paths_of(std::string_view proc_cgroup,
                                                           const runtime::cgroup::Layout& layout);

Result<StatsSample> sample_stats(pid_t pid);

// What a row shows, computed from two readings: CPU % is the CPU time used
// between them over the wall-clock time between them (100% = one CPU fully
// busy, podman's rule); the first reading of a container has its start as
// the earlier one (no CPU time used then).
struct ContainerStats {
  std::string id, name;
  double cpu_percent = 0;
  uint64_t mem_usage = 0;  // without the page cache (docker: usage - inactive file)
  uint64_t mem_limit = 0;  // the host's memory when the cgroup has no limit
  double mem_percent = 0;
  uint64_t net_rx = 0, net_tx = 0;
  uint64_t block_read = 0, block_write = 0;
  uint64_t pids = 0;
};
// `previous` absent: the first reading (since `started_ns`). host_memory:
// MemTotal in bytes.
ContainerStats compute_stats(const StatsSample& current, const StatsSample* previous, int64_t started_ns,
                             uint64_t host_memory);

// The host's MemTotal in bytes (/proc/meminfo).
Result<uint64_t> host_memory_total();

// docker's size texts: decimal units ("1.23kB", "456MB") and binary ones
// ("1.5MiB", "7.66GiB"), four significant digits.
std::string human_size(double bytes);
std::string binary_size(double bytes);

// The table (docker's columns: CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT,
// MEM %, NET I/O, BLOCK I/O, PIDS) and the JSON array (podman's keys, with
// the numbers beside them).
std::string format_stats_table(const std::vector<ContainerStats>& rows);
std::string format_stats_json(const std::vector<ContainerStats>& rows);

}  // namespace berth::engine
