// The runc command line: every verb and its flags, states and exit codes
// (runtime-spec "Lifecycle" and "Operations"; runc's CLI for the flags).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "harness.h"

namespace berth::test {
namespace {

TEST(Lifecycle, RunReturnsContainerExitCode) {
  Bundle b;
  b.checker_args({"exit", "7"});
  auto r = b.run();
  EXPECT_EQ(r.status, 7) << r.describe();
  EXPECT_EQ(b.status(), "") << "run must delete the container after it exits";
  b.set_args({"/bin/true"});
  EXPECT_EQ(b.run().status, 0);
}

TEST(Lifecycle, RunPassesStdio) {
  Bundle b;
  b.set_args({"/bin/sh", "-c", "read x; echo got:$x; echo err >&2"});
  CmdOptions o;
  o.stdin_data = "hello\n";
  auto r = b.run({}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "got:hello\n");
  EXPECT_NE(r.err.find("err"), std::string::npos) << r.describe();
}

TEST(Lifecycle, RunKilledBySignalReturns128PlusSignal) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  b.write_config();
  Spawned run({runtime_path(), "--root", b.root, "run", "--bundle", b.dir, b.id});
  ASSERT_TRUE(b.wait_status("running")) << "container never reached running";
  auto k = b.kill("KILL");
  EXPECT_EQ(k.status, 0) << k.describe();
  auto r = run.wait();
  EXPECT_EQ(r.status, 128 + SIGKILL) << r.describe();
}

TEST(Lifecycle, CreateStartStateDelete) {
  Bundle b;
  std::string out = b.dir + "/out.txt";
  b.set_args({"/bin/sh", "-c", "echo started"});
  CmdOptions o;
  o.stdout_file = out;
  auto c = b.create({}, o);
  ASSERT_EQ(c.status, 0) << c.describe();

  auto st = b.state();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ((*st)["id"], b.id);
  EXPECT_EQ((*st)["status"], "created");
  EXPECT_EQ((*st)["bundle"], b.dir);
  EXPECT_TRUE((*st).contains("ociVersion"));
  ASSERT_TRUE((*st)["pid"].is_number());
  int pid = (*st)["pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "the created container's process must exist";
  usleep(100000);
  EXPECT_EQ(read_file(out), "") << "the user process must not run before start";

  auto s = b.start();
  ASSERT_EQ(s.status, 0) << s.describe();
  ASSERT_TRUE(b.wait_status("stopped"));
  EXPECT_EQ(read_file(out), "started\n");
  // start of a stopped container fails
  EXPECT_NE(b.start().status, 0);

  auto d = b.del();
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_FALSE(b.state().has_value()) << "state of a deleted container must fail";
  EXPECT_NE(b.del().status, 0) << "delete of an unknown container must fail";
}

TEST(Lifecycle, StateOfRunningContainer) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.create().status, 0);
  ASSERT_EQ(b.start().status, 0);
  auto st = b.state();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ((*st)["status"], "running");
  // a running container is not deleted without --force
  EXPECT_NE(b.del().status, 0);
  EXPECT_EQ(b.status(), "running");
  int pid = (*st)["pid"];
  auto d = b.del(true);
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_FALSE(b.state().has_value());
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; })) << "delete --force must kill the process";
}

TEST(Lifecycle, DeleteOfCreatedWithoutForce) {
  // runtime-spec "delete" says deleting a container that is not stopped MUST
  // fail, but runc and crun both delete a created (never started) container,
  // and containerd's runc shim relies on it (it deletes a created task without
  // --force): berth follows runc here. A running one is refused (StateOfRunningContainer).
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  int pid = (*b.state())["pid"];
  auto d = b.del();
  EXPECT_EQ(d.status, 0) << d.describe();
  EXPECT_FALSE(b.state().has_value());
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; })) << "the created process must be gone";
}

TEST(Lifecycle, DeleteForceOfCreated) {
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  int pid = (*b.state())["pid"];
  EXPECT_EQ(b.del(true).status, 0);
  EXPECT_FALSE(b.state().has_value());
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }));
}

TEST(Lifecycle, DuplicateIdRefused) {
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  auto again = b.create();
  EXPECT_NE(again.status, 0);
  EXPECT_EQ(b.status(), "created");
}

TEST(Lifecycle, UnknownContainerFails) {
  Bundle b;
  EXPECT_NE(b.rt({"state", "berth-test-does-not-exist"}).status, 0);
  EXPECT_NE(b.rt({"start", "berth-test-does-not-exist"}).status, 0);
  EXPECT_NE(b.rt({"kill", "berth-test-does-not-exist", "KILL"}).status, 0);
}

TEST(Lifecycle, RunDetach) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  auto r = b.run({"--detach"});
  ASSERT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(b.status(), "running");
  EXPECT_EQ(b.kill("KILL").status, 0);
  EXPECT_TRUE(b.wait_status("stopped"));
  EXPECT_EQ(b.del().status, 0);
}

TEST(Lifecycle, PidFile) {
  Bundle b;
  std::string pidfile = b.dir + "/container.pid";
  ASSERT_EQ(b.create({"--pid-file", pidfile}).status, 0);
  auto st = b.state();
  ASSERT_TRUE(st.has_value());
  std::string content = read_file(pidfile);
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(std::stoi(content), (*st)["pid"].get<int>());
}

TEST(Lifecycle, KillBySignalNameAndNumber) {
  for (std::string sig : {"USR1", "SIGUSR1", "10"}) {
    SCOPED_TRACE("signal " + sig);
    Bundle b;
    std::string out = b.dir + "/out.txt";
    b.checker_args({"trap", "20"});
    CmdOptions o;
    o.stdout_file = out;
    ASSERT_EQ(b.create({}, o).status, 0);
    ASSERT_EQ(b.start().status, 0);
    ASSERT_TRUE(eventually([&] { return read_file(out).find("ready") != std::string::npos; }));
    auto k = b.kill(sig);
    EXPECT_EQ(k.status, 0) << k.describe();
    ASSERT_TRUE(b.wait_status("stopped"));
    EXPECT_NE(read_file(out).find("{\"signal\":10}"), std::string::npos) << read_file(out);
  }
}

TEST(Lifecycle, KillDefaultsToSigterm) {
  Bundle b;
  std::string out = b.dir + "/out.txt";
  b.checker_args({"trap", "20"});
  CmdOptions o;
  o.stdout_file = out;
  ASSERT_EQ(b.create({}, o).status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(eventually([&] { return read_file(out).find("ready") != std::string::npos; }));
  EXPECT_EQ(b.kill().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  EXPECT_NE(read_file(out).find("{\"signal\":15}"), std::string::npos) << read_file(out);
}

TEST(Lifecycle, KillInvalidSignalFails) {
  Bundle b;
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  EXPECT_NE(b.kill("NOTASIGNAL").status, 0);
  EXPECT_EQ(b.status(), "running");
}

TEST(Lifecycle, KillOfStoppedContainerFails) {
  // runtime-spec "kill": a container neither created nor running -> error
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  EXPECT_NE(b.kill("KILL").status, 0);
  EXPECT_EQ(b.status(), "stopped");
}

TEST(Lifecycle, NoNewKeyring) {
  Bundle b;
  b.checker_args({"exit", "0"});
  auto r = b.run({"--no-new-keyring"});
  EXPECT_EQ(r.status, 0) << r.describe();
}

TEST(Lifecycle, KillAll) {
  Bundle b;
  // Two processes: the shell (pid 1) and a background sleeper.
  b.set_args({"/bin/sh", "-c", "sleep 100 & sleep 100"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  int pid = (*b.state())["pid"];
  // give the shell time to fork its children
  ASSERT_TRUE(eventually([&] { return !read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children").empty(); }));
  std::string children = read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  auto k = b.kill("KILL", {"--all"});
  EXPECT_EQ(k.status, 0) << k.describe();
  EXPECT_TRUE(b.wait_status("stopped"));
  int child = std::stoi(children);
  EXPECT_TRUE(eventually([&] { return ::kill(child, 0) != 0; })) << "kill --all must reach every process";
}

TEST(Lifecycle, ListFormats) {
  Bundle b;
  std::string id2 = b.new_id("second");
  b.checker_args({"sleep", "30"});
  ASSERT_EQ(b.create().status, 0);
  b.write_config();
  ASSERT_EQ(b.rt({"run", "--detach", "--bundle", b.dir, id2}).status, 0);

  auto table = b.rt({"list"});
  ASSERT_EQ(table.status, 0) << table.describe();
  EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
  for (auto col : {"PID", "STATUS", "BUNDLE", "CREATED", "OWNER"})
    EXPECT_NE(table.out.find(col), std::string::npos) << col << " column missing: " << table.out;
  EXPECT_NE(table.out.find(b.id), std::string::npos);
  EXPECT_NE(table.out.find("created"), std::string::npos);
  EXPECT_NE(table.out.find("running"), std::string::npos);

  auto quiet = b.rt({"list", "--quiet"});
  ASSERT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.out, b.id + "\n" + id2 + "\n");

  auto js = b.rt({"list", "--format", "json"});
  ASSERT_EQ(js.status, 0);
  auto arr = json::parse(js.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << js.out;
  ASSERT_EQ(arr.size(), 2u);
  for (auto& c : arr) {
    for (auto k : {"id", "pid", "status", "bundle", "created", "owner"}) EXPECT_TRUE(c.contains(k)) << k << ": " << c;
    EXPECT_EQ(c["bundle"], b.dir);
    EXPECT_EQ(c["status"], c["id"] == b.id ? "created" : "running");
    EXPECT_EQ(c["owner"], "root");
  }
  auto jshort = b.rt({"list", "-f", "json"});
  EXPECT_EQ(jshort.out, js.out);
}

TEST(Lifecycle, ListEmpty) {
  Bundle b;
  auto table = b.rt({"list"});
  ASSERT_EQ(table.status, 0) << table.describe();
  EXPECT_EQ(table.out.rfind("ID", 0), 0u);
  auto js = b.rt({"list", "--format", "json"});
  ASSERT_EQ(js.status, 0);
  // runc prints "null" for no containers; an empty array is just as valid
  auto j = json::parse(js.out, nullptr, false);
  EXPECT_TRUE(j.is_null() || (j.is_array() && j.empty())) << js.out;
  EXPECT_EQ(b.rt({"list", "-q"}).out, "");
}

TEST(Lifecycle, NoPivot) {
  Bundle b;
  auto j = b.check();
  Bundle n;
  n.checker_args({"all"});
  auto r = n.run({"--no-pivot"});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto k = parse_checker(r.out);
  // the container still sees its rootfs as / with the same mounts on top
  bool has_root = false;
  for (auto& m : k["mounts"]) has_root |= m["target"] == "/";
  EXPECT_TRUE(has_root);
  EXPECT_EQ(k["cwd"], "/");
  EXPECT_EQ(j["hostname"], k["hostname"]);
}

TEST(Lifecycle, PreserveFds) {
  Bundle b;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  CmdOptions o;
  o.extra_fds = {fds[0], fds[1]};  // fds 3 and 4 of the runtime
  b.checker_args({"all"});
  auto r = b.run({"--preserve-fds", "1"}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  std::vector<int> seen;
  for (auto& f : j["fds"]) seen.push_back(f["fd"]);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3})) << j["fds"];
  EXPECT_NE(j["fds"][3]["target"].get<std::string>().find("pipe:"), std::string::npos);
  close(fds[0]);
  close(fds[1]);
}

TEST(Lifecycle, Version) {
  Bundle b;
  auto r = run_cmd({runtime_path(), "--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("spec: 1."), std::string::npos) << "runc prints the runtime-spec version: " << r.out;
}

TEST(Lifecycle, Spec) {
  Bundle b;
  std::string d = b.dir + "/spec";
  std::filesystem::create_directories(d);
  auto r = b.rt({"spec", "--bundle", d});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = json::parse(read_file(d + "/config.json"), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["ociVersion"].get<std::string>().rfind("1.", 0), 0u);
  EXPECT_EQ(j["root"]["path"], "rootfs");
  EXPECT_EQ(j["process"]["args"], json::array({"sh"}));
  EXPECT_TRUE(j["linux"]["namespaces"].is_array());
  // spec refuses to overwrite an existing config.json
  EXPECT_NE(b.rt({"spec", "--bundle", d}).status, 0);
}

TEST(Lifecycle, SpecRootless) {
  Bundle b;
  std::string d = b.dir + "/spec";
  std::filesystem::create_directories(d);
  auto r = b.rt({"spec", "--rootless", "--bundle", d});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = json::parse(read_file(d + "/config.json"), nullptr, false);
  ASSERT_TRUE(j.is_object());
  bool userns = false;
  for (auto& ns : j["linux"]["namespaces"]) userns |= ns["type"] == "user";
  EXPECT_TRUE(userns);
  ASSERT_TRUE(j["linux"]["uidMappings"].is_array());
  EXPECT_EQ(j["linux"]["uidMappings"][0]["hostID"], getuid());
  ASSERT_TRUE(j["linux"]["gidMappings"].is_array());
}

TEST(Lifecycle, DefaultSpecRuns) {
  // `spec` output + the fixture rootfs is a runnable bundle
  Bundle b;
  std::filesystem::remove(b.dir + "/config.json");
  ASSERT_EQ(b.rt({"spec", "--bundle", b.dir}).status, 0);
  b.config = json::parse(read_file(b.dir + "/config.json"));
  b.config["process"]["terminal"] = false;
  b.set_args({"/bin/echo", "ok"});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "ok\n");
}

TEST(Lifecycle, LogJsonOnError) {
  Bundle b;
  std::string log = b.dir + "/runtime.log";
  auto r = b.rt({"--log", log, "--log-format", "json", "run", "--bundle", b.dir + "/nonexistent", b.id});
  EXPECT_NE(r.status, 0);
  std::string content = read_file(log);
  ASSERT_FALSE(content.empty()) << "nothing logged; stderr: " << r.err;
  bool found = false;
  std::istringstream s(content);
  for (std::string line; std::getline(s, line);) {
    auto j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (j.contains("level") && j.contains("msg") && j["level"] == "error") found = true;
  }
  EXPECT_TRUE(found) << content;
}

TEST(Lifecycle, LogTextAndDebug) {
  Bundle b;
  std::string log = b.dir + "/runtime.log";
  b.write_config();
  auto r = b.rt({"--debug", "--log", log, "run", "--bundle", b.dir, b.id});
  EXPECT_EQ(r.status, 0) << r.describe();
  // text format: not JSON
  std::string content = read_file(log);
  ASSERT_FALSE(content.empty()) << "--debug logged nothing";
  EXPECT_NE(content[0], '{') << content;
}

TEST(Lifecycle, BadConfigFailsBeforeCreating) {
  Bundle b;
  b.config["process"]["args"] = json::array();
  auto r = b.create();
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(b.state().has_value()) << "an invalid config must leave no container";
  if (runtime_is_berth()) {
    EXPECT_NE(r.err.find("process.args"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace berth::test
