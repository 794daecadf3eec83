// Runs berth-monitor without a container runtime: the create step forks a
// plain shell that waits for a start byte on fd 9, as a created container's
// init waits for `start`. With a terminal, that shell opens a pty and sends
// its master to the console socket the way the runtime does.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/monitor.h"
#include "runtime/console.h"
#include "test_util.h"

namespace berth::engine::testing {

using image::testing::sh;
using image::testing::slurp;
using image::testing::spit;

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The monitor is forked twice and adopted by the nearest subreaper: us.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char tmpl[] = "/var/tmp/berth-test-monitor-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    run_dir_ = dir_ + "/run";
    ASSERT_EQ(::mkdir(run_dir_.c_str(), 0700), 0);
    log_ = dir_ + "/ctr.log";
    ASSERT_EQ(::pipe2(start_, O_CLOEXEC), 0);
  }

  void TearDown() override {
    if (init_ > 0) ::kill(init_, SIGKILL);
    if (start_[0] >= 0) ::close(start_[0]);
    if (start_[1] >= 0) ::close(start_[1]);
    // The monitor exits after its exit command; both end up ours to reap.
    if (monitor_ > 0) {
      for (int i = 0; i < 500 && ::kill(monitor_, 0) == 0; ++i) {
        reap();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (::kill(monitor_, 0) == 0) {
        ADD_FAILURE() << "monitor " << monitor_ << " still running";
        ::kill(monitor_, SIGKILL);
        ::waitpid(monitor_, nullptr, 0);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reap();
    std::filesystem::remove_all(dir_);
  }

  static void reap() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  MonitorSpec spec() const {
    MonitorSpec s;
    s.id = "berth-test";
    s.monitor_binary = BERTH_BIN_DIR "/berth-monitor";
    s.run_dir = run_dir_;
    s.log_path = log_;
    return s;
  }

  // start_monitor with a shell as the container's init.
  Result<MonitorStarted> start(const std::string& script, const MonitorSpec& s) {
    int start_r = start_[0];
    auto started = start_monitor(s, [&](const ContainerStdio& stdio) -> Result<pid_t> {
      pid_t pid = ::fork();
      if (pid < 0) return sys_error(errno, "fork");
      if (pid == 0) {
        if (!stdio.console_socket.empty()) {
          auto pty = runtime::open_pty(std::nullopt);
          if (!pty || !runtime::send_console(stdio.console_socket, pty->master) ||
              !runtime::become_console(pty->slave))
            ::_exit(126);
        }
        ::dup2(start_r, 9);
        ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
        ::_exit(127);
      }
      return pid;
    });
    if (started) {
      monitor_ = started->monitor_pid;
      init_ = started->container_pid;
    }
    return started;
  }

  // The shell's `start`.
  void go() {
    ASSERT_EQ(::write(start_[1], "s", 1), 1);
    ::close(start_[1]);
    start_[1] = -1;
  }

  ExitStatus wait_done() {
    auto st = wait_exit(run_dir_, 10000);
    EXPECT_TRUE(st) << (st ? "" : st.error().what());
    init_ = 0;
    return st ? *st : ExitStatus{-1, 0, false};
  }

  // Waits until the monitor is gone (it exits after launching the exit command).
  void wait_monitor_gone() {
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(monitor_, nullptr, WNOHANG) == monitor_ || ::kill(monitor_, 0) != 0) {
        monitor_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "monitor did not exit";
  }

  std::string dir_, run_dir_, log_;
  int start_[2] = {-1, -1};
  pid_t monitor_ = 0, init_ = 0;
};

// Waits for a file to appear (the exit command's output).
inline bool wait_for_file(const std::string& path, int ms = 5000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace berth::engine::testing
