// The attach client against a real berth-monitor (a shell as the init):
// detach keys, stdin passing through unless it spells them, errors.
#include <poll.h>
#include <signal.h>
#include <termios.h>

#include <thread>

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

namespace berth::engine::testing {
namespace {

// -it: our terminal goes raw for the session (and back after), its size
// reaches the container's pty, typed keys reach the container.
TEST_F(AttachTest, TerminalClientGoesRawAndForwardsItsSize) {
  MonitorSpec s = spec();
  s.terminal = true;
  s.stdin_open = true;
  auto started = start(
      "read x <&9; i=0; while [ \"$(stty size)\" != '40 100' ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done; "
      "stty size; read l; echo got-$l",
      s);
  ASSERT_TRUE(started) << started.error().what();
  // Our "terminal": a pty whose slave is the client's stdin and stdout.
  auto ours = runtime::open_pty(oci::ConsoleSize{40, 100});
  ASSERT_TRUE(ours) << ours.error().what();
  termios before{};
  ASSERT_EQ(::tcgetattr(ours->slave.get(), &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  AttachOptions o;
  o.stdin_open = o.tty = true;
  o.in_fd = o.out_fd = o.err_fd = ours->slave.get();
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_TRUE(a) << a.error().what();
  go();
  Result<std::optional<int>> code = std::optional<int>();
  std::thread relay([&] { code = a->relay(); });
  std::string seen;
  bool typed = false;
  char buf[4096];
  for (int i = 0; i < 500 && seen.find("got-") == std::string::npos; ++i) {
    pollfd p{ours->master.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      ssize_t n = ::read(ours->master.get(), buf, sizeof buf);
      if (n > 0) seen.append(buf, static_cast<size_t>(n));
    }
    if (!typed && seen.find("40 100") != std::string::npos) {
      termios during{};
      ASSERT_EQ(::tcgetattr(ours->slave.get(), &during), 0);
      EXPECT_FALSE(during.c_lflag & ICANON) << "our terminal is not raw while attached";
      ASSERT_EQ(::write(ours->master.get(), "hello\r", 6), 6);
      typed = true;
    }
  }
  relay.join();
  ASSERT_TRUE(code) << code.error().what();
  ASSERT_TRUE(code->has_value());
  EXPECT_EQ(**code, 0);
  EXPECT_NE(seen.find("40 100\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("got-hello"), std::string::npos) << seen;
  termios after{};
  ASSERT_EQ(::tcgetattr(ours->slave.get(), &after), 0);
  EXPECT_TRUE(after.c_lflag & ICANON) << "our terminal was left raw";
  wait_done();
}

}  // namespace
}  // namespace berth::engine::testing
