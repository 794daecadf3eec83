// Test main of the integration suite: a child subreaper (PID 1 here does not
// reap the container processes that create/start orphans) in a private mount
// namespace (rslave: host mounts still propagate in, ours never leak out, and
// whatever a test or the runtime leaves mounted vanishes with the process).
#include <gtest/gtest.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>

#include "harness.h"

namespace {

// After every test: nothing berth-test-ish may stay mounted, no zombie pile-up.
class LeakCheck : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo&) override {
    berth::test::reap_orphans();
    auto left = berth::test::mounts_containing("/var/tmp/berth-test-");
    for (auto& m : left) ADD_FAILURE() << "mount left behind: " << m;
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();  // test discovery: no root needed
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    perror("prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }
  if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    fprintf(stderr, "private mount namespace: %s (run the integration tests as root)\n", strerror(errno));
    return 1;
  }
  berth::test::sweep_stale_bundles();
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheck);
  return RUN_ALL_TESTS();
}
