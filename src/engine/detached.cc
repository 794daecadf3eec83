#include "engine/detached.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/fds.h"

namespace berth::engine {

Result<> run_detached(int keep, const std::function<void()>& fn) {
  pid_t child = ::fork();
  if (child < 0) return sys_error(errno, "fork a detached process");
  if (child == 0) {
    if (::fork() != 0) ::_exit(0);
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int kept = keep >= 0 ? ::fcntl(keep, F_DUPFD_CLOEXEC, 10) : -1;  // out of the way of stdio first
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    if (kept >= 0) ::dup3(kept, 3, O_CLOEXEC);
    (void)close_fds_from(kept >= 0 ? 4 : 3);
    fn();
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return {};
}

}  // namespace berth::engine
