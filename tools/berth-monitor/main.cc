// berth-monitor: the small supervisor beside each container (conmon's and
// containerd-shim's role). start_monitor (src/engine/monitor.cc) execs it in
// the process whose child (or adopted orphan) is the container's init:
//
//   berth-monitor --id ID --run-dir DIR --log PATH --log-max-size BYTES
//                 --log-max-files N --pid INIT [--terminal] [--stdin] -- EXIT_COMMAND...
//
// with the fds of engine/monitor_protocol.h. It copies the container's
// output to the CRI log (size-rotated, log_writer) and to attach clients
// (attach_server), forwards their stdin and resizes, reaps every child (it is
// a child subreaper), writes <run_dir>/exit when the init exits and runs the
// exit command detached (exit_record), unless the attach client that cleans
// up itself (run --rm) confirmed it did.
//
// One stays resident per container, so it is written against the kernel
// directly: no iostream, no exceptions, no engine library, fixed buffers; it
// allocates only for a client that cannot keep up.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "attach_server.h"
#include "common.h"
#include "engine/monitor_protocol.h"
#include "exit_record.h"
#include "log_writer.h"

namespace {

using namespace berth::monitor;
namespace mp = berth::engine::monitor_protocol;

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    bool ok = true;
    if (std::strcmp(a, "--") == 0) {
      config.exit_command = argv + i + 1;
      break;
    } else if (std::strcmp(a, "--terminal") == 0) {
      config.terminal = true;
      continue;
    } else if (std::strcmp(a, "--stdin") == 0) {
      config.stdin_open = true;
      continue;
    } else if (!v) {
      ok = false;
    } else if (std::strcmp(a, "--id") == 0) {
      config.id = v;
    } else if (std::strcmp(a, "--run-dir") == 0) {
      config.run_dir = v;
    } else if (std::strcmp(a, "--log") == 0) {
      config.log_path = v;
    } else if (std::strcmp(a, "--log-max-size") == 0) {
      ok = parse_int(v, &config.log_max_size);
    } else if (std::strcmp(a, "--log-max-files") == 0) {
      ok = parse_int(v, &config.log_max_files) && config.log_max_files >= 0;
    } else if (std::strcmp(a, "--pid") == 0) {
      ok = parse_int(v, &config.init_pid) && config.init_pid > 0;
    } else {
      ok = false;
    }
    if (!ok) fail_setup(EINVAL, "berth-monitor: bad arguments (it is started by berth, not by hand)");
    ++i;
  }
  if (!config.run_dir || !config.log_path || config.init_pid <= 0)
    fail_setup(EINVAL, "berth-monitor: --run-dir, --log and --pid are required");
}

// To the init: by its pidfd when it is not our child (its pid could be reused
// once it is gone), else by pid (ours to reap, so not reused before we do).
void forward_signal(int sig, int pid_fd) {
  if (pid_fd >= 0) {
    ::syscall(SYS_pidfd_send_signal, pid_fd, sig, nullptr, 0U);
  } else if (!init_exited) {
    ::kill(static_cast<pid_t>(config.init_pid), sig);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // start_monitor set it too; exec keeps it, this is cheap insurance

  run_dir_fd = ::open(config.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (run_dir_fd < 0) fail_setup(errno, "berth-monitor: open the run dir");

  // SIGCHLD, and the signals a supervisor stops with: those go on to the
  // container as conmon forwards them, and the monitor stays until the init
  // exits, to record it (a monitor that died first would leave the container
  // unsupervised and without an exit record).
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT}) sigaddset(&handled, sig);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  int sig_fd = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (sig_fd < 0 || epoll_fd < 0) fail_setup(errno, "berth-monitor: create signalfd/epoll");
  epoll_set(EPOLL_CTL_ADD, sig_fd, EPOLLIN, kTagSignal);
  setup_stdio();

  // The init is our child or an adopted orphan; if neither (a handler that
  // parented it elsewhere), a pidfd still tells when it exits.
  int pid_fd = -1;
  siginfo_t probe{};
  if (::waitid(P_PID, static_cast<id_t>(config.init_pid), &probe, WEXITED | WNOHANG | WNOWAIT) < 0 &&
      errno == ECHILD) {
    pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(config.init_pid), 0));
    if (pid_fd < 0) fail_setup(errno, "berth-monitor: the container's init is gone");
    epoll_set(EPOLL_CTL_ADD, pid_fd, EPOLLIN, kTagPidfd);
  }
  find_oom_file();

  listen_attach();
  open_log();
  char pid_text[24];
  size_t pid_len = put_int(pid_text, ::getpid());
  pid_text[pid_len++] = '\n';
  write_run_file(mp::kPidFile, pid_text, pid_len);

  sync_send(mp::kSyncReady, 0, ::getpid(), "");
  ::close(mp::kSyncFd);

  reap_children();  // an init that exited before the signalfd existed
  while (!init_exited) {
    epoll_event evs[8];
    int n = ::epoll_wait(epoll_fd, evs, 8, -1);
    if (n < 0 && errno != EINTR) break;
    // New clients first: one that connected before this output was written
    // must see it (a `berth run` attaches before it starts the container).
    for (int k = 0; k < n; ++k)
      if (evs[k].data.u32 == kTagListen) accept_clients();
    for (int k = 0; k < n; ++k) {
      uint32_t tag = evs[k].data.u32;
      if (tag == kTagSignal) {
        signalfd_siginfo si;
        while (::read(sig_fd, &si, sizeof si) == sizeof si)
          if (si.ssi_signo != SIGCHLD) forward_signal(static_cast<int>(si.ssi_signo), pid_fd);
        reap_children();
      } else if (tag == kTagPidfd) {
        record_unknown_exit();  // not our child: its status is not ours to read
        ::close(pid_fd);
        pid_fd = -1;
      } else if (tag == kTagOut || tag == kTagErr) {
        output_readable(tag);
      } else if (tag == kTagIn) {
        stdin_event(evs[k].events);
      } else if (tag >= kTagClient) {
        client_event(tag, evs[k].events);
      }
    }
  }

  drain_output();
  flush_log();
  write_exit_file();
  bool cleaned_up = close_attach(exit_code);
  reap_children();
  if (!cleaned_up) run_exit_command();
  return 0;
}
