#include "runtime/console.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

int in_child(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

dev_t rdev_of(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_rdev : 0;
}

int count_open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// Reads from `fd` until `want` shows up or a read fails (e.g. EIO at hangup).
std::string read_until(int fd, const std::string& want) {
  std::string got;
  char buf[256];
  while (got.find(want) == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::pair<UniqueFd, UniqueFd> socket_pair(int type = SOCK_STREAM) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/berth-test-console-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

UniqueFd listen_at(const std::string& path, int type = SOCK_STREAM) {
  UniqueFd s(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
  EXPECT_EQ(listen(s.get(), 1), 0);
  return s;
}

TEST(OpenPty, AppliesConsoleSizeAndNamesTheSlave) {
  auto pty = open_pty(oci::ConsoleSize{.height = 42, .width = 137});
  ASSERT_TRUE(pty) << pty.error().what();
  winsize ws{};
  ASSERT_EQ(ioctl(pty->slave.get(), TIOCGWINSZ, &ws), 0);
  EXPECT_EQ(ws.ws_row, 42);
  EXPECT_EQ(ws.ws_col, 137);

  // The name is the slave's own device in this mount namespace's /dev/pts.
  ASSERT_EQ(pty->slave_path.rfind("/dev/pts/", 0), 0u) << pty->slave_path;
  struct stat st {};
  ASSERT_EQ(stat(pty->slave_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_rdev, rdev_of(pty->slave.get()));
  EXPECT_TRUE(fcntl(pty->master.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(pty->slave.get(), F_GETFD) & FD_CLOEXEC);

  // Unlocked and connected: bytes written to the slave reach the master.
  ASSERT_EQ(write(pty->slave.get(), "ping\n", 5), 5);
  EXPECT_NE(read_until(pty->master.get(), "ping").find("ping"), std::string::npos);
}

TEST(OpenPty, WithoutSizeLeavesKernelDefault) {
  auto pty = open_pty(std::nullopt);
  ASSERT_TRUE(pty) << pty.error().what();
  winsize ws{};
  ASSERT_EQ(ioctl(pty->master.get(), TIOCGWINSZ, &ws), 0);
  EXPECT_EQ(ws.ws_row, 0);
  EXPECT_EQ(ws.ws_col, 0);
}

TEST(OpenPty, RejectsSizeBeyondWinsize) {
  auto pty = open_pty(oci::ConsoleSize{.height = 70000, .width = 80});
  ASSERT_FALSE(pty);
  EXPECT_NE(pty.error().what().find("consoleSize"), std::string::npos) << pty.error().what();
}

TEST(BecomeConsole, SlaveBecomesStdioAndControllingTerminal) {
  auto pty = open_pty(oci::ConsoleSize{.height = 10, .width = 20});
  ASSERT_TRUE(pty) << pty.error().what();
  std::string slave_path = pty->slave_path;
  dev_t rdev = rdev_of(pty->slave.get());
  pid_t pid = fork();
  if (pid == 0) {
    pty->master.reset();
    if (!become_console(pty->slave)) _exit(1);
    pty->slave.reset();
    for (int fd = 0; fd <= 2; ++fd) {
      if (!isatty(fd)) _exit(2);
      if (fcntl(fd, F_GETFD) & FD_CLOEXEC) _exit(3);
      if (rdev_of(fd) != rdev) _exit(4);
    }
    if (getsid(0) != getpid()) _exit(5);
    // The controlling terminal: the kernel's tty_nr and the foreground group.
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string state;
    long ppid, pgrp, session, tty_nr;
    rest >> state >> ppid >> pgrp >> session >> tty_nr;
    if (static_cast<dev_t>(tty_nr) != rdev) _exit(6);
    if (tcgetpgrp(0) != getpgrp()) _exit(7);
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);  // only works with a ctty
    if (fd < 0) _exit(8);
    printf("hello from %s\n", ttyname(1));
    fflush(stdout);
    _exit(0);
  }
  pty->slave.reset();
  std::string out = read_until(pty->master.get(), "\n");
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(out.find("hello from " + slave_path), std::string::npos) << out;
}

TEST(BecomeConsole, WorksForASessionLeader) {
  EXPECT_EQ(in_child([] {
              if (setsid() < 0) return 1;
              auto pty = open_pty(std::nullopt);
              if (!pty || !become_console(pty->slave)) return 2;
              // Closing the master on return hangs up our new ctty: SIGHUP.
              signal(SIGHUP, SIG_IGN);
              return tcgetpgrp(0) == getpgrp() ? 0 : 3;
            }),
            0);
}

TEST(BecomeConsole, FailsClearlyForAGroupLeaderOutsideItsSession) {
  EXPECT_EQ(in_child([] {
              if (setpgid(0, 0) < 0) return 1;
              auto pty = open_pty(std::nullopt);
              if (!pty) return 2;
              auto r = become_console(pty->slave);
              if (r) return 3;
              return r.error().code() == EPERM && r.error().what().find("session") != std::string::npos ? 0 : 4;
            }),
            0);
}

TEST(SendRecvFd, PassesFdAndPayload) {
  auto [a, b] = socket_pair();
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  ASSERT_TRUE(send_fd(a, wr, "the-payload"));
  wr.reset();
  std::string payload;
  auto got = recv_fd(b, &payload);
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(payload, "the-payload");
  EXPECT_TRUE(fcntl(got->get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(write(got->get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(read(rd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(SendRecvFd, RejectsEmptyOrHugePayload) {
  auto [a, b] = socket_pair();
  UniqueFd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(send_fd(a, fd, ""));
  EXPECT_FALSE(send_fd(a, fd, std::string(kMaxFdPayload, 'x')));
}

TEST(SendRecvFd, ErrorsWithoutFdAndOnClosedPeer) {
  auto [a, b] = socket_pair();
  ASSERT_EQ(write(a.get(), "no fd", 5), 5);
  auto r = recv_fd(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("no fd"), std::string::npos) << r.error().what();
  a.reset();
  r = recv_fd(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("closed"), std::string::npos) << r.error().what();
}

TEST(SendRecvFd, RejectsSeveralFdsWithoutLeakingThem) {
  auto [a, b] = socket_pair();
  int fds[3] = {open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/null", O_RDONLY | O_CLOEXEC),
                open("/dev/null", O_RDONLY | O_CLOEXEC)};
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  ASSERT_EQ(sendmsg(a.get(), &msg, 0), 1);
  for (int fd : fds) close(fd);
  int before = count_open_fds();
  auto r = recv_fd(b);
  EXPECT_FALSE(r);
  EXPECT_EQ(count_open_fds(), before);
}

// The other end as conmon and containerd's shim do it: listen, accept, receive.
void expect_console_arrives(const std::string& sock_path, int type) {
  UniqueFd listener = listen_at(sock_path, type);
  auto pty = open_pty(std::nullopt);
  ASSERT_TRUE(pty) << pty.error().what();
  auto sent = send_console(sock_path, pty->master);
  ASSERT_TRUE(sent) << sent.error().what();
  UniqueFd conn(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn);
  std::string payload;
  auto master = recv_fd(conn, &payload);
  ASSERT_TRUE(master) << master.error().what();
  EXPECT_EQ(payload, "/dev/ptmx");  // what runc sends
  pty->master.reset();  // only the received copy is left
  ASSERT_EQ(write(pty->slave.get(), "over the socket\n", 16), 16);
  EXPECT_NE(read_until(master->get(), "socket").find("over the socket"), std::string::npos);
}

TEST(SendConsole, ToAListeningStreamSocket) {
  TempDir dir;
  expect_console_arrives(dir.path + "/console.sock", SOCK_STREAM);
}

TEST(SendConsole, ToASeqpacketListener) {
  TempDir dir;
  expect_console_arrives(dir.path + "/console.sock", SOCK_SEQPACKET);
}

TEST(SendConsole, ToAPathLongerThanSunPath) {
  TempDir dir;
  std::string deep = dir.path;
  while (deep.size() < 150) {
    deep += "/a-rather-long-directory-name";
    ASSERT_EQ(mkdir(deep.c_str(), 0700), 0);
  }
  // bind() cannot take the long path either: bind from inside the directory.
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(deep.c_str()), 0);
  UniqueFd listener = listen_at("console.sock");
  ASSERT_EQ(chdir(cwd), 0);
  auto pty = open_pty(std::nullopt);
  ASSERT_TRUE(pty);
  auto sent = send_console(deep + "/console.sock", pty->master);
  ASSERT_TRUE(sent) << sent.error().what();
  UniqueFd conn(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  auto master = recv_fd(conn);
  ASSERT_TRUE(master) << master.error().what();
  EXPECT_EQ(rdev_of(master->get()), rdev_of(pty->master.get()));
}

TEST(SendConsole, NamesTheSocketWhenNobodyListens) {
  auto pty = open_pty(std::nullopt);
  ASSERT_TRUE(pty);
  auto r = send_console("/tmp/berth-test-no-such-dir/console.sock", pty->master);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("/tmp/berth-test-no-such-dir/console.sock"), std::string::npos);
}

TEST(MountConsole, BindsTheSlaveOnDevConsole) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  EXPECT_EQ(in_child([] {
              auto pty = open_pty(std::nullopt);
              if (!pty) return 1;
              // A private mount namespace with a private /dev: the host's stays untouched.
              if (unshare(CLONE_NEWNS) < 0) return 2;
              if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return 3;
              char keep[] = "/tmp/berth-test-pts-XXXXXX";
              if (!mkdtemp(keep) || mount("/dev/pts", keep, nullptr, MS_BIND, nullptr) < 0) return 4;
              if (mount("tmpfs", "/dev", "tmpfs", 0, "mode=755") < 0) return 5;
              if (mkdir("/dev/pts", 0755) < 0 || mount(keep, "/dev/pts", nullptr, MS_MOVE, nullptr) < 0) return 6;
              rmdir(keep);
              auto r = mount_console(pty->slave_path);
              if (!r) return 7;
              struct stat st {};
              if (stat("/dev/console", &st) < 0 || st.st_rdev != rdev_of(pty->slave.get())) return 8;
              // An existing /dev/console is covered, not opened or replaced.
              return mount_console(pty->slave_path) ? 0 : 9;
            }),
            0);
}

}  // namespace
}  // namespace berth::runtime
