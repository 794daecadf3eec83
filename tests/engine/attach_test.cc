// The attach client against a real berth-monitor (a shell as the init):
// detach keys, stdin passing through unless it spells them, errors.
#include <signal.h>

#include "base/file.h"
#include "engine/attach.h"
#include "engine/db.h"
#include "engine/paths.h"
#include "monitor_fixture.h"

namespace berth::engine::testing {
namespace {

class AttachTest : public MonitorTest {
 protected:
  // Attaches with our stdin from a pipe holding `input` (left open: no EOF).
  Result<std::optional<int>> attach_with(const std::string& input, const std::string& keys, std::string* out_text) {
    int in[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    in_r_.reset(in[0]);
    in_w_.reset(in[1]);
    EXPECT_TRUE(write_all(in_w_.get(), input, "stdin"));
    std::string out_path = dir_ + "/out";
    UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    AttachOptions o;
    o.stdin_open = true;
    o.detach_keys = keys;
    o.in_fd = in_r_.get();
    o.out_fd = o.err_fd = out.get();
    BERTH_TRY_ASSIGN(a, Attachment::connect(run_dir_, o));
    auto r = a.relay();
    *out_text = slurp(out_path);
    return r;
  }
  UniqueFd in_r_, in_w_;
};

TEST_F(AttachTest, DetachKeysLeaveTheContainerRunning) {
  MonitorSpec s = spec();
  s.stdin_open = true;
  auto started = start("read x <&9; while read l; do [ \"$l\" = quit ] && exit 5; echo got-$l; done", s);
  ASSERT_TRUE(started) << started.error().what();
  go();
  std::string out;
  // ctrl-p alone passes through; ctrl-p,ctrl-q detaches; what follows is not sent.
  auto r = attach_with(std::string("one\n\x10x\n") + "two\n\x10\x11three\n", "ctrl-p,ctrl-q", &out);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->has_value()) << "detached, not exited";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(::kill(started->container_pid, 0), 0) << "the container stopped when we detached";
  // A second client attaches to the same container, is heard and gets its status.
  r = attach_with("four\nquit\n", "", &out);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 5);
  EXPECT_EQ(out, "got-four\n");
  EXPECT_EQ(wait_done().exit_code, 5);
  std::string log = slurp(log_);
  EXPECT_NE(log.find("got-one"), std::string::npos) << log;
  EXPECT_NE(log.find("got-\x10x"), std::string::npos) << log;
  EXPECT_NE(log.find("got-two"), std::string::npos) << log;
  EXPECT_EQ(log.find("three"), std::string::npos) << log;
}

TEST_F(AttachTest, SecondClientGetsTheExitStatus) {
  MonitorSpec s = spec();
  s.stdin_open = true;
  auto started = start("read x <&9; read l; echo got-$l; exit 9", s);
  ASSERT_TRUE(started) << started.error().what();
  go();
  std::string out;
  auto r = attach_with("hello\n", "ctrl-p,ctrl-q", &out);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 9);
  EXPECT_EQ(out, "got-hello\n");
  wait_done();
}

TEST_F(AttachTest, BadDetachKeysAndMissingMonitorAreErrors) {
  AttachOptions o;
  o.detach_keys = "ctrl-1";
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().what().find("ctrl-1"), std::string::npos) << a.error().what();
  a = Attachment::connect(run_dir_, {});
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().what().find(run_dir_ + "/attach.sock"), std::string::npos) << a.error().what();
}

}  // namespace
}  // namespace berth::engine::testing

namespace berth::engine::testing {
namespace {

// `berth attach` finds the container in the database and relays through its monitor.
TEST_F(AttachTest, BerthAttachVerb) {
  Paths paths{dir_ + "/root", dir_ + "/runroot"};
  ASSERT_TRUE(mkdir_p(paths.root));
  auto db = EngineDb::open(paths.db());
  ASSERT_TRUE(db) << db.error().what();
  ContainerRecord c;
  c.id = std::string(64, 'b');
  c.name = "berth-test-attach";
  c.state = ContainerState::running;
  c.options.interactive = true;
  ASSERT_TRUE(db->add_container(c));
  ContainerRecord stopped = c;
  stopped.id = std::string(64, 'c');
  stopped.name = "berth-test-stopped";
  stopped.state = ContainerState::stopped;
  ASSERT_TRUE(db->add_container(stopped));
  ASSERT_TRUE(mkdir_p(paths.run_dir(c.id)));
  ASSERT_TRUE(mkdir_p(paths.userdata(c.id)));
  MonitorSpec s = spec();
  s.run_dir = paths.run_dir(c.id);
  s.log_path = paths.log_file(c.id);
  s.stdin_open = true;
  run_dir_ = s.run_dir;
  auto started = start("read x <&9; read l; echo got-$l; echo to-stderr >&2; exit 3", s);
  ASSERT_TRUE(started) << started.error().what();
  go();  // it waits for our line before printing anything
  std::string berth = std::string(BERTH_BIN_DIR "/berth --root ") + paths.root + " --runroot " + paths.runroot;
  auto r = sh("printf 'hi\\n' | " + berth + " attach berth-test-attach");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_EQ(r.out, "got-hi\nto-stderr\n");
  wait_done();
  r = sh(berth + " attach berth-test-stopped");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("container berth-test-stopped is not running"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace berth::engine::testing
