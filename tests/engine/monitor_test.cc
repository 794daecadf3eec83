// berth-monitor through start_monitor, with a plain shell as the container's
// init (monitor_fixture.h): the log, rotation, the exit file and command,
// attach, stdin, a terminal, surviving its starter, resident memory.
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/file.h"
#include "engine/attach.h"
#include "engine/logs.h"
#include "engine/monitor_protocol.h"
#include "monitor_fixture.h"

namespace berth::engine::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct Entry {
  int64_t time;
  bool is_stderr, partial;
  std::string text;
};

std::vector<Entry> entries_of(const std::string& path) {
  std::vector<Entry> out;
  for (auto& l : lines_of(slurp(path))) {
    auto e = parse_log_line(l);
    EXPECT_TRUE(e) << l << ": " << (e ? "" : e.error().what());
    if (e) out.push_back({e->time, e->is_stderr, e->partial, std::string(e->text)});
  }
  return out;
}

// What `berth logs` prints for the log (stdout and stderr into one string).
std::string logs_text(const std::string& log, const std::string& run_dir, LogOptions options = {}) {
  std::string out_path = log + ".out";
  UniqueFd fd(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  auto r = read_logs(log, run_dir, options, fd.get(), fd.get());
  EXPECT_TRUE(r) << (r ? "" : r.error().what());
  std::string text = slurp(out_path);
  ::unlink(out_path.c_str());
  return text;
}

TEST_F(MonitorTest, OutputReachesTheLogInFormatAndOrder) {
  auto started = start("read x <&9; echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; echo out2; printf tail", spec());
  ASSERT_TRUE(started) << started.error().what();
  EXPECT_GT(started->container_pid, 0);
  EXPECT_EQ(slurp(run_dir_ + "/monitor.pid"), std::to_string(started->monitor_pid) + "\n");
  go();
  EXPECT_EQ(wait_done().exit_code, 0);
  auto entries = entries_of(log_);
  ASSERT_EQ(entries.size(), 4u) << slurp(log_);
  EXPECT_EQ(entries[0].text, "out1");
  EXPECT_FALSE(entries[0].is_stderr);
  EXPECT_FALSE(entries[0].partial);
  EXPECT_EQ(entries[1].text, "err1");
  EXPECT_TRUE(entries[1].is_stderr);
  EXPECT_EQ(entries[2].text, "out2");
  EXPECT_EQ(entries[3].text, "tail");  // unterminated: a partial entry
  EXPECT_TRUE(entries[3].partial);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LE(entries[i - 1].time, entries[i].time);
  // Times are now-ish and written as RFC 3339 with nanoseconds, UTC.
  auto now = std::chrono::system_clock::now().time_since_epoch();
  EXPECT_LT(std::chrono::nanoseconds(now).count() - entries[0].time, int64_t{60} * 1000000000);
  EXPECT_EQ(slurp(log_).substr(29, 9), "Z stdout ");
  wait_monitor_gone();
  EXPECT_NE(::access((run_dir_ + "/attach.sock").c_str(), F_OK), 0) << "attach.sock left behind";
}

TEST_F(MonitorTest, FollowingALiveLogEndsWithTheContainer) {
  auto started = start("read x <&9; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.05; done; echo bye >&2", spec());
  ASSERT_TRUE(started) << started.error().what();
  go();
  LogOptions o;
  o.follow = true;
  // Everything, including what came after we started following, and no hang.
  EXPECT_EQ(logs_text(log_, run_dir_, o), "tick-1\ntick-2\ntick-3\ntick-4\ntick-5\nbye\n");
  auto st = read_exit(run_dir_);
  ASSERT_TRUE(st && st->has_value());
}

TEST_F(MonitorTest, LongLinesBecomePartialEntries) {
  auto started = start("read x <&9; head -c 30000 /dev/zero | tr '\\0' a; echo; echo short", spec());
  ASSERT_TRUE(started) << started.error().what();
  go();
  wait_done();
  auto entries = entries_of(log_);
  ASSERT_GE(entries.size(), 5u);  // 30000 bytes in reads of at most 8 KiB, then "short"
  std::string joined;
  size_t i = 0;
  for (; i < entries.size() && entries[i].partial; ++i) {
    EXPECT_LE(entries[i].text.size(), 8192u);
    joined += entries[i].text;
  }
  ASSERT_LT(i, entries.size());
  joined += entries[i].text;  // the full entry that ends the line
  EXPECT_EQ(joined, std::string(30000, 'a'));
  EXPECT_EQ(entries.back().text, "short");
  EXPECT_EQ(logs_text(log_, run_dir_), std::string(30000, 'a') + "\nshort\n");
}

TEST_F(MonitorTest, RotationKeepsTheConfiguredNumberOfFiles) {
  MonitorSpec s = spec();
  s.log_max_size = 4096;
  s.log_max_files = 2;
  // 400 lines of ~60 bytes each in the log: ~24 KiB, so several rotations.
  auto started = start("read x <&9; i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done", s);
  ASSERT_TRUE(started) << started.error().what();
  go();
  wait_done();
  for (const char* suffix : {"", ".1", ".2"}) {
    struct stat st;
    ASSERT_EQ(::stat((log_ + suffix).c_str(), &st), 0) << suffix;
    EXPECT_LE(st.st_size, 4096) << suffix;
    EXPECT_GT(st.st_size, 0) << suffix;
  }
  EXPECT_NE(::access((log_ + ".3").c_str(), F_OK), 0) << "more rotated files than configured";
  // The kept files together hold the last lines, in order, the last one last.
  auto shown = lines_of(logs_text(log_, run_dir_));
  ASSERT_FALSE(shown.empty());
  EXPECT_EQ(shown.back(), "line-399");
  int first = std::stoi(shown.front().substr(5));
  for (size_t k = 0; k < shown.size(); ++k) EXPECT_EQ(shown[k], "line-" + std::to_string(first + static_cast<int>(k)));
  EXPECT_GT(first, 0);
}

TEST_F(MonitorTest, NoRotatedFilesWhenNoneAreKept) {
  MonitorSpec s = spec();
  s.log_max_size = 2048;
  s.log_max_files = 0;
  auto started = start("read x <&9; i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done", s);
  ASSERT_TRUE(started) << started.error().what();
  go();
  wait_done();
  EXPECT_NE(::access((log_ + ".1").c_str(), F_OK), 0);
  struct stat st;
  ASSERT_EQ(::stat(log_.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 2048);
  EXPECT_EQ(lines_of(logs_text(log_, run_dir_)).back(), "line-199");
}

TEST_F(MonitorTest, ExitFileHoldsTheExitCode) {
  auto started = start("read x <&9; exit 3", spec());
  ASSERT_TRUE(started) << started.error().what();
  auto none = read_exit(run_dir_);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto early = wait_exit(run_dir_, 50);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), ETIMEDOUT);
  int64_t before = std::chrono::nanoseconds(std::chrono::system_clock::now().time_since_epoch()).count();
  go();
  ExitStatus st = wait_done();
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_GE(st.finished_at, before);
  EXPECT_FALSE(st.oom_killed);
  auto again = read_exit(run_dir_);
  ASSERT_TRUE(again && again->has_value());
  EXPECT_EQ((*again)->exit_code, 3);
}

TEST_F(MonitorTest, ASignalIs128PlusItsNumber) {
  auto started = start("read x <&9; kill -TERM $$; sleep 5", spec());
  ASSERT_TRUE(started) << started.error().what();
  go();
  EXPECT_EQ(wait_done().exit_code, 128 + SIGTERM);
}

TEST_F(MonitorTest, KilledFromOutside) {
  auto started = start("read x <&9; sleep 30", spec());
  ASSERT_TRUE(started) << started.error().what();
  ASSERT_EQ(::kill(started->container_pid, SIGKILL), 0);
  EXPECT_EQ(wait_done().exit_code, 137);
}

TEST_F(MonitorTest, ExitCommandRunsAfterTheExitFileExists) {
  MonitorSpec s = spec();
  std::string seen = dir_ + "/seen";
  // It records the exit file as it found it, and its own stdio and session.
  s.exit_command = {"/bin/sh", "-c",
                    "cat " + run_dir_ + "/exit > " + seen + ".tmp; o=$(readlink /proc/$$/fd/1); echo $o >> " + seen +
                        ".tmp; cut -d\" \" -f6 /proc/$$/stat >> " + seen + ".tmp; echo $$ >> " + seen + ".tmp; mv " + seen +
                        ".tmp " + seen};
  auto started = start("read x <&9; exit 7", s);
  ASSERT_TRUE(started) << started.error().what();
  go();
  wait_done();
  ASSERT_TRUE(wait_for_file(seen));
  auto got = lines_of(slurp(seen));
  ASSERT_EQ(got.size(), 6u) << slurp(seen);
  EXPECT_EQ(got[0], "exit_code=7");
  EXPECT_EQ(got[3], "/dev/null");
  // A session of its own (made by the middle process of the double fork, so
  // it cannot gain a terminal), neither the monitor's nor ours.
  EXPECT_NE(got[4], std::to_string(monitor_));
  EXPECT_NE(got[4], std::to_string(::getsid(0)));
  EXPECT_NE(got[4], got[5]);
  wait_monitor_gone();
}

// run --rm's client removes the container itself and says so: the monitor
// then skips the exit command, which would only find nothing left to do.
TEST_F(MonitorTest, ACleaningClientThatConfirmsReplacesTheExitCommand) {
  MonitorSpec s = spec();
  std::string ran = dir_ + "/ran";
  s.exit_command = {"/bin/sh", "-c", "touch " + ran};
  auto started = start("read x <&9; exit 3", s);
  ASSERT_TRUE(started) << started.error().what();
  AttachOptions o;
  o.cleans_up = true;
  {
    auto a = Attachment::connect(run_dir_, o);
    ASSERT_TRUE(a) << a.error().what();
    go();
    auto code = a->relay();
    ASSERT_TRUE(code && code->has_value()) << (code ? "detached" : code.error().what());
    EXPECT_EQ(**code, 3);
    EXPECT_EQ(::kill(monitor_, 0), 0) << "the monitor waits for the client's confirmation";
    EXPECT_TRUE(a->cleaned_up());
  }
  wait_monitor_gone();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(std::filesystem::exists(ran)) << "the exit command ran although the client cleaned up";
}

// A cleaning client that goes away without confirming (killed, or its
// cleanup failed) leaves the work to the exit command after all.
TEST_F(MonitorTest, ACleaningClientThatHangsUpLeavesItToTheExitCommand) {
  MonitorSpec s = spec();
  std::string ran = dir_ + "/ran";
  s.exit_command = {"/bin/sh", "-c", "touch " + ran};
  auto started = start("read x <&9; exit 3", s);
  ASSERT_TRUE(started) << started.error().what();
  AttachOptions o;
  o.cleans_up = true;
  {
    auto a = Attachment::connect(run_dir_, o);
    ASSERT_TRUE(a) << a.error().what();
    go();
    auto code = a->relay();
    ASSERT_TRUE(code && code->has_value()) << (code ? "detached" : code.error().what());
  }
  EXPECT_TRUE(wait_for_file(ran)) << "no exit command after the client hung up";
  wait_monitor_gone();
}

TEST_F(MonitorTest, AttachBeforeStartSeesAllOutputAndTheStatus) {
  auto started = start("read x <&9; echo hello; echo oops >&2; seq 1 2000; exit 4", spec());
  ASSERT_TRUE(started) << started.error().what();
  std::string out_path = dir_ + "/out", err_path = dir_ + "/err";
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  UniqueFd err(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  AttachOptions o;
  o.out_fd = out.get();
  o.err_fd = err.get();
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_TRUE(a) << a.error().what();
  go();
  auto code = a->relay();
  ASSERT_TRUE(code) << code.error().what();
  ASSERT_TRUE(code->has_value());
  EXPECT_EQ(**code, 4);
  std::string expected = "hello\n";
  for (int i = 1; i <= 2000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(slurp(out_path), expected);
  EXPECT_EQ(slurp(err_path), "oops\n");
  EXPECT_EQ(wait_done().exit_code, 4);
}

TEST_F(MonitorTest, ASlowAttachClientHoldsOutputBackWithoutLosingIt) {
  auto started = start("read x <&9; seq 1 100000", spec());
  ASSERT_TRUE(started) << started.error().what();
  // A raw client that does not read until the container is well under way.
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = run_dir_ + "/attach.sock";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  go();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string got;
  int exit_code = -1;
  char buf[9000];
  for (;;) {
    ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "no exit frame";
    if (buf[0] == 'x') {
      std::memcpy(&exit_code, buf + 1, 4);
      break;
    }
    got.append(buf + 1, static_cast<size_t>(n - 1));
  }
  EXPECT_EQ(exit_code, 0);
  std::string expected;
  for (int i = 1; i <= 100000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  EXPECT_TRUE(logs_text(log_, run_dir_) == expected);
}

TEST_F(MonitorTest, StdinIsForwardedWithInteractive) {
  MonitorSpec s = spec();
  s.stdin_open = true;
  auto started = start("read x <&9; tr a-z A-Z; echo done", s);
  ASSERT_TRUE(started) << started.error().what();
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  UniqueFd in_r(in[0]), in_w(in[1]);
  std::string out_path = dir_ + "/out";
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  AttachOptions o;
  o.stdin_open = true;
  o.in_fd = in_r.get();
  o.out_fd = out.get();
  o.err_fd = out.get();
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_TRUE(a) << a.error().what();
  std::string big(20000, 'q');
  ASSERT_TRUE(write_all(in_w.get(), "hello\n" + big + "\n", "stdin"));
  in_w.reset();  // our stdin ends: so does the container's, and tr exits
  go();
  auto code = a->relay();
  ASSERT_TRUE(code) << code.error().what();
  ASSERT_TRUE(code->has_value());
  EXPECT_EQ(**code, 0);
  std::string upper(20000, 'Q');
  EXPECT_EQ(slurp(out_path), "HELLO\n" + upper + "\ndone\n");
  EXPECT_EQ(logs_text(log_, run_dir_), "HELLO\n" + upper + "\ndone\n");
}

// CPU ticks (user + system) the monitor used so far.
long monitor_ticks(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

TEST_F(MonitorTest, AContainerClosingItsStdinDoesNotMakeTheMonitorSpin) {
  MonitorSpec s = spec();
  s.stdin_open = true;
  auto started = start("read x <&9; exec 0<&-; sleep 0.5; echo fine", s);
  ASSERT_TRUE(started) << started.error().what();
  // A slow client too: paused output must not spin on a hung-up pipe either.
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, (run_dir_ + "/attach.sock").c_str());
  ASSERT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  go();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_LT(monitor_ticks(monitor_), 5) << "the monitor used over 50 ms of CPU while the container slept";
  EXPECT_EQ(wait_done().exit_code, 0);
  EXPECT_EQ(logs_text(log_, run_dir_), "fine\n");
}

TEST_F(MonitorTest, WithoutInteractiveStdinIsEmpty) {
  auto started = start("read x <&9; cat; echo after-cat", spec());
  ASSERT_TRUE(started) << started.error().what();
  go();
  EXPECT_EQ(wait_done().exit_code, 0);
  EXPECT_EQ(logs_text(log_, run_dir_), "after-cat\n");
}

TEST_F(MonitorTest, TerminalThroughTheConsoleSocket) {
  MonitorSpec s = spec();
  s.terminal = true;
  s.stdin_open = true;
  // Waits for the resize sent below to reach the pty, then reads a line typed into it.
  auto started = start(
      "read x <&9; tty; i=0; while [ \"$(stty size)\" != '33 77' ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); "
      "done; stty size; stty -echo; read line; echo got-$line",
      s);
  ASSERT_TRUE(started) << started.error().what();
  EXPECT_NE(::access((run_dir_ + "/console.sock").c_str(), F_OK), 0) << "console socket left behind";
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, (run_dir_ + "/attach.sock").c_str());
  ASSERT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  char resize[5] = {'r'};
  uint16_t rc[2] = {33, 77};
  std::memcpy(resize + 1, rc, sizeof rc);
  ASSERT_EQ(::send(sock.get(), resize, sizeof resize, 0), 5);
  go();
  std::string got;
  char buf[9000];
  bool typed = false;
  int exit_code = -1;
  for (;;) {
    ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "no exit frame; got " << got;
    if (buf[0] == 'x') {
      std::memcpy(&exit_code, buf + 1, 4);
      break;
    }
    EXPECT_EQ(buf[0], 'o');  // a terminal has one stream
    got.append(buf + 1, static_cast<size_t>(n - 1));
    if (!typed && got.find("33 77") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past `stty -echo`
      ASSERT_EQ(::send(sock.get(), "iworld\n", 7, 0), 7);
      typed = true;
    }
  }
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(got.find("/dev/pts/"), std::string::npos) << got;
  EXPECT_NE(got.find("33 77\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("got-world\r\n"), std::string::npos) << got;
  auto entries = entries_of(log_);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().text, "got-world\r");
  for (auto& e : entries) EXPECT_FALSE(e.is_stderr);
}

// With a terminal, a client's stdin ending does not end the container's
// input (as docker and podman: the terminal is the container's); EOF comes
// as the terminal's VEOF character the user types (^D through a raw client).
// Without one, the pipe closes: the container reads EOF (-i's stdin-once).
TEST_F(MonitorTest, ClientStdinEndClosesAPipeButNotATerminal) {
  MonitorSpec s = spec();
  s.terminal = true;
  s.stdin_open = true;
  auto started = start("read x <&9; stty -echo; cat; echo after-eof", s);
  ASSERT_TRUE(started) << started.error().what();
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, (run_dir_ + "/attach.sock").c_str());
  ASSERT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  go();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past `stty -echo`
  ASSERT_EQ(::send(sock.get(), "iline\n", 6, 0), 6);
  ASSERT_EQ(::send(sock.get(), "c", 1, 0), 1);  // the client's stdin ended
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(init_, 0), 0) << "the container's terminal input was closed";
  ASSERT_EQ(::send(sock.get(), "i\x04", 2, 0), 2);  // ^D: the terminal's EOF
  EXPECT_EQ(wait_done().exit_code, 0);
  EXPECT_EQ(logs_text(log_, run_dir_), "line\r\nafter-eof\r\n");

  TearDown();
  SetUp();
  s = spec();
  s.stdin_open = true;
  started = start("read x <&9; cat; echo after-eof", s);
  ASSERT_TRUE(started) << started.error().what();
  UniqueFd pipe_sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  std::strcpy(addr.sun_path, (run_dir_ + "/attach.sock").c_str());
  ASSERT_EQ(::connect(pipe_sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  go();
  ASSERT_EQ(::send(pipe_sock.get(), "iline\n", 6, 0), 6);
  ASSERT_EQ(::send(pipe_sock.get(), "c", 1, 0), 1);
  EXPECT_EQ(wait_done().exit_code, 0);
  EXPECT_EQ(logs_text(log_, run_dir_), "line\nafter-eof\n");
}

TEST_F(MonitorTest, SurvivesItsStarterAndSighup) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    auto started = start("read x <&9; echo survived", spec());
    pid_t pids[2] = {started ? started->monitor_pid : 0, started ? started->container_pid : 0};
    (void)!::write(report[1], pids, sizeof pids);
    ::_exit(started ? 0 : 1);  // the `berth` that started it is gone
  }
  ::close(report[1]);
  pid_t pids[2] = {0, 0};
  ASSERT_EQ(::read(report[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::close(report[0]);
  int status;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  monitor_ = pids[0];
  init_ = pids[1];
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(::kill(monitor_, 0), 0) << "the monitor died with its starter";
  ASSERT_EQ(::kill(monitor_, SIGHUP), 0);
  ASSERT_EQ(::kill(monitor_, SIGPIPE), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(::kill(monitor_, 0), 0) << "SIGHUP or SIGPIPE killed the monitor";
  // Its own session, away from the starter's terminal.
  EXPECT_EQ(::getsid(monitor_), monitor_);
  go();
  EXPECT_EQ(wait_done().exit_code, 0);
  EXPECT_EQ(logs_text(log_, run_dir_), "survived\n");
}

// A supervisor's stop signals (SIGTERM, SIGINT, SIGQUIT) go on to the
// container, as conmon forwards them; the monitor itself stays until the
// init exits and records that exit as usual.
TEST_F(MonitorTest, StopSignalsAreForwardedAndTheExitRecorded) {
  for (int sig : {SIGTERM, SIGINT, SIGQUIT}) {
    SCOPED_TRACE(sig);
    TearDown();
    SetUp();
    std::string script = "trap 'echo got-" + std::to_string(sig) + "; exit 7' " + std::to_string(sig) +
                         "; read x <&9; echo ready; while :; do sleep 0.02; done";
    auto started = start(script, spec());
    ASSERT_TRUE(started) << started.error().what();
    go();
    for (int i = 0; i < 500 && logs_text(log_, run_dir_).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(::kill(monitor_, sig), 0);
    EXPECT_EQ(wait_done().exit_code, 7);
    EXPECT_EQ(logs_text(log_, run_dir_), "ready\ngot-" + std::to_string(sig) + "\n");
    wait_monitor_gone();
  }
}

// A container that ignores the signal keeps running, and so does its
// monitor: killing the container later is still recorded.
TEST_F(MonitorTest, AnIgnoredStopSignalLeavesTheMonitorSupervising) {
  auto started = start("trap '' TERM; read x <&9; echo ready; while :; do sleep 0.02; done", spec());
  ASSERT_TRUE(started) << started.error().what();
  go();
  for (int i = 0; i < 500 && logs_text(log_, run_dir_).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(::kill(monitor_, SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(::kill(monitor_, 0), 0) << "SIGTERM killed the monitor";
  auto none = read_exit(run_dir_);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value()) << "an exit was recorded for a running container";
  ASSERT_EQ(::kill(started->container_pid, SIGKILL), 0);
  EXPECT_EQ(wait_done().exit_code, 137);
  wait_monitor_gone();
}

TEST_F(MonitorTest, ResidentMemoryAtMostOneMegabyte) {
  auto started = start("read x <&9; echo hi", spec());
  ASSERT_TRUE(started) << started.error().what();
  // A client attached, so the figure includes serving one.
  AttachOptions o;
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  o.out_fd = o.err_fd = null.get();
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_TRUE(a) << a.error().what();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string maps = slurp("/proc/" + std::to_string(monitor_) + "/maps");
  std::string status = slurp("/proc/" + std::to_string(monitor_) + "/status");
  size_t at = status.find("VmRSS:");
  ASSERT_NE(at, std::string::npos);
  long rss_kb = std::stol(status.substr(at + 6));
  // Most of it is the binary's clean pages, which every monitor shares
  // through the page cache; what each one adds is its dirty memory.
  std::string rollup = slurp("/proc/" + std::to_string(monitor_) + "/smaps_rollup");
  size_t k = rollup.find("Private_Dirty:");
  ASSERT_NE(k, std::string::npos);
  long dirty_kb = std::stol(rollup.substr(k + 14));
  std::printf("berth-monitor VmRSS: %ld kB (private dirty: %ld kB)\n", rss_kb, dirty_kb);
  RecordProperty("monitor_rss_kb", static_cast<int>(rss_kb));
  RecordProperty("monitor_private_dirty_kb", static_cast<int>(dirty_kb));
  go();
  EXPECT_EQ(wait_done().exit_code, 0);
  if (maps.find("/ld-linux") != std::string::npos) GTEST_SKIP() << "berth-monitor is linked dynamically (BERTH_STATIC=OFF)";
  EXPECT_LE(rss_kb, 1024);
}

TEST_F(MonitorTest, AStaleExitFileIsRemovedOnStart) {
  spit(run_dir_ + "/exit", "exit_code=99\nfinished_at=1\noom_killed=0\n");
  auto started = start("read x <&9; exit 0", spec());
  ASSERT_TRUE(started) << started.error().what();
  auto st = read_exit(run_dir_);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->has_value());
  go();
  EXPECT_EQ(wait_done().exit_code, 0);
}

// The kernel's OOM killer in the init's memory cgroup shows as oom_killed.
TEST_F(MonitorTest, OomKillIsRecorded) {
  std::string own = slurp("/proc/self/cgroup");
  size_t at = own.find(":memory:");
  std::string base = "/sys/fs/cgroup/memory";
  bool v1 = at != std::string::npos && ::access(base.c_str(), F_OK) == 0;
  if (!v1) {
    at = own.find("0::");
    base = "/sys/fs/cgroup";
    if (at == std::string::npos || slurp(base + "/cgroup.controllers").find("memory") == std::string::npos)
      GTEST_SKIP() << "no memory cgroup controller";
  }
  size_t from = own.find('/', at);
  std::string parent = base + own.substr(from, own.find('\n', from) - from);
  std::string cg = parent + "/berth-test-oom-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(cg.c_str(), 0755), 0) << cg << ": " << std::strerror(errno);
  spit(cg + (v1 ? "/memory.limit_in_bytes" : "/memory.max"), "8388608");
  int start_r = start_[0];
  auto started = start_monitor(spec(), [&](const ContainerStdio&) -> Result<pid_t> {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(start_r, 9);
      // 24 MB in a shell variable, over the 8 MB limit.
      ::execl("/bin/sh", "sh", "-c", "read x <&9; x=$(head -c 24000000 /dev/zero | tr '\\0' a); echo no-oom", nullptr);
      ::_exit(127);
    }
    BERTH_TRY(write_file(cg + "/cgroup.procs", std::to_string(pid)));  // before the monitor looks
    return pid;
  });
  ASSERT_TRUE(started) << started.error().what();
  monitor_ = started->monitor_pid;
  init_ = started->container_pid;
  go();
  ExitStatus st = wait_done();
  wait_monitor_gone();
  int removed = -1;
  for (int i = 0; i < 200 && (removed = ::rmdir(cg.c_str())) != 0; ++i) {  // its last processes die and are reaped
    reap();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(removed, 0) << cg << ": " << std::strerror(errno);
  EXPECT_TRUE(st.oom_killed) << "exit code " << st.exit_code << ", log: " << slurp(log_);
}

TEST_F(MonitorTest, CreateErrorsComeBack) {
  auto started = start_monitor(spec(), [](const ContainerStdio&) -> Result<pid_t> {
    return sys_error(EACCES, "create container \"x\"");
  });
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), EACCES);
  EXPECT_NE(started.error().what().find("create container \"x\""), std::string::npos) << started.error().what();
  // With a terminal, the console socket goes with the failed create.
  MonitorSpec s = spec();
  s.terminal = true;
  started = start_monitor(s, [&](const ContainerStdio& stdio) -> Result<pid_t> {
    if (::access(stdio.console_socket.c_str(), F_OK) != 0) return error("no console socket at create");
    return error("runtime failed");
  });
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().what().find("runtime failed"), std::string::npos) << started.error().what();
  EXPECT_NE(::access((run_dir_ + "/console.sock").c_str(), F_OK), 0) << "console socket left behind";
}

TEST_F(MonitorTest, AMissingMonitorBinaryIsAnError) {
  MonitorSpec s = spec();
  s.monitor_binary = dir_ + "/no-such-monitor";
  auto started = start("read x <&9", s);
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().what().find("no-such-monitor"), std::string::npos) << started.error().what();
  // The init created before the exec failed is ours (subreaper) to end: its
  // pid is in the message.
  EXPECT_NE(started.error().what().find("was created"), std::string::npos) << started.error().what();
  go();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace berth::engine::testing

namespace berth::engine::testing {
namespace {

// The real thing: berth-runtime's `create` (an oci handler's) leaves the init
// orphaned to the monitor, which supervises it through start and exit; with
// a terminal the runtime sends the pty master to the console socket.
class MonitorRuntimeTest : public MonitorTest {
 protected:
  void SetUp() override {
    MonitorTest::SetUp();
    if (::access("/var/tmp/berth-fixtures/bundle-busybox/rootfs/bin/sh", X_OK) != 0)
      GTEST_SKIP() << "no busybox fixture (scripts/make-fixtures.sh)";
    runtime_ = std::string(BERTH_BIN_DIR "/berth-runtime --root ") + dir_ + "/rt";
    id_ = "berth-test-mon-" + std::to_string(::getpid());
  }
  void TearDown() override {
    if (!id_.empty()) sh(runtime_ + " delete --force " + id_);
    MonitorTest::TearDown();
  }

  Result<MonitorStarted> create(const std::vector<std::string>& args, MonitorSpec s) {
    std::string config = slurp("/var/tmp/berth-fixtures/bundle-busybox/config.json");
    std::string argv_json = "[";
    for (auto& a : args) argv_json += (argv_json.size() > 1 ? ",\"" : "\"") + a + "\"";
    argv_json += "]";
    // The fixture's config with our args, terminal, and its rootfs by absolute path.
    auto r = sh("python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c[\"process\"][\"args\"]=json.loads(sys.argv[2]); "
                "c[\"process\"][\"terminal\"]=sys.argv[3]==\"1\"; c[\"root\"][\"path\"]=\"/var/tmp/berth-fixtures/bundle-busybox/rootfs\"; "
                "json.dump(c, open(sys.argv[4], \"w\"))' /var/tmp/berth-fixtures/bundle-busybox/config.json '" +
                argv_json + "' " + (s.terminal ? "1" : "0") + " " + dir_ + "/config.json");
    if (r.status != 0) return error("make config: {}", r.out);
    std::string runtime = runtime_, id = id_, bundle = dir_, pid_file = dir_ + "/pid";
    return start_monitor(s, [&](const ContainerStdio& stdio) -> Result<pid_t> {
      std::string cmd = runtime + " create --bundle " + bundle + " --pid-file " + pid_file;
      if (!stdio.console_socket.empty()) cmd += " --console-socket " + stdio.console_socket;
      cmd += " " + id;
      // Not sh(): the runtime's stdio must be the container's (ours here).
      int st = std::system(cmd.c_str());
      if (st != 0) return error("{}: status {}", cmd, st);
      return static_cast<pid_t>(std::stol(slurp(pid_file)));
    });
  }

  std::string runtime_, id_;
};

TEST_F(MonitorRuntimeTest, PipesThroughARealRuntime) {
  auto started = create({"sh", "-c", "echo out; echo err >&2; exit 5"}, spec());
  ASSERT_TRUE(started) << started.error().what();
  monitor_ = started->monitor_pid;
  init_ = started->container_pid;
  std::string out_path = dir_ + "/out";
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  AttachOptions o;
  o.out_fd = o.err_fd = out.get();
  auto a = Attachment::connect(run_dir_, o);
  ASSERT_TRUE(a) << a.error().what();
  auto r = sh(runtime_ + " start " + id_);
  ASSERT_EQ(r.status, 0) << r.out;
  auto code = a->relay();
  ASSERT_TRUE(code) << code.error().what();
  ASSERT_TRUE(code->has_value());
  EXPECT_EQ(**code, 5);
  EXPECT_EQ(wait_done().exit_code, 5);
  EXPECT_EQ(slurp(out_path), "out\nerr\n");
  EXPECT_EQ(logs_text(log_, run_dir_), "out\nerr\n");
}

TEST_F(MonitorRuntimeTest, TerminalThroughARealRuntime) {
  MonitorSpec s = spec();
  s.terminal = true;
  auto started = create({"sh", "-c", "tty; exit 0"}, s);
  ASSERT_TRUE(started) << started.error().what();
  monitor_ = started->monitor_pid;
  init_ = started->container_pid;
  auto r = sh(runtime_ + " start " + id_);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(wait_done().exit_code, 0);
  std::string text = logs_text(log_, run_dir_);
  EXPECT_EQ(text.rfind("/dev/pts/", 0), 0u) << text;
  EXPECT_NE(text.find("\r\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace berth::engine::testing
