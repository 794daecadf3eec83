// pause / resume (the cgroup freezer), events (stats and OOM notifications)
// and ps, with runc's flags, output formats and exit codes.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

// The last {"tick":N} the checker wrote to `path`; 0 before the first.
int last_tick(const std::string& path) {
  std::istringstream s(read_file(path));
  int last = 0;
  for (std::string line; std::getline(s, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("tick")) last = j["tick"];
  }
  return last;
}

// JSON objects, one per line.
std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::set<int> ps_json(Bundle& b) {
  auto r = b.rt({"ps", "--format", "json", b.id});
  EXPECT_EQ(r.status, 0) << r.describe();
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_array()) << r.out;
  std::set<int> pids;
  if (j.is_array())
    for (auto& p : j) pids.insert(p.get<int>());
  return pids;
}

// Three processes: the shell and two sleepers.
void run_three_processes(Bundle& b) {
  b.set_args({"/bin/sh", "-c", "sleep 100 & sleep 100 & wait"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  ASSERT_TRUE(eventually([&] { return ps_json(b).size() == 3; })) << "the shell never forked its two sleepers";
}

TEST(Cgops, PauseFreezesAndResumeContinues) {
  Bundle b;
  std::string out = b.dir + "/out.txt";
  b.checker_args({"tick", "60"});
  CmdOptions o;
  o.stdout_file = out;
  ASSERT_EQ(b.create({}, o).status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(eventually([&] { return last_tick(out) >= 5; })) << read_file(out);

  auto p = b.rt({"pause", b.id});
  ASSERT_EQ(p.status, 0) << p.describe();
  EXPECT_EQ(b.status(), "paused");
  auto list = b.rt({"list", "--format", "json"});
  auto arr = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(arr.is_array() && arr.size() == 1) << list.out;
  EXPECT_EQ(arr[0]["status"], "paused");
  int frozen_at = last_tick(out);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(last_tick(out), frozen_at) << "the container kept running while paused";

  auto again = b.rt({"pause", b.id});
  EXPECT_EQ(again.status, 1) << again.describe();
  EXPECT_NE(again.err.find("container not running"), std::string::npos) << again.err;

  auto r = b.rt({"resume", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(b.status(), "running");
  EXPECT_TRUE(eventually([&] { return last_tick(out) > frozen_at + 5; })) << "no progress after resume";

  auto not_paused = b.rt({"resume", b.id});
  EXPECT_EQ(not_paused.status, 1) << not_paused.describe();
  EXPECT_NE(not_paused.err.find("container not paused"), std::string::npos) << not_paused.err;
}

TEST(Cgops, PauseOfStoppedFails) {
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  auto p = b.rt({"pause", b.id});
  EXPECT_EQ(p.status, 1) << p.describe();
  EXPECT_NE(p.err.find("container not running"), std::string::npos) << p.err;
  EXPECT_EQ(b.rt({"pause", "berth-test-does-not-exist"}).status, 1);
  EXPECT_EQ(b.rt({"resume", "berth-test-does-not-exist"}).status, 1);
}

TEST(Cgops, PauseOfCreatedThenResumeIsCreatedAgain) {
  // runc freezes a created container too; it cannot be started while paused.
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  ASSERT_EQ(b.rt({"pause", b.id}).status, 0);
  EXPECT_EQ(b.status(), "paused");
  EXPECT_NE(b.start().status, 0) << "start of a paused container must fail";
  ASSERT_EQ(b.rt({"resume", b.id}).status, 0);
  EXPECT_EQ(b.status(), "created");
  ASSERT_EQ(b.start().status, 0);
  EXPECT_TRUE(b.wait_status("stopped"));
}

TEST(Cgops, KillOfPausedContainer) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int pid = (*b.state())["pid"];
  ASSERT_EQ(b.rt({"pause", b.id}).status, 0);
  auto k = b.kill("KILL");
  EXPECT_EQ(k.status, 0) << k.describe();
  EXPECT_TRUE(b.wait_status("stopped")) << "SIGKILL must reach a paused (frozen) container";
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }));
  EXPECT_EQ(b.del().status, 0);
}

TEST(Cgops, KillAllOfPausedContainer) {
  Bundle b;
  run_three_processes(b);
  auto pids = ps_json(b);
  ASSERT_EQ(b.rt({"pause", b.id}).status, 0);
  auto k = b.kill("KILL", {"--all"});
  EXPECT_EQ(k.status, 0) << k.describe();
  EXPECT_TRUE(b.wait_status("stopped"));
  for (int p : pids) EXPECT_TRUE(eventually([&] { return ::kill(p, 0) != 0; })) << "pid " << p << " survived";
}

TEST(Cgops, DeleteForceOfPausedContainer) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int pid = (*b.state())["pid"];
  ASSERT_EQ(b.rt({"pause", b.id}).status, 0);
  EXPECT_NE(b.del().status, 0) << "a paused container is not deleted without --force";
  EXPECT_EQ(b.status(), "paused");
  auto d = b.del(true);
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_FALSE(b.state().has_value());
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; })) << "delete --force must kill a paused container";
}

TEST(Cgops, EventsStats) {
  Bundle b;
  run_three_processes(b);
  auto r = b.rt({"events", "--stats", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  auto& e = lines[0];
  EXPECT_EQ(e["type"], "stats");
  EXPECT_EQ(e["id"], b.id);
  auto& d = e["data"];
  ASSERT_TRUE(d.is_object()) << e;
  EXPECT_EQ(d["pids"]["current"], 3) << d["pids"];
  EXPECT_GT(d["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << d["memory"];
  EXPECT_GT(d["memory"]["usage"]["limit"].get<uint64_t>(), 0u) << d["memory"];
  for (auto k : {"swap", "kernel", "kernelTCP"}) EXPECT_TRUE(d["memory"][k].contains("failcnt")) << k;
  EXPECT_TRUE(d["memory"]["raw"].is_object() && !d["memory"]["raw"].empty()) << d["memory"];
  EXPECT_GT(d["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << d["cpu"];
  EXPECT_TRUE(d["cpu"]["usage"].contains("kernel") && d["cpu"]["usage"].contains("user")) << d["cpu"];
  EXPECT_TRUE(d["cpu"]["throttling"].is_object());
  EXPECT_TRUE(d["blkio"].is_object());
  EXPECT_TRUE(d["hugetlb"].is_object());
  EXPECT_TRUE(d.contains("network_interfaces"));
}

TEST(Cgops, EventsOfStoppedContainerFails) {
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  auto r = b.rt({"events", "--stats", b.id});
  EXPECT_EQ(r.status, 1) << r.describe();
  EXPECT_NE(r.err.find("is not running"), std::string::npos) << r.err;
  auto bad = b.rt({"events", "--interval", "0s", b.id});
  EXPECT_EQ(bad.status, 1) << bad.describe();
}

TEST(Cgops, EventsStreamEndsWhenContainerExits) {
  SKIP_ON_RUNC("runc 1.1 on cgroup v1 ends the stream only when the cgroup goes (delete), not when the container stops");
  Bundle b;
  b.checker_args({"sleep", "1"});
  ASSERT_EQ(b.create().status, 0);
  std::string out = b.dir + "/events.txt";
  CmdOptions o;
  o.stdout_file = out;
  Spawned events({runtime_path(), "--root", b.root, "events", "--interval", "100ms", b.id}, o);
  ASSERT_TRUE(eventually([&] { return read_file(out).find("\"stats\"") != std::string::npos; }))
      << "no stats event within 10 s";
  ASSERT_EQ(b.start().status, 0);
  auto r = events.wait(10000ms);
  EXPECT_FALSE(r.timed_out) << "the stream did not end when the container exited";
  EXPECT_EQ(r.status, 0) << r.describe();
  auto lines = json_lines(read_file(out));
  ASSERT_GE(lines.size(), 2u);
  for (auto& l : lines) {
    EXPECT_EQ(l["type"], "stats") << l;
    EXPECT_EQ(l["id"], b.id);
  }
}

TEST(Cgops, EventsReportsOom) {
  Bundle b;
  // 32 MiB of memory (and no swap beyond it); the checker asks for 256.
  b.config["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  b.set_args({"/bin/sh", "-c", "/bin/checker alloc 256 >/dev/null; echo survived; exec sleep 30"});
  std::string cout = b.dir + "/out.txt";
  CmdOptions co;
  co.stdout_file = cout;
  ASSERT_EQ(b.create({}, co).status, 0);
  std::string out = b.dir + "/events.txt";
  CmdOptions o;
  o.stdout_file = out;
  Spawned events({runtime_path(), "--root", b.root, "events", "--interval", "100ms", b.id}, o);
  // The first stats event comes after the OOM watch is set up.
  ASSERT_TRUE(eventually([&] { return read_file(out).find("\"stats\"") != std::string::npos; }));
  ASSERT_EQ(b.start().status, 0);
  // runc's exact line: type first, no data.
  std::string oom = R"({"type":"oom","id":")" + b.id + R"("})";
  EXPECT_TRUE(eventually([&] { return read_file(out).find(oom + "\n") != std::string::npos; }))
      << "no OOM event: " << read_file(out).substr(0, 2000);
  EXPECT_TRUE(eventually([&] { return read_file(cout).find("survived") != std::string::npos; }))
      << "the allocating process was not the one killed";
  EXPECT_EQ(b.status(), "running");
  ASSERT_EQ(b.kill("KILL").status, 0);
  // runc 1.1 (v1) ends the stream only when the cgroup is removed.
  if (runtime_is_runc()) {
    ASSERT_TRUE(b.wait_status("stopped"));
    ASSERT_EQ(b.del().status, 0);
  }
  auto r = events.wait(10000ms);
  EXPECT_FALSE(r.timed_out) << "the stream did not end when the container was killed";
  EXPECT_EQ(r.status, 0) << r.describe();
  // The memory limit shows in the stats.
  bool limited = false;
  for (auto& l : json_lines(read_file(out)))
    if (l["type"] == "stats") limited |= l["data"]["memory"]["usage"]["limit"] == 32 << 20;
  EXPECT_TRUE(limited) << "no stats event shows the 32 MiB limit";
}

TEST(Cgops, PsJsonAndTable) {
  Bundle b;
  run_three_processes(b);
  int init = (*b.state())["pid"];
  auto pids = ps_json(b);
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_TRUE(pids.contains(init)) << "the init's pid " << init << " is missing";

  auto t = b.rt({"ps", b.id});  // ps -ef
  ASSERT_EQ(t.status, 0) << t.describe();
  std::istringstream s(t.out);
  std::string header;
  std::getline(s, header);
  EXPECT_NE(header.find("PID"), std::string::npos) << t.out;
  EXPECT_NE(header.find("CMD"), std::string::npos) << "-ef is the default: " << t.out;
  std::set<int> rows;
  for (std::string line; std::getline(s, line);) {
    std::istringstream f(line);
    std::string uid;
    int pid = 0;
    f >> uid >> pid;
    rows.insert(pid);
  }
  EXPECT_EQ(rows, pids) << t.out;

  // ps options after the id; the PID column found from the header wherever it is
  auto o = b.rt({"ps", b.id, "-o", "comm,pid"});
  ASSERT_EQ(o.status, 0) << o.describe();
  EXPECT_EQ(o.out.rfind("COMMAND", 0), 0u) << o.out;
  size_t sleeps = 0;
  for (size_t at = o.out.find("sleep"); at != std::string::npos; at = o.out.find("sleep", at + 1)) ++sleeps;
  EXPECT_EQ(sleeps, 2u) << o.out;

  auto nopid = b.rt({"ps", b.id, "-o", "comm"});
  EXPECT_EQ(nopid.status, 1) << nopid.describe();
  EXPECT_NE(nopid.err.find("PID"), std::string::npos) << nopid.err;
  auto bad = b.rt({"ps", "--format", "yaml", b.id});
  EXPECT_EQ(bad.status, 1) << bad.describe();
}

// ---------------------------------------------------------------- pure v2
// cgroup2 mounted over /sys/fs/cgroup in a private mount namespace: the
// hybrid host's unified hierarchy seen as a pure v2 host's (its freezer is
// cgroup.freeze; it has no memory or pids controller here).
constexpr const char* kUnified = "/sys/fs/cgroup/unified";

CmdResult rt_as_v2(Bundle& b, const std::vector<std::string>& args, const CmdOptions& opts = {}) {
  std::vector<std::string> argv = {"unshare", "-m", "--propagation", "private", "sh", "-c",
                                   "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$@\"", "sh",
                                   runtime_path(), "--root", b.root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, opts);
}

TEST(Cgops, PureV2PauseResumeStatsPs) {
  if (!std::filesystem::exists(std::string(kUnified) + "/cgroup.freeze") &&
      !std::filesystem::exists(std::string(kUnified) + "/cgroup.controllers"))
    GTEST_SKIP() << "needs a hybrid host's cgroup2 mount";
  Bundle b;
  std::string cg = std::string(kUnified) + "/" + b.id;
  struct Guard {
    std::string dir;
    ~Guard() { rmdir(dir.c_str()); }
  } guard{cg};
  b.config["linux"]["cgroupsPath"] = "/" + b.id;
  b.checker_args({"tick", "60"});
  b.write_config();
  std::string out = b.dir + "/out.txt";
  CmdOptions o;
  o.stdout_file = out;
  auto r = rt_as_v2(b, {"run", "--detach", "--bundle", b.dir, b.id}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  ASSERT_TRUE(eventually([&] { return last_tick(out) >= 5; })) << read_file(out);
  auto status = [&] {
    auto st = json::parse(rt_as_v2(b, {"state", b.id}).out, nullptr, false);
    return st.is_object() ? st.value("status", "") : "";
  };

  r = rt_as_v2(b, {"pause", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(read_file(cg + "/cgroup.freeze"), "1\n");
  EXPECT_NE(read_file(cg + "/cgroup.events").find("frozen 1"), std::string::npos);
  EXPECT_EQ(status(), "paused");
  int frozen_at = last_tick(out);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(last_tick(out), frozen_at) << "the container kept running while paused";

  r = rt_as_v2(b, {"events", "--stats", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto e = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(e.is_object()) << r.out;
  EXPECT_GT(e["data"]["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << "cpu.stat's usage_usec: " << r.out;
  r = rt_as_v2(b, {"ps", "--format", "json", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto pids = json::parse(r.out, nullptr, false);
  EXPECT_EQ(pids, json::array({json::parse(read_file(cg + "/cgroup.procs"))})) << r.out;

  r = rt_as_v2(b, {"resume", b.id});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(read_file(cg + "/cgroup.freeze"), "0\n");
  EXPECT_EQ(status(), "running");
  EXPECT_TRUE(eventually([&] { return last_tick(out) > frozen_at + 5; })) << "no progress after resume";

  // A paused container is killed, and deleted with its cgroup.
  ASSERT_EQ(rt_as_v2(b, {"pause", b.id}).status, 0);
  r = rt_as_v2(b, {"kill", b.id, "KILL"});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_TRUE(eventually([&] { return status() == "stopped"; }));
  r = rt_as_v2(b, {"delete", b.id});
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(cg)) << "cgroup left behind";
}

TEST(Cgops, PsOptionsAfterDoubleDash) {
  SKIP_ON_RUNC("runc 1.1 hands the \"--\" on to ps, which fails with \"garbage option\"");
  Bundle b;
  run_three_processes(b);
  auto o = b.rt({"ps", b.id, "--", "-o", "pid,comm"});
  ASSERT_EQ(o.status, 0) << o.describe();
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 4) << o.out;
}

}  // namespace
}  // namespace berth::test
