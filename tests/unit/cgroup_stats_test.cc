// Stats parsing (events --stats): the parsers, the v1 and v2 readers over
// canned file texts, and the JSON in runc's field names.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/cgroup_ops.h"
#include "runtime/cgroup_stats.h"
#include "runtime/events.h"
#include "runtime/ps.h"

namespace berth::runtime::cgroup {
namespace {

using nlohmann::json;

// A FileSource over a map of path -> content; other paths are ENOENT.
FileSource fake(const std::map<std::string, std::string>& files) {
  return {.read = [files](const std::string& path) -> Result<std::string> {
            auto it = files.find(path);
            if (it == files.end()) return sys_error(ENOENT, "open \"{}\"", path);
            return it->second;
          },
          .list = [files](const std::string& dir) {
            std::vector<std::string> names;
            for (const auto& [path, _] : files)
              if (path.starts_with(dir + "/") && path.find('/', dir.size() + 1) == std::string::npos)
                names.push_back(path.substr(dir.size() + 1));
            return names;
          }};
}

TEST(CgroupStats, FlatKeyed) {
  auto kv = parse_flat_keyed("cache 4096\nrss 8192\nbad line here\nnotanumber x\n\ntotal_rss 1\n");
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_EQ(kv["cache"], 4096u);
  EXPECT_EQ(kv["rss"], 8192u);
  EXPECT_EQ(kv["total_rss"], 1u);
}

TEST(CgroupStats, Numbers) {
  EXPECT_EQ(*parse_uint("123\n", "x"), 123u);
  EXPECT_EQ(*parse_uint("max\n", "x"), UINT64_MAX);
  EXPECT_EQ(*parse_uint("-1", "x"), UINT64_MAX);
  auto bad = parse_uint("12a", "/sys/fs/cgroup/pids/c/pids.max");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("pids.max"), std::string::npos);
  EXPECT_EQ(parse_uint_list("10 20 30 \n"), (std::vector<uint64_t>{10, 20, 30}));
}

TEST(CgroupStats, CpuList) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<uint16_t>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("0\n"), (std::vector<uint16_t>{0}));
  EXPECT_TRUE(parse_cpu_list("\n").empty());
}

TEST(CgroupStats, UsageAll) {
  std::vector<uint64_t> kernel, user;
  parse_usage_all("cpu user system\n0 100 7\n1 200 9\n", kernel, user);
  EXPECT_EQ(user, (std::vector<uint64_t>{100, 200}));
  EXPECT_EQ(kernel, (std::vector<uint64_t>{7, 9}));
}

TEST(CgroupStats, BlkioV1) {
  auto e = parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Total 4608\nTotal 4608\n");
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0], (BlkioEntry{8, 0, "Read", 4096}));
  EXPECT_EQ(e[1], (BlkioEntry{8, 0, "Write", 512}));
  EXPECT_EQ(e[3], (BlkioEntry{8, 16, "Total", 4608}));
  auto sectors = parse_blkio_v1("253:1 42\nTotal 42\n");
  ASSERT_EQ(sectors.size(), 1u);
  EXPECT_EQ(sectors[0], (BlkioEntry{253, 1, "", 42}));
}

TEST(CgroupStats, IoStatV2MapsToV1Tables) {
  Stats::Blkio b;
  parse_io_stat_v2("8:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n253:0 rbytes=5 wbytes=0 rios=1 wios=0\n",
                   b);
  ASSERT_EQ(b.service_bytes.size(), 4u);
  EXPECT_EQ(b.service_bytes[0], (BlkioEntry{8, 0, "Read", 1024}));
  EXPECT_EQ(b.service_bytes[1], (BlkioEntry{8, 0, "Write", 2048}));
  EXPECT_EQ(b.serviced[1], (BlkioEntry{8, 0, "Write", 4}));
  EXPECT_EQ(b.service_bytes[2], (BlkioEntry{253, 0, "Read", 5}));
}

TEST(CgroupStats, NetDev) {
  auto ifs = parse_net_dev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
      "  eth0:    1500      10    1    2    0     0          0         0      700       7    3    4    0     0       0          0\n");
  ASSERT_EQ(ifs.size(), 1u);
  EXPECT_EQ(ifs[0].name, "eth0");
  EXPECT_EQ(ifs[0].rx_bytes, 1500u);
  EXPECT_EQ(ifs[0].rx_packets, 10u);
  EXPECT_EQ(ifs[0].rx_errors, 1u);
  EXPECT_EQ(ifs[0].rx_dropped, 2u);
  EXPECT_EQ(ifs[0].tx_bytes, 700u);
  EXPECT_EQ(ifs[0].tx_packets, 7u);
  EXPECT_EQ(ifs[0].tx_errors, 3u);
  EXPECT_EQ(ifs[0].tx_dropped, 4u);
}

// A hybrid host as this machine's: cpu and cpuacct apart, hugetlb in the unified mount.
TEST(CgroupStats, V1Hierarchies) {
  const std::string c = "/berth-test-c";
  std::vector<detail::Dir> dirs = {
      {.mount_point = "/sys/fs/cgroup/cpu", .path = "/sys/fs/cgroup/cpu" + c},
      {.mount_point = "/sys/fs/cgroup/cpuacct", .path = "/sys/fs/cgroup/cpuacct" + c},
      {.mount_point = "/sys/fs/cgroup/cpuset", .path = "/sys/fs/cgroup/cpuset" + c, .cpuset = true},
      {.mount_point = "/sys/fs/cgroup/memory", .path = "/sys/fs/cgroup/memory" + c},
      {.mount_point = "/sys/fs/cgroup/pids", .path = "/sys/fs/cgroup/pids" + c, .pids = true},
      {.mount_point = "/sys/fs/cgroup/blkio", .path = "/sys/fs/cgroup/blkio" + c},
      {.mount_point = "/sys/fs/cgroup/unified", .path = "/sys/fs/cgroup/unified" + c, .unified = true},
  };
  auto files = fake({
      {"/sys/fs/cgroup/cpu" + c + "/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n"},
      {"/sys/fs/cgroup/cpuacct" + c + "/cpuacct.usage", "5000\n"},
      {"/sys/fs/cgroup/cpuacct" + c + "/cpuacct.usage_percpu", "3000 2000 \n"},
      {"/sys/fs/cgroup/cpuacct" + c + "/cpuacct.usage_all", "cpu user system\n0 2900 100\n1 1800 200\n"},
      {"/sys/fs/cgroup/cpuacct" + c + "/cpuacct.stat", "user 3\nsystem 1\n"},
      {"/sys/fs/cgroup/cpuset" + c + "/cpuset.cpus", "0-1\n"},
      {"/sys/fs/cgroup/cpuset" + c + "/cpuset.mems", "0\n"},
      {"/sys/fs/cgroup/cpuset" + c + "/cpuset.sched_load_balance", "1\n"},
      {"/sys/fs/cgroup/cpuset" + c + "/cpuset.sched_relax_domain_level", "-1\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.stat", "cache 8192\nrss 61440\ntotal_rss 61440\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.usage_in_bytes", "307200\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.max_usage_in_bytes", "2768896\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.failcnt", "4\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.limit_in_bytes", "16777216\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.kmem.usage_in_bytes", "245760\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.kmem.max_usage_in_bytes", "548864\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.kmem.failcnt", "0\n"},
      {"/sys/fs/cgroup/memory" + c + "/memory.kmem.limit_in_bytes", "9223372036854771712\n"},
      {"/sys/fs/cgroup/pids" + c + "/pids.current", "3\n"},
      {"/sys/fs/cgroup/pids" + c + "/pids.max", "max\n"},
      {"/sys/fs/cgroup/blkio" + c + "/blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\nTotal 4096\n"},
      {"/sys/fs/cgroup/blkio" + c + "/blkio.throttle.io_serviced_recursive", "8:0 Read 1\nTotal 1\n"},
      {"/sys/fs/cgroup/unified" + c + "/hugetlb.2MB.current", "2097152\n"},
      {"/sys/fs/cgroup/unified" + c + "/hugetlb.2MB.events", "max 1\n"},
      {"/sys/fs/cgroup/unified" + c + "/hugetlb.2MB.max", "max\n"},
  });
  auto s = detail::v1_stats(dirs, files);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->cpu.total, 5000u);
  EXPECT_EQ(s->cpu.percpu, (std::vector<uint64_t>{3000, 2000}));
  EXPECT_EQ(s->cpu.percpu_kernel, (std::vector<uint64_t>{100, 200}));
  EXPECT_EQ(s->cpu.percpu_user, (std::vector<uint64_t>{2900, 1800}));
  uint64_t tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(s->cpu.user, 3 * tick);
  EXPECT_EQ(s->cpu.kernel, 1 * tick);
  EXPECT_EQ(s->cpu.periods, 10u);
  EXPECT_EQ(s->cpu.throttled_periods, 2u);
  EXPECT_EQ(s->cpu.throttled_time, 3000u);
  EXPECT_EQ(s->cpuset.cpus, (std::vector<uint16_t>{0, 1}));
  EXPECT_EQ(s->cpuset.mems, (std::vector<uint16_t>{0}));
  EXPECT_EQ(s->cpuset.sched_load_balance, 1u);
  EXPECT_EQ(s->cpuset.sched_relax_domain_level, -1);
  EXPECT_EQ(s->memory.cache, 8192u);
  EXPECT_EQ(s->memory.usage.usage, 307200u);
  EXPECT_EQ(s->memory.usage.max, 2768896u);
  EXPECT_EQ(s->memory.usage.failcnt, 4u);
  EXPECT_EQ(s->memory.usage.limit, 16777216u);
  EXPECT_EQ(s->memory.kernel.usage, 245760u);
  EXPECT_EQ(s->memory.swap.usage, 0u) << "no memsw files: no swap accounting";
  EXPECT_EQ(s->memory.raw.at("rss"), 61440u);
  EXPECT_EQ(s->pids.current, 3u);
  EXPECT_EQ(s->pids.limit, 0u);
  ASSERT_EQ(s->blkio.service_bytes.size(), 1u);
  EXPECT_EQ(s->blkio.service_bytes[0], (BlkioEntry{8, 0, "Read", 4096}));
  ASSERT_EQ(s->hugetlb.count("2MB"), 1u);
  EXPECT_EQ(s->hugetlb["2MB"].usage, 2097152u);
  EXPECT_EQ(s->hugetlb["2MB"].failcnt, 1u);
}

TEST(CgroupStats, V1CombinedMountPoints) {
  std::vector<detail::Dir> dirs = {{.mount_point = "/sys/fs/cgroup/cpu,cpuacct", .path = "/sys/fs/cgroup/cpu,cpuacct/c"}};
  auto s = detail::v1_stats(dirs, fake({{"/sys/fs/cgroup/cpu,cpuacct/c/cpuacct.usage", "77\n"},
                                        {"/sys/fs/cgroup/cpu,cpuacct/c/cpu.stat", "nr_periods 5\n"}}));
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->cpu.total, 77u);
  EXPECT_EQ(s->cpu.periods, 5u);
}

TEST(CgroupStats, V2MappedAsRunc) {
  detail::Dir dir{.mount_point = "/sys/fs/cgroup", .path = "/sys/fs/cgroup/c", .unified = true};
  auto files = fake({
      {"/sys/fs/cgroup/c/cpu.stat",
       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n"},
      {"/sys/fs/cgroup/c/cpuset.cpus.effective", "0-3\n"},
      {"/sys/fs/cgroup/c/memory.stat", "anon 4096\nfile 12288\nkernel_stack 16384\n"},
      {"/sys/fs/cgroup/c/memory.current", "65536\n"},
      {"/sys/fs/cgroup/c/memory.max", "1048576\n"},
      {"/sys/fs/cgroup/c/memory.peak", "98304\n"},
      {"/sys/fs/cgroup/c/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n"},
      {"/sys/fs/cgroup/c/memory.swap.current", "4096\n"},
      {"/sys/fs/cgroup/c/memory.swap.max", "max\n"},
      {"/sys/fs/cgroup/c/pids.current", "2\n"},
      {"/sys/fs/cgroup/c/pids.max", "100\n"},
      {"/sys/fs/cgroup/c/io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n"},
      {"/sys/fs/cgroup/c/hugetlb.1GB.current", "0\n"},
  });
  auto s = detail::v2_stats(dir, files);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->cpu.total, 1500000u);
  EXPECT_EQ(s->cpu.user, 1000000u);
  EXPECT_EQ(s->cpu.kernel, 500000u);
  EXPECT_EQ(s->cpu.throttled_time, 20000u);
  EXPECT_EQ(s->cpuset.cpus, (std::vector<uint16_t>{0, 1, 2, 3}));
  EXPECT_EQ(s->memory.cache, 12288u);
  EXPECT_EQ(s->memory.usage.usage, 65536u);
  EXPECT_EQ(s->memory.usage.limit, 1048576u);
  EXPECT_EQ(s->memory.usage.max, 98304u);
  EXPECT_EQ(s->memory.usage.failcnt, 7u);
  EXPECT_EQ(s->memory.swap.usage, 65536u + 4096u) << "v1's meaning: memory + swap";
  EXPECT_EQ(s->memory.swap.limit, UINT64_MAX);
  EXPECT_EQ(s->memory.raw.at("anon"), 4096u);
  EXPECT_EQ(s->pids.current, 2u);
  EXPECT_EQ(s->pids.limit, 100u);
  ASSERT_EQ(s->blkio.service_bytes.size(), 2u);
  EXPECT_EQ(s->blkio.serviced[1], (BlkioEntry{8, 0, "Write", 2}));
  ASSERT_EQ(s->hugetlb.count("1GB"), 1u);
}

TEST(CgroupStats, V2MissingControllersLeaveZeros) {
  detail::Dir dir{.mount_point = "/sys/fs/cgroup", .path = "/sys/fs/cgroup/c", .unified = true};
  auto s = detail::v2_stats(dir, fake({{"/sys/fs/cgroup/c/pids.current", "1\n"}, {"/sys/fs/cgroup/c/pids.max", "max\n"}}));
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->pids.current, 1u);
  EXPECT_EQ(s->pids.limit, 0u);
  EXPECT_EQ(s->memory.usage.usage, 0u);
  EXPECT_TRUE(s->memory.raw.empty());
}

TEST(CgroupStats, UnreadableFileIsAnError) {
  detail::Dir dir{.mount_point = "/sys/fs/cgroup", .path = "/sys/fs/cgroup/c", .unified = true};
  FileSource files = fake({});
  files.read = [](const std::string& path) -> Result<std::string> { return sys_error(EACCES, "open \"{}\"", path); };
  auto s = detail::v2_stats(dir, files);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), EACCES);
}

TEST(CgroupStats, JsonInRuncFieldNames) {
  Stats s;
  s.cpu.total = 10;
  s.cpu.user = 6;
  s.memory.usage = {.limit = 100, .usage = 50, .max = 0, .failcnt = 0};
  s.memory.raw["rss"] = 5;
  s.pids.current = 2;
  s.blkio.service_bytes.push_back({8, 0, "Read", 4});
  s.hugetlb["2MB"] = {};
  auto j = json::parse(runtime::stats_to_json(s));
  EXPECT_EQ(j["cpu"]["usage"]["total"], 10);
  EXPECT_EQ(j["cpu"]["usage"]["user"], 6);
  EXPECT_EQ(j["cpu"]["usage"]["kernel"], 0) << "kernel and user are always there";
  EXPECT_FALSE(j["cpu"]["usage"].contains("percpu")) << "omitempty";
  EXPECT_TRUE(j["cpu"]["throttling"].is_object());
  EXPECT_EQ(j["memory"]["usage"], json({{"limit", 100}, {"usage", 50}, {"failcnt", 0}}));
  EXPECT_EQ(j["memory"]["kernelTCP"], json({{"limit", 0}, {"failcnt", 0}}));
  EXPECT_EQ(j["memory"]["raw"]["rss"], 5);
  EXPECT_FALSE(j["memory"].contains("cache"));
  EXPECT_EQ(j["pids"], json({{"current", 2}}));
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][0], json({{"major", 8}, {"op", "Read"}, {"value", 4}}));
  EXPECT_EQ(j["hugetlb"]["2MB"], json({{"failcnt", 0}}));
  EXPECT_TRUE(j["intel_rdt"].is_object());
  EXPECT_TRUE(j["network_interfaces"].is_null());
  EXPECT_EQ(j["cpuset"]["sched_relax_domain_level"], 0);
}

// v2's OOM watch on a plain file standing for memory.events: inotify sees the
// write, and only a rise of oom_kill counts.
TEST(CgroupStats, V2OomWatchCountsOomKills) {
  char tmpl[] = "/tmp/berth-test-oom-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, events = dir + "/memory.events";
  FILE* f = fopen(events.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("low 0\nhigh 0\nmax 0\noom 2\noom_kill 2\n", f);
  fclose(f);
  auto watch = detail::v2_watch_oom(dir);
  ASSERT_TRUE(watch) << watch.error().what();
  auto& w = **watch;
  EXPECT_FALSE(*w.take()) << "kills from before the watch do not count";
  auto rewrite = [&](const char* text) {
    FILE* g = fopen(events.c_str(), "r+");  // in place: the inotify watch is on this inode
    ASSERT_NE(g, nullptr);
    fputs(text, g);
    fclose(g);
  };
  rewrite("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n");
  struct pollfd p = {w.fd().get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 1000), 1);
  EXPECT_FALSE(*w.take()) << "a change of another counter is no OOM";
  rewrite("low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
  ASSERT_EQ(poll(&p, 1, 1000), 1);
  EXPECT_TRUE(*w.take());
  EXPECT_FALSE(*w.take()) << "each kill is reported once";
  unlink(events.c_str());
  rmdir(dir.c_str());
}

TEST(Events, GoDurations) {
  using namespace std::chrono;
  EXPECT_EQ(*runtime::parse_duration("5s"), seconds(5));
  EXPECT_EQ(*runtime::parse_duration("100ms"), milliseconds(100));
  EXPECT_EQ(*runtime::parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(*runtime::parse_duration("1.5h"), minutes(90));
  EXPECT_EQ(*runtime::parse_duration("0"), nanoseconds(0));
  EXPECT_EQ(*runtime::parse_duration("-1s"), seconds(-1));
  EXPECT_FALSE(runtime::parse_duration("5"));
  EXPECT_FALSE(runtime::parse_duration("5x"));
  EXPECT_FALSE(runtime::parse_duration(""));
  EXPECT_FALSE(runtime::parse_duration("s"));
}

TEST(Ps, FilterKeepsHeaderAndContainerRows) {
  std::string out =
      "UID        PID  PPID  C STIME TTY          TIME CMD\n"
      "root         1     0  0 10:00 ?        00:00:01 /sbin/init\n"
      "root      9498  9447 39 23:14 ?        00:04:01 /bin/sh -c loop\n"
      "root      9500  9498  0 23:14 ?        00:00:00 sleep 100\n";
  auto r = runtime::filter_ps_output(out, {9498, 9500});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r,
            "UID        PID  PPID  C STIME TTY          TIME CMD\n"
            "root      9498  9447 39 23:14 ?        00:04:01 /bin/sh -c loop\n"
            "root      9500  9498  0 23:14 ?        00:00:00 sleep 100\n");
  // PID first (ps -o pid,comm)
  auto first = runtime::filter_ps_output("  PID COMMAND\n    1 init\n 9498 sh\n", {9498});
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "  PID COMMAND\n 9498 sh\n");
  auto none = runtime::filter_ps_output("COMMAND\ninit\n", {1});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().what().find("PID"), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime::cgroup
