// checkpoint/restore through CRIU. Where `criu check` passes, a real round
// trip; where CRIU cannot work on the kernel (Debian's 3.17 on this one: vDSO
// bounds), checkpoint must fail clearly (CRIU named, its error lines quoted,
// its log named) and leave the container running and usable.
#include <filesystem>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

bool criu_works() { return run_cmd({"criu", "check"}).status == 0; }

TEST(Checkpoint, CheckpointRestoreOrClearError) {
  Bundle b;
  b.checker_args({"sleep", "60"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  std::string img = b.dir + "/image";
  auto r = b.rt({"checkpoint", "--image-path", img, b.id});
  if (criu_works()) {
    ASSERT_EQ(r.status, 0) << r.describe();
    EXPECT_TRUE(fs::exists(img + "/inventory.img"));
    EXPECT_NE(b.status(), "running") << "without --leave-running the container stops";
    std::string id2 = b.new_id("restored");
    r = b.rt({"restore", "--detach", "--image-path", img, "--bundle", b.dir, id2});
    ASSERT_EQ(r.status, 0) << r.describe();
    EXPECT_EQ(b.status(id2), "running");
    auto e = b.rt({"exec", id2, "/bin/echo", "restored"});
    EXPECT_EQ(e.out, "restored\n") << e.describe();
    return;
  }
  EXPECT_NE(r.status, 0) << "CRIU does not work here: checkpoint must fail";
  EXPECT_NE(r.err.find("criu"), std::string::npos) << r.err;
  if (!runtime_is_runc()) {  // runc 1.1 deviates: "criu failed: type DUMP errno 0", lines in its log only
    EXPECT_NE(r.err.find("Error (criu/"), std::string::npos) << "CRIU's error lines are quoted: " << r.err;
    EXPECT_NE(r.err.find(img + "/dump.log"), std::string::npos) << "the log is named: " << r.err;
  }
  EXPECT_EQ(b.status(), "running") << "a failed checkpoint leaves the container running";
  auto e = b.rt({"exec", b.id, "/bin/echo", "still usable"});
  EXPECT_EQ(e.status, 0) << e.describe();
  EXPECT_EQ(e.out, "still usable\n");
}

TEST(Checkpoint, LeaveRunningKeepsTheContainer) {
  Bundle b;
  b.checker_args({"sleep", "60"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  auto r = b.rt({"checkpoint", "--leave-running", "--image-path", b.dir + "/image", b.id});
  if (criu_works()) {
    EXPECT_EQ(r.status, 0) << r.describe();
  } else {
    EXPECT_NE(r.status, 0);
  }
  EXPECT_EQ(b.status(), "running");
}

TEST(Checkpoint, StoppedContainerRefused) {
  SKIP_ON_RUNC("runc 1.1 hands a stopped container to CRIU and reports CRIU's failure");
  Bundle b;
  b.set_args({"/bin/true"});
  ASSERT_EQ(b.run({"--detach"}).status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  auto r = b.rt({"checkpoint", "--image-path", b.dir + "/image", b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
}

TEST(Checkpoint, RestoreOfMissingImageNamesThePath) {
  Bundle b;
  b.write_config();
  std::string img = b.dir + "/no-such-image";
  auto r = b.rt({"restore", "--detach", "--image-path", img, "--bundle", b.dir, b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(img), std::string::npos) << r.err;
  EXPECT_FALSE(b.state().has_value()) << "nothing is left of a failed restore";
}

TEST(Checkpoint, RestoreOfBadImageNamesThePath) {
  Bundle b;
  b.write_config();
  std::string img = b.dir + "/empty-image";
  fs::create_directories(img);
  auto r = b.rt({"restore", "--detach", "--image-path", img, "--bundle", b.dir, b.id});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(img), std::string::npos) << r.err;
  EXPECT_FALSE(b.state().has_value());
}

}  // namespace
}  // namespace berth::test
