// berth stats and top: the pure parts (cgroup paths from /proc/<pid>/cgroup,
// the numbers of a row, docker's size texts, the table and JSON), and a
// reading of a real process's cgroup on this host.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "engine/stats.h"
#include "engine_env.h"

namespace berth::engine {
namespace {

namespace cg = runtime::cgroup;

cg::Layout hybrid_layout() {
  cg::Layout l;
  l.mode = cg::Mode::hybrid;
  l.hierarchies = {
      {"/sys/fs/cgroup/systemd", "/", {"name=systemd"}, false, "/"},
      {"/sys/fs/cgroup/cpu,cpuacct", "/", {"cpu", "cpuacct"}, false, "/"},
      {"/sys/fs/cgroup/memory", "/", {"memory"}, false, "/"},
      {"/sys/fs/cgroup/pids", "/docker/abc", {"pids"}, false, "/"},  // a sub-tree mounted
      {"/sys/fs/cgroup/unified", "/", {}, true, "/"},
  };
  return l;
}

TEST(CgroupPaths, HybridHost) {
  const char* text =
      "12:pids:/docker/abc/berth/x\n"
      "5:cpuacct,cpu:/berth/x\n"
      "4:memory:/berth/x\n"
      "1:name=systemd:/\n"
      "0::/berth/x\n"
      "7:freezer:/berth/x\n";  // not mounted here: left out
  auto paths = cgroup_paths_of(text, hybrid_layout());
  ASSERT_TRUE(paths) << paths.error().what();
  EXPECT_EQ(paths->size(), 5u);
  EXPECT_EQ(paths->at("/sys/fs/cgroup/cpu,cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/berth/x");
  EXPECT_EQ(paths->at("/sys/fs/cgroup/memory"), "/sys/fs/cgroup/memory/berth/x");
  EXPECT_EQ(paths->at("/sys/fs/cgroup/pids"), "/sys/fs/cgroup/pids/berth/x");
  EXPECT_EQ(paths->at("/sys/fs/cgroup/systemd"), "/sys/fs/cgroup/systemd");
  EXPECT_EQ(paths->at("/sys/fs/cgroup/unified"), "/sys/fs/cgroup/unified/berth/x");
}

TEST(CgroupPaths, PureV2AndErrors) {
  cg::Layout v2;
  v2.hierarchies = {{"/sys/fs/cgroup", "/", {"memory", "pids"}, true, "/"}};
  auto paths = cgroup_paths_of("0::/system.slice/berth-x.scope\n", v2);
  ASSERT_TRUE(paths);
  EXPECT_EQ(paths->at("/sys/fs/cgroup"), "/sys/fs/cgroup/system.slice/berth-x.scope");
  EXPECT_FALSE(cgroup_paths_of("garbage\n", v2));
  EXPECT_FALSE(cgroup_paths_of("3:rdma:/x\n", v2));  // nothing of this host
}

TEST(Sizes, DockerTexts) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(1000), "1kB");
  EXPECT_EQ(human_size(1234), "1.234kB");
  EXPECT_EQ(human_size(15'320'000), "15.32MB");
  EXPECT_EQ(binary_size(1024), "1KiB");
  EXPECT_EQ(binary_size(1536 * 1024), "1.5MiB");
  EXPECT_EQ(binary_size(8'221'470'720.0), "7.657GiB");
}

StatsSample sample(uint64_t cpu_ns, int64_t at_ns) {
  StatsSample s;
  s.cgroup.cpu.total = cpu_ns;
  s.taken_ns = at_ns;
  return s;
}

TEST(ComputeStats, CpuMemoryIoPids) {
  auto cur = sample(1'500'000'000, 10'000'000'000);
  cur.cgroup.memory.usage.usage = 10 << 20;
  cur.cgroup.memory.usage.limit = 9223372036854771712ULL;  // v1 unlimited
  cur.cgroup.memory.raw["total_inactive_file"] = 2 << 20;
  cur.cgroup.blkio.service_bytes = {{8, 0, "Read", 4096}, {8, 0, "Write", 100}, {8, 16, "Read", 4}, {8, 0, "Total", 5}};
  cur.cgroup.interfaces = {{"eth0", 1000, 1, 0, 0, 2000, 2, 0, 0}, {"eth1", 1, 1, 0, 0, 2, 1, 0, 0}};
  cur.cgroup.pids.current = 3;

  auto prev = sample(1'000'000'000, 9'000'000'000);
  auto row = compute_stats(cur, &prev, 0, uint64_t{1} << 30);
  EXPECT_DOUBLE_EQ(row.cpu_percent, 50.0);  // 0.5 s of CPU in 1 s
  EXPECT_EQ(row.mem_usage, uint64_t{8} << 20);
  EXPECT_EQ(row.mem_limit, uint64_t{1} << 30);  // no limit: the host's memory
  EXPECT_DOUBLE_EQ(row.mem_percent, 100.0 * 8 / 1024);
  EXPECT_EQ(row.block_read, 4100u);
  EXPECT_EQ(row.block_write, 100u);
  EXPECT_EQ(row.net_rx, 1001u);
  EXPECT_EQ(row.net_tx, 2002u);
  EXPECT_EQ(row.pids, 3u);

  // First reading: since the container started, with no CPU used before.
  auto first = compute_stats(cur, nullptr, 7'000'000'000, uint64_t{1} << 30);
  EXPECT_DOUBLE_EQ(first.cpu_percent, 50.0);  // 1.5 s over 3 s

  cur.cgroup.memory.usage.limit = 64 << 20;  // a limit below the host's memory is shown as is
  EXPECT_EQ(compute_stats(cur, &prev, 0, uint64_t{1} << 30).mem_limit, uint64_t{64} << 20);
}

TEST(Format, TableAndJson) {
  ContainerStats r;
  r.id = std::string(64, 'a');
  r.name = "web";
  r.cpu_percent = 12.345;
  r.mem_usage = 1536 * 1024;
  r.mem_limit = uint64_t{1} << 30;
  r.mem_percent = 0.146;
  r.net_rx = 1234;
  r.net_tx = 0;
  r.block_read = 4096;
  r.block_write = 0;
  r.pids = 2;
  auto table = format_stats_table({r});
  EXPECT_NE(table.find("CONTAINER ID"), std::string::npos);
  EXPECT_NE(table.find("MEM USAGE / LIMIT"), std::string::npos);
  EXPECT_NE(table.find("aaaaaaaaaaaa "), std::string::npos);
  EXPECT_EQ(table.find(std::string(13, 'a')), std::string::npos);  // the short id
  EXPECT_NE(table.find("12.35%"), std::string::npos);
  EXPECT_NE(table.find("1.5MiB / 1GiB"), std::string::npos);
  EXPECT_NE(table.find("1.234kB / 0B"), std::string::npos);
  EXPECT_NE(table.find("4.096kB / 0B"), std::string::npos);

  auto json = nlohmann::json::parse(format_stats_json({r}));
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["name"], "web");
  EXPECT_EQ(json[0]["cpu_percent"], "12.35%");
  EXPECT_EQ(json[0]["mem_usage"], "1.5MiB / 1GiB");
  EXPECT_EQ(json[0]["pids"], "2");
  EXPECT_EQ(json[0]["raw"]["mem_usage"], 1536 * 1024);
}

// A child in a cgroup of its own (made with the runtime's cgroup manager)
// is read through its /proc/<pid>/cgroup on this host's layout.
TEST(SampleStats, ProcessInItsCgroup) {
  auto layout = cg::detect_layout();
  ASSERT_TRUE(layout) << layout.error().what();
  auto manager = cg::make_manager(*layout, fmt::format("/berth-test-stats-{}", ::getpid()), "stats");
  ASSERT_TRUE(manager) << manager.error().what();
  ASSERT_TRUE((*manager)->create());
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char c;
    (void)!::read(go[0], &c, 1);
    std::vector<char> touched(4 << 20, 'x');  // charged to the new memory cgroup
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 200'000'000; ++i) x = x + i;  // some CPU time
    ::pause();
    ::_exit(0);
  }
  auto added = (*manager)->add_process(pid);
  (void)!::write(go[1], "g", 1);
  auto before = sample_stats(pid);
  ::usleep(300'000);
  auto after = sample_stats(pid);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  auto destroyed = (*manager)->destroy();
  ::close(go[0]);
  ::close(go[1]);
  ASSERT_TRUE(added) << added.error().what();
  ASSERT_TRUE(before) << before.error().what();
  ASSERT_TRUE(after) << after.error().what();
  auto mem = host_memory_total();
  ASSERT_TRUE(mem);
  auto row = compute_stats(*after, &*before, 0, *mem);
  EXPECT_GT(row.cpu_percent, 10.0);  // busy on a CPU meanwhile
  EXPECT_LT(row.cpu_percent, 110.0);
  EXPECT_GE(row.mem_usage, uint64_t{4} << 20);
  EXPECT_EQ(row.pids, 1u);
  EXPECT_TRUE(destroyed);
}


// ---- a real running container (busybox, through the berth binary)
class TopStatsContainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = berth("run -d --network none --name berth-test-top --memory 64m busybox "
                   "sh -c 'sleep 1000 & sleep 1001'");
    ASSERT_EQ(r.status, 0) << r.out;
    ::usleep(200'000);
  }
  static void TearDownTestSuite() {
    berth("rm -f berth-test-top");
    testing::reap_zombies();
  }
  void SetUp() override { ASSERT_TRUE(testing::EngineEnv::get().loaded); }
  static image::testing::Cmd berth(const std::string& args) { return testing::EngineEnv::get().run(args); }
};

TEST_F(TopStatsContainerTest, Top) {
  auto r = berth("top berth-test-top");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("PID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleep 1000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleep 1001"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("berth top"), std::string::npos) << r.out;  // only the container's processes
  r = berth("top berth-test-top -o pid,comm");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("sleep"), std::string::npos) << r.out;
  r = berth("top berth-test-top -o comm");  // no PID column to filter on
  EXPECT_EQ(r.status, 125) << r.out;
}

TEST_F(TopStatsContainerTest, StatsNoStream) {
  auto r = berth("stats --no-stream --format json berth-test-top");
  ASSERT_EQ(r.status, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 1) << r.out;
  EXPECT_EQ(doc[0]["name"], "berth-test-top");
  EXPECT_EQ(doc[0]["pids"], "2");  // the background sleep and the one sh became (it execs its last command)
  EXPECT_EQ(doc[0]["raw"]["mem_limit"], 64 << 20);
  EXPECT_GT(doc[0]["raw"]["mem_usage"].get<uint64_t>(), 0u);
  r = berth("stats --no-stream");  // every running container, as a table
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("berth-test-top"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/ 64MiB"), std::string::npos) << r.out;
  r = berth("create --network none --name berth-test-top-created busybox true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(berth("stats --no-stream berth-test-top-created").status, 125);
  berth("rm -f berth-test-top-created");
}

}  // namespace
}  // namespace berth::engine
