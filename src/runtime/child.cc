#include "runtime/child.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

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

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace berth::runtime
