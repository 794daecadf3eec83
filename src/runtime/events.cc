#include "runtime/events.h"

#include <poll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "runtime/cgroup.h"

namespace berth::runtime {

namespace {

using ojson = nlohmann::ordered_json;

// Go's encoding/json with `omitempty` leaves out zero numbers and empty lists.
void put_nonzero(ojson& o, const char* key, uint64_t v) {
  if (v != 0) o[key] = v;
}
template <typename T>
void put_nonempty(ojson& o, const char* key, const std::vector<T>& v) {
  if (!v.empty()) o[key] = v;
}

ojson memory_entry(const cgroup::MemoryEntry& e) {
  ojson o = ojson::object();
  o["limit"] = e.limit;
  put_nonzero(o, "usage", e.usage);
  put_nonzero(o, "max", e.max);
  o["failcnt"] = e.failcnt;
  return o;
}

void put_blkio(ojson& o, const char* key, const std::vector<cgroup::BlkioEntry>& entries) {
  if (entries.empty()) return;
  ojson arr = ojson::array();
  for (const auto& e : entries) {
    ojson j = ojson::object();
    put_nonzero(j, "major", e.major);
    put_nonzero(j, "minor", e.minor);
    if (!e.op.empty()) j["op"] = e.op;
    put_nonzero(j, "value", e.value);
    arr.push_back(std::move(j));
  }
  o[key] = std::move(arr);
}

// The interfaces of the container's own network namespace (none when it
// shares the runtime's: those are the host's).
std::vector<cgroup::NetworkInterface> interfaces_of(pid_t pid) {
  struct stat own{}, theirs{};
  std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
  if (::stat("/proc/self/ns/net", &own) < 0 || ::stat(ns.c_str(), &theirs) < 0) return {};
  if (own.st_ino == theirs.st_ino && own.st_dev == theirs.st_dev) return {};
  auto text = read_file("/proc/" + std::to_string(pid) + "/net/dev");
  if (!text) return {};
  return cgroup::parse_net_dev(*text);
}

std::string event_line(const char* type, const std::string& id, const std::string& data) {
  std::string line = R"({"type":")";
  line += type;
  line += R"(","id":)";
  line += ojson(id).dump();
  if (!data.empty()) {
    line += R"(,"data":)";
    line += data;
  }
  line += '}';
  return line;
}

Result<std::string> stats_event(const cgroup::Manager& cgroups, const ContainerRecord& rec) {
  BERTH_TRY_ASSIGN(stats, cgroups.stats());
  stats.interfaces = interfaces_of(rec.pid);
  return event_line("stats", rec.id, stats_to_json(stats));
}

Result<UniqueFd> interval_timer(std::chrono::nanoseconds interval) {
  int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0) return sys_error(errno, "timerfd_create");
  UniqueFd timer(fd);
  auto ns = interval.count();
  struct itimerspec spec{};
  spec.it_interval.tv_sec = ns / 1000000000;
  spec.it_interval.tv_nsec = ns % 1000000000;
  spec.it_value = spec.it_interval;
  if (::timerfd_settime(timer.get(), 0, &spec, nullptr) < 0) return sys_error(errno, "timerfd_settime");
  return timer;
}

}  // namespace

std::string stats_to_json(const cgroup::Stats& s) {
  ojson data = ojson::object();

  ojson usage = ojson::object();
  put_nonzero(usage, "total", s.cpu.total);
  put_nonempty(usage, "percpu", s.cpu.percpu);
  put_nonempty(usage, "percpu_kernel", s.cpu.percpu_kernel);
  put_nonempty(usage, "percpu_user", s.cpu.percpu_user);
  usage["kernel"] = s.cpu.kernel;
  usage["user"] = s.cpu.user;
  ojson throttling = ojson::object();
  put_nonzero(throttling, "periods", s.cpu.periods);
  put_nonzero(throttling, "throttledPeriods", s.cpu.throttled_periods);
  put_nonzero(throttling, "throttledTime", s.cpu.throttled_time);
  data["cpu"] = {{"usage", std::move(usage)}, {"throttling", std::move(throttling)}};

  const auto& cs = s.cpuset;
  ojson cpuset = ojson::object();
  put_nonempty(cpuset, "cpus", cs.cpus);
  cpuset["cpu_exclusive"] = cs.cpu_exclusive;
  put_nonempty(cpuset, "mems", cs.mems);
  cpuset["mem_hardwall"] = cs.mem_hardwall;
  cpuset["mem_exclusive"] = cs.mem_exclusive;
  cpuset["memory_migrate"] = cs.memory_migrate;
  cpuset["memory_spread_page"] = cs.memory_spread_page;
  cpuset["memory_spread_slab"] = cs.memory_spread_slab;
  cpuset["memory_pressure"] = cs.memory_pressure;
  cpuset["sched_load_balance"] = cs.sched_load_balance;
  cpuset["sched_relax_domain_level"] = cs.sched_relax_domain_level;
  data["cpuset"] = std::move(cpuset);

  ojson memory = ojson::object();
  put_nonzero(memory, "cache", s.memory.cache);
  memory["usage"] = memory_entry(s.memory.usage);
  memory["swap"] = memory_entry(s.memory.swap);
  memory["kernel"] = memory_entry(s.memory.kernel);
  memory["kernelTCP"] = memory_entry(s.memory.kernel_tcp);
  if (!s.memory.raw.empty()) {
    ojson raw = ojson::object();
    for (const auto& [k, v] : s.memory.raw) raw[k] = v;
    memory["raw"] = std::move(raw);
  }
  data["memory"] = std::move(memory);

  ojson pids = ojson::object();
  put_nonzero(pids, "current", s.pids.current);
  put_nonzero(pids, "limit", s.pids.limit);
  data["pids"] = std::move(pids);

  ojson blkio = ojson::object();
  put_blkio(blkio, "ioServiceBytesRecursive", s.blkio.service_bytes);
  put_blkio(blkio, "ioServicedRecursive", s.blkio.serviced);
  put_blkio(blkio, "ioQueueRecursive", s.blkio.queued);
  put_blkio(blkio, "ioServiceTimeRecursive", s.blkio.service_time);
  put_blkio(blkio, "ioWaitTimeRecursive", s.blkio.wait_time);
  put_blkio(blkio, "ioMergedRecursive", s.blkio.merged);
  put_blkio(blkio, "ioTimeRecursive", s.blkio.time);
  put_blkio(blkio, "sectorsRecursive", s.blkio.sectors);
  data["blkio"] = std::move(blkio);

  ojson hugetlb = ojson::object();
  for (const auto& [size, e] : s.hugetlb) {
    ojson h = ojson::object();
    put_nonzero(h, "usage", e.usage);
    put_nonzero(h, "max", e.max);
    h["failcnt"] = e.failcnt;
    hugetlb[size] = std::move(h);
  }
  data["hugetlb"] = std::move(hugetlb);
  data["intel_rdt"] = ojson::object();

  if (s.interfaces.empty()) {
    data["network_interfaces"] = nullptr;
  } else {
    ojson ifs = ojson::array();
    for (const auto& i : s.interfaces)
      ifs.push_back({{"Name", i.name},           {"RxBytes", i.rx_bytes},   {"RxPackets", i.rx_packets},
                     {"RxErrors", i.rx_errors},  {"RxDropped", i.rx_dropped}, {"TxBytes", i.tx_bytes},
                     {"TxPackets", i.tx_packets}, {"TxErrors", i.tx_errors}, {"TxDropped", i.tx_dropped}});
    data["network_interfaces"] = std::move(ifs);
  }
  return data.dump();
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text.empty()) return error("invalid duration \"\"");
  std::string_view s = text;
  bool negative = s.front() == '-';
  if (s.front() == '-' || s.front() == '+') s.remove_prefix(1);
  if (s == "0") return std::chrono::nanoseconds(0);
  static const std::pair<std::string_view, double> units[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  if (s.empty()) return error("invalid duration \"{}\"", text);
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) return error("invalid duration \"{}\"", text);
    double value = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, value);
    if (ec != std::errc() || p != s.data() + n) return error("invalid duration \"{}\"", text);
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale = 0;
    for (const auto& [name, factor] : units)
      if (unit == name) scale = factor;
    if (scale == 0) return error("invalid duration \"{}\": {}", text, unit.empty() ? "missing unit" : "unknown unit");
    total += value * scale;
  }
  if (total > 9.2e18) return error("invalid duration \"{}\": out of range", text);
  auto ns = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
  return negative ? -ns : ns;
}

Result<> stream_events(const Runtime& runtime, const std::string& id, const EventsOptions& opts,
                       const std::function<void(std::string_view)>& emit) {
  if (opts.interval <= std::chrono::nanoseconds(0)) return error("duration interval must be greater than 0");
  BERTH_TRY_ASSIGN(c, runtime.info(id));
  if (c.status == oci::Status::stopped) return error("container with id {} is not running", id);
  BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
  if (opts.stats_only) {
    BERTH_TRY_ASSIGN(line, stats_event(*cgroups, c.record));
    emit(line);
    return {};
  }

  BERTH_TRY_ASSIGN(init, open_init_pidfd(c.record));
  BERTH_TRY_ASSIGN(timer, interval_timer(opts.interval));
  auto oom = cgroups->watch_oom();
  if (!oom) log::warn("container \"{}\": no OOM notifications: {}", id, oom.error().what());
  auto report_oom = [&]() -> Result<> {
    if (!oom) return {};
    BERTH_TRY_ASSIGN(happened, (*oom)->take());
    if (happened) emit(event_line("oom", id, ""));
    return {};
  };

  struct pollfd fds[3] = {{init.get(), POLLIN, 0}, {timer.get(), POLLIN, 0}, {oom ? (*oom)->fd().get() : -1, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "poll");
    }
    if (fds[2].revents & POLLIN) BERTH_TRY(report_oom());
    if (fds[1].revents & POLLIN) {
      uint64_t ticks;
      (void)!::read(timer.get(), &ticks, sizeof ticks);
      auto line = stats_event(*cgroups, c.record);
      // As runc: a failed sample is logged and the stream goes on.
      if (line) emit(*line);
      else log::error("container \"{}\": stats: {}", id, line.error().what());
    }
    if (fds[0].revents & POLLIN) {
      // An OOM kill of the init itself: the counter may not have been polled yet.
      BERTH_TRY(report_oom());
      return {};
    }
  }
}

}  // namespace berth::runtime
