#include "engine/stats.h"

#include <strings.h>
#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace berth::engine {
namespace {

namespace cg = runtime::cgroup;

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The hierarchy path as seen below its mount: a mount of a sub-tree ("root"
// in mountinfo) shows the cgroup without that prefix.
std::string below_mount(const cg::Hierarchy& h, const std::string& cgroup) {
  std::string dir = cgroup;
  if (h.root != "/" && !h.root.empty()) {
    if (dir == h.root) dir = "/";
    else if (dir.starts_with(h.root + "/")) dir = dir.substr(h.root.size());
  }
  return dir == "/" ? h.mount_point : h.mount_point + dir;
}

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

uint64_t blkio_sum(const std::vector<cg::BlkioEntry>& entries, const char* op) {
  uint64_t sum = 0;
  for (const auto& e : entries)
    if (::strcasecmp(e.op.c_str(), op) == 0) sum += e.value;
  return sum;
}

std::string size_text(double bytes, double base, const char* const* units, size_t n) {
  size_t i = 0;
  while (bytes >= base && i + 1 < n) {
    bytes /= base;
    ++i;
  }
  return fmt::format("{:.4g}{}", bytes, units[i]);
}

std::string percent(double p) { return fmt::format("{:.2f}%", p); }

}  // namespace

Result<std::map<std::string, std::string>> cgroup_paths_of(std::string_view proc_cgroup,
                                                           const cg::Layout& layout) {
  std::map<std::string, std::string> paths;
  for (const auto& line : split(proc_cgroup, '\n')) {
    if (line.empty()) continue;
    // "hierarchy-id:controller,list:/path" (v2: "0::/path")
    auto first = line.find(':');
    auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) return error("a malformed cgroup line \"{}\"", line);
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    for (const auto& h : layout.hierarchies) {
      bool match = controllers.empty() ? h.unified
                                       : !h.unified && sorted(split(controllers, ',')) == sorted(h.controllers);
      if (match) {
        paths[h.mount_point] = below_mount(h, path);
        break;
      }
    }
  }
  if (paths.empty()) return error("no cgroup hierarchy of this host in \"{}\"", proc_cgroup);
  return paths;
}

Result<StatsSample> sample_stats(pid_t pid) {
  auto cgroup_file = fmt::format("/proc/{}/cgroup", pid);
  BERTH_TRY_ASSIGN(text, read_file(cgroup_file));
  BERTH_TRY_ASSIGN(layout, cg::detect_layout());
  BERTH_TRY_ASSIGN(paths, with_context(cgroup_paths_of(text, layout), cgroup_file));
  BERTH_TRY_ASSIGN(manager, cg::load_manager(paths));
  StatsSample sample;
  BERTH_TRY_ASSIGN(stats, manager->stats());
  sample.cgroup = std::move(stats);
  auto net_file = fmt::format("/proc/{}/net/dev", pid);
  BERTH_TRY_ASSIGN(net, read_file(net_file));
  sample.cgroup.interfaces = cg::parse_net_dev(net);
  sample.taken_ns = now_ns();
  return sample;
}

ContainerStats compute_stats(const StatsSample& current, const StatsSample* previous, int64_t started_ns,
                             uint64_t host_memory) {
  ContainerStats out;
  const auto& s = current.cgroup;
  uint64_t cpu_before = previous ? previous->cgroup.cpu.total : 0;
  int64_t time_before = previous ? previous->taken_ns : started_ns;
  if (current.taken_ns > time_before && s.cpu.total >= cpu_before)
    out.cpu_percent = 100.0 * static_cast<double>(s.cpu.total - cpu_before) /
                      static_cast<double>(current.taken_ns - time_before);

  out.mem_usage = s.memory.usage.usage;
  // docker subtracts the inactive page cache (v1: total_inactive_file, v2: inactive_file).
  for (const char* key : {"total_inactive_file", "inactive_file"}) {
    if (auto it = s.memory.raw.find(key); it != s.memory.raw.end()) {
      if (it->second < out.mem_usage) out.mem_usage -= it->second;
      break;
    }
  }
  out.mem_limit = s.memory.usage.limit;
  if (out.mem_limit == 0 || (host_memory != 0 && out.mem_limit > host_memory)) out.mem_limit = host_memory;
  if (out.mem_limit != 0)
    out.mem_percent = 100.0 * static_cast<double>(out.mem_usage) / static_cast<double>(out.mem_limit);

  for (const auto& i : s.interfaces) {
    out.net_rx += i.rx_bytes;
    out.net_tx += i.tx_bytes;
  }
  out.block_read = blkio_sum(s.blkio.service_bytes, "Read");
  out.block_write = blkio_sum(s.blkio.service_bytes, "Write");
  out.pids = s.pids.current;
  return out;
}

Result<uint64_t> host_memory_total() {
  BERTH_TRY_ASSIGN(text, read_file("/proc/meminfo"));
  for (const auto& line : split(text, '\n')) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "MemTotal: %llu kB", &kb) == 1) return uint64_t{kb} * 1024;
  }
  return error("no MemTotal in /proc/meminfo");
}

std::string human_size(double bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  return size_text(bytes, 1000, units, std::size(units));
}

std::string binary_size(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  return size_text(bytes, 1024, units, std::size(units));
}

std::string format_stats_table(const std::vector<ContainerStats>& rows) {
  auto line = [](std::string_view id, std::string_view name, std::string_view cpu, std::string_view mem,
                 std::string_view mem_pct, std::string_view net, std::string_view block, std::string_view pids) {
    return fmt::format("{:<14} {:<20} {:<8} {:<21} {:<8} {:<17} {:<17} {}\n", id, name, cpu, mem, mem_pct, net,
                       block, pids);
  };
  std::string out =
      line("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS");
  for (const auto& r : rows) {
    out += line(r.id.substr(0, 12), r.name, percent(r.cpu_percent),
                binary_size(static_cast<double>(r.mem_usage)) + " / " + binary_size(static_cast<double>(r.mem_limit)),
                percent(r.mem_percent),
                human_size(static_cast<double>(r.net_rx)) + " / " + human_size(static_cast<double>(r.net_tx)),
                human_size(static_cast<double>(r.block_read)) + " / " +
                    human_size(static_cast<double>(r.block_write)),
                std::to_string(r.pids));
  }
  return out;
}

std::string format_stats_json(const std::vector<ContainerStats>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows) {
    out.push_back({
        {"id", r.id},
        {"name", r.name},
        {"cpu_percent", percent(r.cpu_percent)},
        {"mem_usage", binary_size(static_cast<double>(r.mem_usage)) + " / " +
                          binary_size(static_cast<double>(r.mem_limit))},
        {"mem_percent", percent(r.mem_percent)},
        {"net_io", human_size(static_cast<double>(r.net_rx)) + " / " + human_size(static_cast<double>(r.net_tx))},
        {"block_io", human_size(static_cast<double>(r.block_read)) + " / " +
                         human_size(static_cast<double>(r.block_write))},
        {"pids", std::to_string(r.pids)},
        {"raw",
         {{"cpu_percent", r.cpu_percent},
          {"mem_usage", r.mem_usage},
          {"mem_limit", r.mem_limit},
          {"net_rx", r.net_rx},
          {"net_tx", r.net_tx},
          {"block_read", r.block_read},
          {"block_write", r.block_write},
          {"pids", r.pids}}},
    });
  }
  return out.dump(2) + "\n";
}

}  // namespace berth::engine
