#include "runtime/userns.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/file.h"

namespace berth::runtime {
namespace {

std::string format_mappings(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

bool has_effective_cap(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return false;
  return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}

// The only map an unprivileged process may write itself: its own id, once.
bool own_id_only(const std::vector<oci::IdMapping>& maps, uint32_t own) {
  return maps.size() == 1 && maps[0].size == 1 && maps[0].host_id == own;
}

// `name` in $PATH, then /usr/bin (Debian's uidmap package puts them there).
std::string find_helper(const char* name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/bin:/bin";
  dirs += ":/usr/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

// Runs newuidmap/newgidmap PID INSIDE OUTSIDE COUNT...; their stderr becomes
// part of the error.
Result<> run_map_helper(const char* name, pid_t pid, const std::vector<oci::IdMapping>& maps,
                        const std::string& what, const char* subid_file) {
  std::string helper = find_helper(name);
  if (helper.empty())
    return error("{} maps more than the caller's own id: that needs {} (Debian package uidmap) and a range "
                 "in {}, and {} is not installed",
                 what, name, subid_file, name);
  std::vector<std::string> args = {helper, std::to_string(pid)};
  for (const auto& m : maps) {
    args.push_back(std::to_string(m.container_id));
    args.push_back(std::to_string(m.host_id));
    args.push_back(std::to_string(m.size));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return sys_error(errno, "pipe for {}", name);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  pid_t child = ::fork();
  if (child < 0) return sys_error(errno, "fork {}", name);
  if (child == 0) {
    ::dup2(wr.get(), STDERR_FILENO);
    ::dup2(wr.get(), STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  wr.reset();
  std::string output;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 4096) output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                      : fmt::format("killed by signal {}", WTERMSIG(status));
  return error("{}: {} {}{}{} (is the range in {}?)", what, helper, how, output.empty() ? "" : ": ", output,
               subid_file);
}

Result<> write_map(pid_t pid, const std::vector<oci::IdMapping>& maps, bool gid, std::string_view field) {
  if (maps.empty()) return {};
  const std::string what = fmt::format("{}.{}", field, gid ? "gidMappings" : "uidMappings");
  const std::string file = fmt::format("/proc/{}/{}", pid, gid ? "gid_map" : "uid_map");
  if (has_effective_cap(gid ? CAP_SETGID : CAP_SETUID))
    return with_context(write_file(file, format_mappings(maps)), "write " + what);
  if (!own_id_only(maps, gid ? ::getegid() : ::geteuid()))
    return run_map_helper(gid ? "newgidmap" : "newuidmap", pid, maps, what, gid ? "/etc/subgid" : "/etc/subuid");
  // Unprivileged: the kernel takes a gid map only once setgroups is denied.
  if (gid)
    BERTH_TRY(with_context(write_file(fmt::format("/proc/{}/setgroups", pid), "deny"), "write " + what));
  return with_context(write_file(file, format_mappings(maps)), "write " + what);
}

// The child that holds a user namespace for make_userns_fd: killed and reaped
// when this goes out of scope.
class NamespaceHolder {
 public:
  ~NamespaceHolder() {
    release_.reset();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }

  Result<pid_t> start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error(errno, "pipe for a user namespace");
    UniqueFd rd(fds[0]);
    release_.reset(fds[1]);
    struct clone_args args;
    std::memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
    if (pid < 0) return sys_error(errno, "clone a user namespace");
    if (pid == 0) {
      // Lives until the runtime closes its end (or dies).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      release_.reset();
      char c;
      while (::read(rd.get(), &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    pid_ = pid;
    return pid;
  }

 private:
  pid_t pid_ = 0;
  UniqueFd release_;
};

}  // namespace

Result<> write_id_mappings(pid_t pid, const std::vector<oci::IdMapping>& uids,
                           const std::vector<oci::IdMapping>& gids, std::string_view field) {
  BERTH_TRY(write_map(pid, uids, false, field));
  return write_map(pid, gids, true, field);
}

Result<UniqueFd> make_userns_fd(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids,
                                std::string_view field) {
  NamespaceHolder holder;
  BERTH_TRY_ASSIGN(pid, holder.start());
  BERTH_TRY(write_id_mappings(pid, uids, gids, field));
  return open_file(fmt::format("/proc/{}/ns/user", pid), O_RDONLY | O_CLOEXEC);
}

}  // namespace berth::runtime
