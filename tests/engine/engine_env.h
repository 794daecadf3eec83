// The sandbox of the engine tests that run containers through the berth
// binary: the test program's own network and mount namespaces (net_test_env.h),
// a subreaper (monitors and their exit commands orphan processes, and PID 1
// here does not reap), a temp --root/--runroot with the busybox image loaded.
#pragma once

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net_test_env.h"
#include "test_util.h"

namespace berth::engine::testing {

using image::testing::sh;
using image::testing::slurp;

// Reaps every orphan that lands on this process while the tests run.
inline void start_reaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

// One image store per test program (loading busybox once), shared by tests.
class EngineEnv {
 public:
  static EngineEnv& get() {
    static EngineEnv env;
    return env;
  }
  std::string berth() const {
    return std::string(BERTH_BIN_DIR) + "/berth --root " + roots.root + " --runroot " + roots.runroot;
  }
  // `berth ARGS` through sh; stdout and stderr together.
  image::testing::Cmd run(const std::string& args) const { return sh(berth() + " " + args); }

  TempRoots roots{"engine"};
  bool loaded = false;

  // The monitors and their exit commands (our orphans) finish before the
  // temp roots go: an exit command still running would make dirs there again.
  ~EngineEnv() {
    for (int i = 0; i < 500; ++i) {
      pid_t p = ::waitpid(-1, nullptr, WNOHANG);
      if (p < 0 && errno == ECHILD) break;
      if (p == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  EngineEnv() {
    start_reaper();
    // The fixture archive names its image "latest" only: tag it busybox.
    loaded = sh(berth() + " load -q -i /var/tmp/berth-fixtures/oci-busybox.tar").status == 0 &&
             sh(berth() + " tag localhost/latest busybox").status == 0;
  }
};

// Zombies of exited monitors and exit commands (we are their subreaper).
inline void reap_zombies() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace berth::engine::testing
