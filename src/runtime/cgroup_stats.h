// A container's resource usage as `runc events` reports it (runc's
// cgroups.Stats, the same fields whether read from v1 or v2 files: v2 values
// are mapped onto v1's meaning as runc does), the parsers of the cgroup files
// it comes from, and the out-of-memory watch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace berth::runtime::cgroup {

struct MemoryEntry {
  uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total"; empty for sectors and time
  uint64_t value = 0;
  bool operator==(const BlkioEntry&) const = default;
};

struct HugetlbEntry {
  uint64_t usage = 0, max = 0, failcnt = 0;
};

struct NetworkInterface {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

struct Stats {
  struct Cpu {
    uint64_t total = 0, kernel = 0, user = 0;  // nanoseconds
    std::vector<uint64_t> percpu, percpu_kernel, percpu_user;
    uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
  } cpu;
  struct CpuSet {
    std::vector<uint16_t> cpus, mems;
    uint64_t cpu_exclusive = 0, mem_hardwall = 0, mem_exclusive = 0, memory_migrate = 0,
             memory_spread_page = 0, memory_spread_slab = 0, memory_pressure = 0, sched_load_balance = 0;
    int64_t sched_relax_domain_level = 0;
  } cpuset;
  struct Memory {
    uint64_t cache = 0;
    MemoryEntry usage, swap, kernel, kernel_tcp;  // v1's swap is memory+swap (memsw), v2's mapped so
    std::map<std::string, uint64_t> raw;          // memory.stat
  } memory;
  struct Pids {
    uint64_t current = 0, limit = 0;  // limit 0: unlimited
  } pids;
  struct Blkio {
    std::vector<BlkioEntry> service_bytes, serviced, queued, service_time, wait_time, merged, time, sectors;
  } blkio;
  std::map<std::string, HugetlbEntry> hugetlb;  // page size ("2MB") -> usage
  std::vector<NetworkInterface> interfaces;     // filled by the caller (a net namespace is not a cgroup's)
};

// Where the stats readers get file contents and directory listings: the real
// filesystem, or canned texts in unit tests.
struct FileSource {
  std::function<Result<std::string>(const std::string& path)> read;
  std::function<std::vector<std::string>(const std::string& dir)> list;  // names in dir; empty if unreadable
};
FileSource real_files();

// ---------------------------------------------------------------- parsers
// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);
// One number; "max" (v1 pids.max, v2 *.max) is UINT64_MAX.
Result<uint64_t> parse_uint(std::string_view text, std::string_view what);
// Space-separated numbers (cpuacct.usage_percpu).
std::vector<uint64_t> parse_uint_list(std::string_view text);
// cpuacct.usage_all: "cpu user system" header, then one line per cpu; kernel, user per cpu.
void parse_usage_all(std::string_view text, std::vector<uint64_t>& kernel, std::vector<uint64_t>& user);
// A cpu list "0-3,8,10-11" (cpuset.cpus, cpuset.mems).
std::vector<uint16_t> parse_cpu_list(std::string_view text);
// v1 blkio.*_recursive: "8:0 Read 123" or "8:0 123" lines; "Total N" lines skipped.
std::vector<BlkioEntry> parse_blkio_v1(std::string_view text);
// v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") into v1's bytes and ios tables.
void parse_io_stat_v2(std::string_view text, Stats::Blkio& out);
// /proc/<pid>/net/dev, loopback left out.
std::vector<NetworkInterface> parse_net_dev(std::string_view text);

// Reports out-of-memory events of one cgroup: poll fd() for input, then call
// take(). Owns every descriptor it uses.
class OomWatch {
 public:
  virtual ~OomWatch() = default;
  virtual const UniqueFd& fd() const = 0;
  // Consumes what fd() signalled (non-blocking; fine to call when nothing
  // did): true when an OOM happened since the last call.
  virtual Result<bool> take() = 0;
};

}  // namespace berth::runtime::cgroup
