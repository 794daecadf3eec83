// Integration-test harness: drives a runc-compatible runtime binary
// (BERTH_RUNTIME, default the built berth-runtime) on fresh busybox bundles and
// reads what the in-container checker (BERTH_CHECKER) reports.
//
// The test main (main.cc) makes the test process a child subreaper in a
// private (rslave) mount namespace: the create/start flow orphans container
// processes (PID 1 here does not reap them), and any mount a test or a leaky
// runtime makes disappears with the process.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

using json = nlohmann::json;

// ---------------------------------------------------------------- environment
std::string runtime_path();   // BERTH_RUNTIME (absolute), default "berth-runtime" in PATH
std::string checker_path();   // BERTH_CHECKER
std::string fixtures_dir();   // BERTH_FIXTURES, default /var/tmp/berth-fixtures
bool runtime_is_runc();       // the binary is runc: runc-specific expectations
bool runtime_is_berth();      // the binary is berth-runtime: berth-specific expectations
std::string host_ns(const std::string& type);  // readlink /proc/self/ns/<type>

// Skips the current test when the runtime under test is runc, naming the way
// runc 1.1 deviates from the runtime-spec (the test stays strict for berth).
#define SKIP_ON_RUNC(why) \
  do { if (::berth::test::runtime_is_runc()) GTEST_SKIP() << "runc deviates: " << (why); } while (0)

// ---------------------------------------------------------------- processes
struct CmdResult {
  int status = -1;          // exit code, or 128+signal when killed
  bool timed_out = false;
  std::string out, err;     // stdout/stderr captured at exit
  std::string describe() const;  // for assertion messages
};

struct CmdOptions {
  std::string stdin_data;                      // fed through a file (not a pipe)
  std::optional<std::string> stdout_file;      // append stdout there instead of capturing it
  std::vector<int> extra_fds;                  // become fds 3, 4, ... of the command
  std::chrono::milliseconds timeout{30000};
};

// Runs argv to completion (SIGKILL at timeout), stdin from a file/dev/null,
// stdout/stderr into memfds, every other fd closed.
CmdResult run_cmd(const std::vector<std::string>& argv, const CmdOptions& opts = {});

// A command started in the background (e.g. a foreground `run` killed from the side).
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const CmdOptions& opts = {});
  ~Spawned();
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  CmdResult wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1, out_ = -1, err_ = -1;
  bool waited_ = false;
};

// Removes /var/tmp/berth-test-<pid>-* bundles of test processes that died
// before their cleanup ran (killed at a timeout).
void sweep_stale_bundles();
// Reaps every exited orphan adopted by the test process (the subreaper).
void reap_orphans();
// Mounts in this process's namespace whose target contains `needle`.
std::vector<std::string> mounts_containing(const std::string& needle);
// Polls `pred` every 10 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

// ---------------------------------------------------------------- bundles
// A fresh bundle under /var/tmp/berth-test-XXXXXX: a copy of the fixture rootfs
// with the checker at /bin/checker, config.json from the fixture (runc spec's
// default), a private state root, and a unique container id. The destructor
// deletes (--force) every container created through it and removes the dir.
class Bundle {
 public:
  explicit Bundle(const std::string& name = "");
  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  json config;         // edited by tests; written by write_config() and by the verbs below
  std::string dir;     // the bundle directory (absolute)
  std::string rootfs;  // dir + "/rootfs"
  std::string root;    // the runtime's --root (state directory)
  std::string id;      // unique container id, contains "berth-test"
  // Prefix of every runtime command, e.g. setpriv ... env ... to run it as
  // another user (rootless_test.cc), and whether `--root <root>` is passed.
  std::vector<std::string> runner;
  bool pass_root = true;

  void set_args(const std::vector<std::string>& args);
  void checker_args(const std::vector<std::string>& args);  // /bin/checker ARGS...
  void write_config() const;
  void add_namespace(const std::string& type, const std::string& path = "");
  void remove_namespace(const std::string& type);
  json& find_mount(const std::string& destination);  // fails the test when absent

  // `[runner...] $RT --root <root> ARGS...`
  CmdResult rt(const std::vector<std::string>& args, const CmdOptions& opts = {});
  // `$RT run --bundle dir ID` (writes config first)
  CmdResult run(const std::vector<std::string>& extra = {}, const CmdOptions& opts = {});
  // Runs checker ARGS in the container; expects exit 0 and one JSON document on stdout.
  json check(const std::vector<std::string>& args = {"all"});
  CmdResult create(const std::vector<std::string>& extra = {}, const CmdOptions& opts = {});
  CmdResult start(const std::string& cid = "");
  CmdResult kill(const std::string& signal = "", const std::vector<std::string>& extra = {});
  CmdResult del(bool force = false, const std::string& cid = "");
  std::optional<json> state(const std::string& cid = "");  // nullopt when `state` fails
  std::string status(const std::string& cid = "");         // "" when `state` fails
  bool wait_status(const std::string& want, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000),
                   const std::string& cid = "");
  // Another id in the same state root, deleted by the destructor.
  std::string new_id(const std::string& suffix);

 private:
  std::vector<std::string> ids_;
};

// Receives a pty master over --console-socket (runc's protocol: one SCM_RIGHTS
// message), in a background thread.
class ConsoleReceiver {
 public:
  explicit ConsoleReceiver(const std::string& path);
  ~ConsoleReceiver();
  const std::string& path() const { return path_; }
  // The received master fd (owned by the receiver), or -1 after the timeout.
  int master(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Reads the master until EIO/EOF (the slave side closed) or the timeout.
  std::string read_all(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

 private:
  std::string path_;
  int listen_fd_ = -1;
  int master_ = -1;
  struct Impl;
  Impl* impl_ = nullptr;
};

// Parses the last JSON document on a line of `out` (the checker prints one line).
json parse_checker(const std::string& out);
// Capability set as a bit mask from names ("CAP_CHOWN" ...).
uint64_t cap_mask(const std::vector<std::string>& names);

}  // namespace berth::test
