#include "exit_record.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "engine/monitor_protocol.h"

namespace berth::monitor {

namespace mp = berth::engine::monitor_protocol;

bool init_exited = false;
int exit_code = 0;

namespace {

char oom_file[PATH_MAX];  // the init's memory cgroup's oom counter file, "" if unknown

bool oom_killed() {
  if (!oom_file[0]) return false;
  int fd = ::open(oom_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = std::strstr(buf, "oom_kill ");
  return p && std::strtoll(p + 9, nullptr, 10) > 0;
}

void record_status(int status) {
  init_exited = true;
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

void reset_signals() {
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
}

}  // namespace

// The memory cgroup, read while the init lives: its oom_kill counter tells
// after the exit whether the kernel's OOM killer struck (docker's OOMKilled).
void find_oom_file() {
  oom_file[0] = 0;
  char path[64] = "/proc/";
  size_t len = 6 + put_int(path + 6, config.init_pid);
  std::memcpy(path + len, "/cgroup", 8);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  const char* v1 = nullptr;
  const char* v2 = nullptr;
  for (char* line = buf; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = 0;
    char* c1 = std::strchr(line, ':');
    char* c2 = c1 ? std::strchr(c1 + 1, ':') : nullptr;
    if (c2) {
      *c1 = 0;
      *c2 = 0;
      const char* controllers = c1 + 1;
      if (std::strcmp(line, "0") == 0 && *controllers == 0) v2 = c2 + 1;
      for (const char* p = controllers; p && *p;) {
        const char* comma = std::strchr(p, ',');
        size_t l = comma ? static_cast<size_t>(comma - p) : std::strlen(p);
        if (l == 6 && std::memcmp(p, "memory", 6) == 0) v1 = c2 + 1;
        p = comma ? comma + 1 : nullptr;
      }
    }
    line = next;
  }
  const char* base;
  const char* rel;
  const char* file;
  if (v1) {
    base = "/sys/fs/cgroup/memory";
    rel = v1;
    file = "/memory.oom_control";
  } else if (v2) {
    base = "/sys/fs/cgroup";
    rel = v2;
    file = "/memory.events";
  } else {
    return;
  }
  if (std::strlen(base) + std::strlen(rel) + std::strlen(file) >= sizeof oom_file) return;
  std::strcpy(oom_file, base);
  std::strcat(oom_file, std::strcmp(rel, "/") == 0 ? "" : rel);
  std::strcat(oom_file, file);
}

void reap_children() {
  for (;;) {
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (pid == config.init_pid) record_status(status);
  }
}

void record_unknown_exit() {
  init_exited = true;
  exit_code = 255;
}

void write_exit_file() {
  char buf[128];
  size_t len = 0;
  auto add = [&](const char* key, int64_t v) {
    size_t kl = std::strlen(key);
    std::memcpy(buf + len, key, kl);
    len += kl;
    len += put_int(buf + len, v);
    buf[len++] = '\n';
  };
  add("exit_code=", exit_code);
  add("finished_at=", now_ns());
  add("oom_killed=", oom_killed() ? 1 : 0);
  write_run_file(mp::kExitFile, buf, len);
}

void run_exit_command() {
  if (!config.exit_command || !config.exit_command[0]) return;
  pid_t mid = ::fork();
  if (mid < 0) return;
  if (mid == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::chdir("/");
    reset_signals();
    ::execv(config.exit_command[0], config.exit_command);
    ::_exit(127);
  }
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace berth::monitor
