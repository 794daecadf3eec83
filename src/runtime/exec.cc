// `exec`: the runtime side (state checks, the process to run, namespaces and
// cgroup to join, terminal, waiting) and the two processes it makes:
//
//   runtime ──clone──> intermediate: setns(init's pidfd, every namespace but
//                      cgroup) ──clone3(CLONE_PARENT | CLONE_INTO_CGROUP)──>
//                      exec'd process (the runtime's child; in the container's
//                      pid namespace): cgroup namespace, v1 cgroups, terminal,
//                      fds closed, attributes, cwd, execve.
//
// The cgroup namespace is joined by the process itself, after its birth in
// the cgroup: the kernel lets a process be born into (or moved to) a cgroup
// only when its old and new cgroups are both below its cgroup namespace's root.
// Errors travel back on the sync channel; its end closes at execve, which is
// how the runtime learns that the exec succeeded.
#include "runtime/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "base/channel.h"
#include "base/fds.h"
#include "base/file.h"
#include "base/log.h"
#include "oci/config.h"
#include "runtime/cgroup.h"
#include "runtime/child.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "runtime/lsm.h"
#include "runtime/namespaces.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"
#include "runtime/spawn.h"
#include "runtime/supervise.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

// Every namespace type, user first: the fallback without pidfd setns joins in
// this order (mount last: it changes root and cwd).
constexpr int kNamespaceFlags[] = {CLONE_NEWUSER, CLONE_NEWIPC,    CLONE_NEWUTS,  CLONE_NEWNET,
                                   CLONE_NEWPID,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};

// What both children need, made before the first clone.
struct ExecContext {
  const oci::Spec* spec = nullptr;
  const oci::Process* process = nullptr;
  const UniqueFd* pidfd = nullptr;
  pid_t init_pid = 0;
  int join_flags = 0;        // joined by the intermediate
  bool join_cgroup_ns = false;  // joined by the exec'd process
  const UniqueFd* cgroup2_dir = nullptr;
  const SeccompProgram* seccomp = nullptr;  // the container's filter, compiled
  std::vector<UniqueFd> v1_tasks;  // the container's v1 "tasks" files, opened by the runtime
  const Channel* channel = nullptr;
  std::vector<int> keep;  // fds passed on (--preserve-fds)
  std::string id;
};

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) < 0 || ::stat(b.c_str(), &sb) < 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The namespaces of the init that are not the runtime's own. Joining one's
// own user namespace would fail (EINVAL); joining any other own one is a no-op.
Result<int> namespaces_to_join(pid_t pid) {
  int flags = 0;
  for (int flag : kNamespaceFlags) {
    std::string name = namespace_proc_name(flag);
    std::string theirs = fmt::format("/proc/{}/ns/{}", pid, name);
    if (::access(theirs.c_str(), F_OK) < 0) {
      if (errno == ENOENT && ::access(("/proc/self/ns/" + name).c_str(), F_OK) < 0) continue;  // kernel without it
      return sys_error(errno, "namespace \"{}\"", theirs);
    }
    if (!same_file(theirs, "/proc/self/ns/" + name)) flags |= flag;
  }
  return flags;
}

// setns into `flags` of the process behind `pidfd` at once (5.8+), else one
// by one through /proc/<pid>/ns, user first.
Result<> join(const UniqueFd& pidfd, pid_t pid, int flags) {
  if (flags == 0) return {};
  if (::setns(pidfd.get(), flags) == 0) return {};
  if (errno != EINVAL) return sys_error(errno, "join the namespaces of the container's init");
  std::vector<UniqueFd> fds;
  for (int flag : kNamespaceFlags) {
    if (!(flags & flag)) continue;
    BERTH_TRY_ASSIGN(fd, open_file(fmt::format("/proc/{}/ns/{}", pid, namespace_proc_name(flag)), O_RDONLY));
    fds.push_back(std::move(fd));
  }
  size_t i = 0;
  for (int flag : kNamespaceFlags) {
    if (!(flags & flag)) continue;
    if (::setns(fds[i++].get(), flag) < 0)
      return sys_error(errno, "join the {} namespace of the container's init", namespace_proc_name(flag));
  }
  return {};
}

// A notify listener goes to the runtime, which hands it to the agent.
Result<> load_exec_seccomp(const ExecContext& ctx) {
  BERTH_TRY_ASSIGN(listener, load_seccomp(*ctx.seccomp));
  if (listener) BERTH_TRY(pass_seccomp_listener(*ctx.channel, kSyncSeccompFd, listener));
  return {};
}

Result<std::string> prepare_child(const ExecContext& ctx) {
  const auto& proc = *ctx.process;
  const auto& spec = *ctx.spec;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return sys_error(errno, "set parent-death signal");
  BERTH_TRY(reset_signals());
  if (ctx.join_cgroup_ns && ::setns(ctx.pidfd->get(), CLONE_NEWCGROUP) < 0)
    return sys_error(errno, "join the cgroup namespace of the container's init");
  // "0" moves the writer alone, without the global lock another pid takes.
  for (const auto& tasks : ctx.v1_tasks)
    if (::write(tasks.get(), "0", 1) != 1) return sys_error(errno, "join the container's cgroup");
  if (ctx.join_flags & CLONE_NEWUSER) BERTH_TRY(become_root_in_userns());
  BERTH_TRY(join_session_keyring(ctx.id));
  if (proc.terminal) {
    BERTH_TRY_ASSIGN(pty, open_pty(proc.console_size));
    BERTH_TRY(ctx.channel->send(kSyncPty));
    BERTH_TRY(send_fd(ctx.channel->socket(), pty.master, pty.slave_path));
    pty.master.reset();
    BERTH_TRY(become_console(pty.slave));
  }
  // Nothing of the runtime's (pidfd, cgroup dir, state) may be reachable once
  // the container's code runs, nor while the cwd is resolved.
  std::vector<int> keep = ctx.keep;
  keep.push_back(ctx.channel->socket().get());
  BERTH_TRY(close_fds_from(3, keep));

  if (spec.linux && spec.linux->personality) BERTH_TRY(apply_personality(*spec.linux->personality));
  BERTH_TRY(apply_rlimits(proc.rlimits));
  if (proc.oom_score_adj) BERTH_TRY(apply_oom_score_adj(*proc.oom_score_adj));
  if (proc.scheduler) BERTH_TRY(apply_scheduler(*proc.scheduler));
  if (proc.io_priority) BERTH_TRY(apply_io_priority(*proc.io_priority));
  // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: before the identity
  // change and the capability drop (the init's order, init.cc).
  if (ctx.seccomp && !proc.no_new_privileges) BERTH_TRY(load_exec_seccomp(ctx));
  BERTH_TRY(set_identity(proc.user));
  BERTH_TRY(apply_capabilities(proc.capabilities ? *proc.capabilities : oci::Capabilities{}));
  BERTH_TRY(enter_cwd(proc.cwd));
  BERTH_TRY_ASSIGN(path, find_executable(proc.args[0], proc.env));
  BERTH_TRY(apply_exec_labels(proc.apparmor_profile, proc.selinux_label));
  if (proc.no_new_privileges) BERTH_TRY(set_no_new_privileges());
  if (proc.exec_cpu_affinity) BERTH_TRY(apply_exec_cpu_affinity_final(*proc.exec_cpu_affinity));
  BERTH_TRY(mark_cloexec_from(3, ctx.keep));
  // With no_new_privs, as late as possible: every syscall after it must pass.
  if (ctx.seccomp && proc.no_new_privileges) BERTH_TRY(load_exec_seccomp(ctx));
  return path;
}

[[noreturn]] void run_exec_child(const ExecContext& ctx) {
  auto path = prepare_child(ctx);
  if (!path) {
    ctx.channel->send_error(path.error());
    _exit(1);
  }
  auto argv = c_strings(ctx.process->args);
  auto envp = c_strings(ctx.process->env);
  if (::prctl(PR_SET_PDEATHSIG, 0) < 0) {
    ctx.channel->send_error(Error(errno, "clear parent-death signal"));
    _exit(1);
  }
  ::execve(path->c_str(), argv.data(), envp.data());
  ctx.channel->send_error(Error(errno, fmt::format("exec \"{}\"", *path)));
  _exit(127);
}

[[noreturn]] void run_intermediate(const ExecContext& ctx) {
  auto fail = [&](const Error& e) {
    ctx.channel->send_error(e);
    _exit(1);
  };
  // Until exec, /proc/<pid>/exe of these processes is the runtime: other
  // processes of the container must not open it (exec resets this).
  if (::prctl(PR_SET_DUMPABLE, 0) < 0) fail(Error(errno, "set non-dumpable"));
  if (ctx.process->exec_cpu_affinity)
    if (auto r = apply_exec_cpu_affinity_initial(*ctx.process->exec_cpu_affinity); !r) fail(r.error());
  if (auto r = join(*ctx.pidfd, ctx.init_pid, ctx.join_flags); !r) fail(r.error());
  pid_t pid = clone_process(CLONE_PARENT, ctx.cgroup2_dir);
  if (pid < 0) fail(Error(errno, "clone the exec'd process into the container's cgroup"));
  if (pid == 0) run_exec_child(ctx);
  (void)ctx.channel->send(kSyncChildPid, pid);
  _exit(0);
}

void reap(pid_t pid) {
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

// Kills and reaps the exec'd process unless released (a failed set-up).
class ChildGuard {
 public:
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(pid_);
  }
  void set(pid_t pid) { pid_ = pid; }
  pid_t pid() const { return pid_; }
  void release() { pid_ = 0; }

 private:
  pid_t pid_ = 0;
};

Result<oci::Spec> container_spec(const StateStore& store, const ContainerRecord& rec) {
  // Saved at create; a container made before that was saved falls back to its bundle.
  auto text = read_file(store.config_path(rec.id));
  if (!text && text.error().code() == ENOENT) text = read_file(rec.bundle + "/config.json");
  if (!text) return std::unexpected(std::move(text).error());
  auto spec = oci::parse_config(*text);
  if (!spec) return std::unexpected(std::move(spec).error().context(fmt::format("config of container \"{}\"", rec.id)));
  return spec;
}

Result<oci::Process> exec_process(const ExecOptions& opts, const oci::Spec& spec) {
  const oci::Process& container = *spec.process;
  if (opts.process_file.empty()) {
    BERTH_TRY_ASSIGN(p, exec_process_from_flags(opts, container));
    return with_container_defaults(std::move(p), container);
  }
  BERTH_TRY_ASSIGN(text, read_file(opts.process_file));
  auto p = oci::parse_process(text);
  if (!p) return std::unexpected(std::move(p).error().context(fmt::format("--process \"{}\"", opts.process_file)));
  return with_container_defaults(std::move(*p), container);
}

// runc's rules for a terminal: whoever detaches must get the master through
// a socket, and a socket is only for that.
Result<> check_terminal(const ExecOptions& opts, const oci::Process& p) {
  if (opts.detach && p.terminal && opts.console_socket.empty())
    return error("cannot allocate tty if the runtime will detach without setting console socket");
  if ((!opts.detach || !p.terminal) && !opts.console_socket.empty())
    return error("cannot use console socket if the runtime will not detach or allocate tty");
  return {};
}

}  // namespace

Result<int> Runtime::exec(const ExecOptions& opts) {
  // First, before the runtime opens fds of its own (fds.h). LISTEN_FDS is
  // for a container's init only.
  BERTH_TRY_ASSIGN(inherited, plan_inherited_fds(opts.preserve_fds, std::nullopt, std::nullopt, ::getpid()));
  for (int fd : inherited.keep)
    if (::fcntl(fd, F_GETFD) < 0) return sys_error(errno, "--preserve-fds: fd {} is not open", fd);

  BERTH_TRY_ASSIGN(c, info(opts.id));
  if (c.status == oci::Status::stopped) return error("cannot exec in a stopped container");
  if (c.status == oci::Status::paused && !opts.ignore_paused)
    return error("cannot exec in a paused container (use --ignore-paused to override)");
  BERTH_TRY_ASSIGN(spec, container_spec(store_, c.record));
  BERTH_TRY_ASSIGN(process, exec_process(opts, spec));
  BERTH_TRY(check_terminal(opts, process));

  BERTH_TRY_ASSIGN(pidfd, open_init_pidfd(c.record));
  BERTH_TRY_ASSIGN(flags, namespaces_to_join(c.record.pid));
  // The namespaces were read from /proc/<pid>: make sure it still was the init.
  if (process_start_time(c.record.pid) != c.record.pid_start_time)
    return sys_error(ESRCH, "container \"{}\" is not running", opts.id);

  ExecContext ctx;
  ctx.spec = &spec;
  ctx.process = &process;
  ctx.pidfd = &pidfd;
  ctx.init_pid = c.record.pid;
  ctx.join_flags = flags & ~CLONE_NEWCGROUP;
  ctx.join_cgroup_ns = flags & CLONE_NEWCGROUP;
  ctx.keep = inherited.keep;
  ctx.id = opts.id;
  // A rootless container may have no cgroup: the process then stays in the runtime's.
  UniqueFd cgroup2_dir;
  if (!c.record.cgroup_paths.empty()) {
    BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
    BERTH_TRY_ASSIGN(target, cgroups->open_clone_target());
    cgroup2_dir = std::move(target);
    BERTH_TRY_ASSIGN(files, cgroups->self_join_files());
    for (const auto& file : files) {
      BERTH_TRY_ASSIGN(tasks, open_file(file, O_WRONLY));
      ctx.v1_tasks.push_back(std::move(tasks));
    }
  }
  ctx.cgroup2_dir = &cgroup2_dir;
  std::optional<SeccompProgram> seccomp;
  if (spec.linux && spec.linux->seccomp) {
    BERTH_TRY_ASSIGN(program, compile_seccomp_cached(*spec.linux->seccomp, store_.root()));
    seccomp = std::move(program);
    ctx.seccomp = &*seccomp;
  }

  // Blocked before the clone: a signal sent meanwhile is forwarded, not lost.
  std::optional<ForwardedSignals> signals;
  if (!opts.detach) {
    BERTH_TRY_ASSIGN(s, ForwardedSignals::block());
    signals.emplace(std::move(s));
  }
  BERTH_TRY_ASSIGN(channels, Channel::make_pair());
  auto& [parent_end, child_end] = channels;
  ctx.channel = &child_end;

  pid_t mid = clone_process(0);
  if (mid < 0) return sys_error(errno, "fork intermediate process");
  if (mid == 0) run_intermediate(ctx);
  child_end.close();

  ChildGuard child;
  UniqueFd master;
  Result<> setup = {};
  for (;;) {
    auto msg = parent_end.recv_or_eof();
    if (!msg) {
      setup = std::unexpected(std::move(msg).error());
      break;
    }
    if (!*msg) break;  // every end closed: the intermediate exited, the process exec'd
    if ((*msg)->type == kSyncChildPid) {
      child.set(static_cast<pid_t>((*msg)->value));
    } else if ((*msg)->type == kSyncPty) {
      auto fd = recv_fd(parent_end.socket());
      if (!fd) {
        setup = std::unexpected(std::move(fd).error());
        break;
      }
      master = std::move(*fd);
    } else if ((*msg)->type == kSyncSeccompFd) {
      auto listener = receive_seccomp_listener(parent_end);
      Result<> sent = listener ? send_to_seccomp_agent(*spec.linux->seccomp, *listener, child.pid(),
                                                       hook_state_json(c.record, oci::Status::running))
                               : Result<>(std::unexpected(std::move(listener).error()));
      if (!sent) {
        setup = std::unexpected(std::move(sent).error());
        break;
      }
    } else {
      setup = error("sync channel: unexpected message type {}", (*msg)->type);
      break;
    }
  }
  reap(mid);
  if (!setup) return std::unexpected(std::move(setup).error().context("exec failed"));
  const pid_t pid = child.pid();
  if (pid <= 0) return error("exec failed: the intermediate process exited without starting the process");
  log::debug("exec {}: process {} started", opts.id, pid);
  if (master && !opts.console_socket.empty()) {
    BERTH_TRY(with_context(send_console(opts.console_socket, master), "--console-socket"));
    master.reset();
  }
  if (!opts.pid_file.empty())
    BERTH_TRY(write_file_atomic(opts.pid_file, std::to_string(pid), 0644, Durability::volatile_));
  child.release();
  if (opts.detach) return 0;
  return supervise(pid, *signals, master);
}

}  // namespace berth::runtime
