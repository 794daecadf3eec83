// process.terminal with --console-socket: the runtime sends the pty master
// over SCM_RIGHTS; the container's stdio is the slave (runc's protocol).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"

namespace berth::test {
namespace {

TEST(Terminal, ConsoleSocketCreateStart) {
  Bundle b;
  ConsoleReceiver rx(b.dir + "/console.sock");
  b.config["process"]["terminal"] = true;
  b.checker_args({"all"});
  auto c = b.create({"--console-socket", rx.path()});
  ASSERT_EQ(c.status, 0) << c.describe();
  int master = rx.master();
  ASSERT_GE(master, 0) << "no pty master received";
  char name[64] = "";
  EXPECT_EQ(ptsname_r(master, name, sizeof name), 0) << "the fd is a pty master";
  ASSERT_EQ(b.start().status, 0);
  std::string out = rx.read_all();
  auto j = parse_checker(out);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["tty"], json::array({true, true, true}));
  EXPECT_EQ(j["stdin"].get<std::string>().rfind("/dev/pts/", 0), 0u) << j["stdin"];
  EXPECT_TRUE(b.wait_status("stopped"));
}

TEST(Terminal, ConsoleSocketRunDetach) {
  Bundle b;
  ConsoleReceiver rx(b.dir + "/console.sock");
  b.config["process"]["terminal"] = true;
  b.config["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
  b.set_args({"/bin/sh", "-c", "stty size; tty"});
  auto r = b.run({"--detach", "--console-socket", rx.path()});
  ASSERT_EQ(r.status, 0) << r.describe();
  std::string out = rx.read_all();
  EXPECT_NE(out.find("33 111"), std::string::npos) << "consoleSize: " << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
}

TEST(Terminal, InputThroughMaster) {
  Bundle b;
  ConsoleReceiver rx(b.dir + "/console.sock");
  b.config["process"]["terminal"] = true;
  b.set_args({"/bin/sh", "-c", "read line; echo got-$line"});
  ASSERT_EQ(b.run({"--detach", "--console-socket", rx.path()}).status, 0);
  int master = rx.master();
  ASSERT_GE(master, 0);
  ASSERT_EQ(write(master, "hello\n", 6), 6);
  std::string out = rx.read_all();
  EXPECT_NE(out.find("got-hello"), std::string::npos) << out;
}

TEST(Terminal, TerminalWithoutConsoleSocketFailsDetached) {
  Bundle b;
  b.config["process"]["terminal"] = true;
  auto r = b.create();
  EXPECT_NE(r.status, 0) << "terminal=true needs --console-socket when detached";
  EXPECT_FALSE(b.state().has_value());
}

TEST(Terminal, NoTerminalPassesStdio) {
  Bundle b;
  auto j = b.check();
  EXPECT_EQ(j["tty"], json::array({false, false, false}));
}

}  // namespace
}  // namespace berth::test
