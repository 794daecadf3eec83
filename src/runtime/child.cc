#include "runtime/child.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace berth::runtime {

Result<> reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0) return sys_error(errno, "reset signal mask");
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  return {};
}

Result<> become_root_in_userns() {
  if (setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys_error(errno, "setresgid(0) in user namespace");
  if (setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys_error(errno, "setresuid(0) in user namespace");
  return {};
}

// The cwd must be inside the container's root: a cwd reached through a
// leaked fd (/proc/self/fd/N of a host directory) is reported by the kernel
// as "(unreachable)..." (CVE-2024-21626).
Result<> enter_cwd(const std::string& cwd) {
  if (::chdir(cwd.c_str()) < 0) return sys_error(errno, "chdir to cwd \"{}\"", cwd);
  char buf[PATH_MAX];
  long n = ::syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) {
    if (errno == ENOENT) return sys_error(ENOENT, "cwd \"{}\" is outside the container's root", cwd);
    return sys_error(errno, "getcwd after chdir to \"{}\"", cwd);
  }
  if (buf[0] != '/') return error("cwd \"{}\" resolves outside the container's root: refused", cwd);
  return {};
}

Result<> join_session_keyring(const std::string& id) {
  constexpr long kKeyctlJoinSessionKeyring = 1;
  std::string name = "_ses." + id;
  if (::syscall(SYS_keyctl, kKeyctlJoinSessionKeyring, name.c_str()) < 0 && errno != ENOSYS)
    return sys_error(errno, "join session keyring \"{}\"", name);
  return {};
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace berth::runtime
