#include "runtime/init.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "runtime/child.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/lsm.h"
#include "runtime/path.h"
#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

Result<> setup_terminal(const InitContext& ctx) {
  const auto& proc = *ctx.spec->process;
  BERTH_TRY_ASSIGN(pty, open_pty(proc.console_size));
  BERTH_TRY(ctx.channel->send(kSyncPty));
  BERTH_TRY(send_fd(ctx.channel->socket(), pty.master, pty.slave_path));
  pty.master.reset();
  BERTH_TRY(mount_console(pty.slave_path));
  return become_console(pty.slave);
}

// Loads the seccomp filter; a notify listener goes to the runtime, which hands
// it to the agent at listenerPath.
Result<> load_container_seccomp(const InitContext& ctx) {
  BERTH_TRY_ASSIGN(listener, load_seccomp(*ctx.seccomp));
  if (listener) BERTH_TRY(pass_seccomp_listener(*ctx.channel, kSyncSeccompFd, listener));
  return {};
}

// When the filter is loaded (runc's order): without noNewPrivileges,
// seccomp(2) needs CAP_SYS_ADMIN, which the identity change and the
// capability drop may take away: load it before them. With noNewPrivileges,
// as late as possible, so a profile has to allow as few of the runtime's own
// syscalls as possible: right before execve (container_init), or, for a
// notify filter whose listener must reach the runtime before "created", at
// the end of the set-up.
bool seccomp_before_identity(const InitContext& ctx) {
  return ctx.seccomp && !ctx.spec->process->no_new_privileges;
}
bool seccomp_before_created(const InitContext& ctx) {
  return ctx.seccomp && ctx.spec->process->no_new_privileges && ctx.seccomp->notify;
}
bool seccomp_before_exec(const InitContext& ctx) {
  return ctx.seccomp && ctx.spec->process->no_new_privileges && !ctx.seccomp->notify;
}

// Process attributes that need privileges come before the identity change.
Result<> apply_process(const InitContext& ctx) {
  const auto& proc = *ctx.spec->process;
  const auto& linux = ctx.spec->linux;
  if (linux && linux->personality) BERTH_TRY(apply_personality(*linux->personality));
  BERTH_TRY(apply_rlimits(proc.rlimits));
  if (proc.oom_score_adj) BERTH_TRY(apply_oom_score_adj(*proc.oom_score_adj));
  if (proc.scheduler) BERTH_TRY(apply_scheduler(*proc.scheduler));
  if (proc.io_priority) BERTH_TRY(apply_io_priority(*proc.io_priority));
  // execCPUAffinity is for exec'd processes only: the spec exempts init.
  if (seccomp_before_identity(ctx)) BERTH_TRY(load_container_seccomp(ctx));
  BERTH_TRY(set_identity(proc.user));
  // No capabilities object means no capabilities (as runc reads it).
  BERTH_TRY(apply_capabilities(proc.capabilities ? *proc.capabilities : oci::Capabilities{}));
  if (!proc.cwd.empty()) BERTH_TRY(enter_cwd(proc.cwd));
  BERTH_TRY(apply_exec_labels(proc.apparmor_profile, proc.selinux_label));
  if (proc.no_new_privileges) BERTH_TRY(set_no_new_privileges());
  if (seccomp_before_created(ctx)) BERTH_TRY(load_container_seccomp(ctx));
  return {};
}

// Moves this (single-threaded) process into its v1 cgroups once the runtime
// has made them (it does so while this process mounts its rootfs). Writing
// "0" to "tasks" moves the caller alone, without the global lock a pid
// written to cgroup.procs takes (cgroup.h). Needs root's credentials: the
// files are root's.
class CgroupJoin {
 public:
  explicit CgroupJoin(const InitContext& ctx) : ctx_(ctx) {}
  Result<> operator()() {
    if (done_) return {};
    BERTH_TRY(ctx_.channel->expect(kSyncCgroupsReady, "cgroups ready"));
    for (const auto& f : ctx_.cgroup_self_join) BERTH_TRY(with_context(write_file(f, "0"), "join cgroup"));
    done_ = true;
    return {};
  }

 private:
  const InitContext& ctx_;
  bool done_ = false;
};

struct Prepared {
  std::string executable;
  std::string state;  // the state JSON the runtime sent, for hooks
};

// Everything up to "created": namespaces, rootfs, hooks, process attributes.
Result<Prepared> prepare(const InitContext& ctx) {
  const auto& spec = *ctx.spec;
  const auto& plan = *ctx.plan;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return sys_error(errno, "set parent-death signal");
  // Until exec, /proc/<pid>/exe of this process is the runtime: keep other
  // processes of a shared pid namespace from opening it (exec resets this).
  // With a new user namespace, only once the runtime has written its id maps:
  // /proc/<pid> of a non-dumpable process belongs to root, and a rootless
  // runtime (or newuidmap, which checks the owner) could not write them.
  auto set_non_dumpable = []() -> Result<> {
    if (prctl(PR_SET_DUMPABLE, 0) < 0) return sys_error(errno, "set non-dumpable");
    return {};
  };
  if (!plan.new_user) BERTH_TRY(set_non_dumpable());
  // Before waiting for "go": the runtime makes the cgroups meanwhile.
  if (int flags = plan.init_unshare_flags(); flags != 0 && unshare(flags) < 0)
    return sys_error(errno, "unshare the container's namespaces");
  BERTH_TRY(reset_signals());

  BERTH_TRY_ASSIGN(go, ctx.channel->expect(kSyncGo, "go"));
  std::string state = std::move(go.text);
  if (plan.new_user) BERTH_TRY(set_non_dumpable());

  CgroupJoin join_cgroups(ctx);
  // In cgroups before: the ids of a user namespace can't write root's files,
  // and a cgroup namespace's root is the cgroup the process unshares in.
  if (plan.new_user || plan.new_cgroup) BERTH_TRY(join_cgroups());
  if (plan.new_user) BERTH_TRY(become_root_in_userns());
  if (plan.new_cgroup && unshare(CLONE_NEWCGROUP) < 0) return sys_error(errno, "unshare cgroup namespace");
  if (!ctx.no_new_keyring) BERTH_TRY(join_session_keyring(ctx.id));

  log::debug("init: namespaces ready");
  RootfsOptions rootfs = ctx.rootfs;
  rootfs.before_cgroup_mount = [&join_cgroups]() { return join_cgroups(); };
  if (!plan.joins_mount) BERTH_TRY(prepare_rootfs(spec, rootfs));
  log::debug("init: rootfs prepared");
  if (spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty())) {
    BERTH_TRY(join_cgroups());  // hooks see the container in its cgroups
    BERTH_TRY(ctx.channel->send(kSyncRuntimeHooks));
    BERTH_TRY(ctx.channel->expect(kSyncHooksDone, "hooks done"));
  }
  if (spec.hooks && !spec.hooks->create_container.empty()) {
    BERTH_TRY(join_cgroups());
    BERTH_TRY(run_hooks(spec.hooks->create_container, state, "createContainer"));
  }
  // Last chance: the host's cgroupfs is out of sight after pivot_root.
  BERTH_TRY(join_cgroups());
  if (!plan.joins_mount) {
    BERTH_TRY(enter_rootfs(rootfs));
    BERTH_TRY(finalize_rootfs(spec));
  } else {
    BERTH_TRY(apply_hostname(spec));
  }

  log::debug("init: rootfs entered and finalized");
  const auto& proc = *spec.process;
  if (proc.terminal) BERTH_TRY(setup_terminal(ctx));
  BERTH_TRY_ASSIGN(path, find_executable(proc.args[0], proc.env));
  BERTH_TRY(apply_process(ctx));
  return Prepared{std::move(path), std::move(state)};
}

[[noreturn]] void fail(const InitContext& ctx, const Error& err) {
  ctx.channel->send_error(err);
  _exit(1);
}

}  // namespace

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  // runc's wording and errnos (Go's exec.LookPath): a path that does not
  // exist is ENOENT, one that exists but cannot be executed (no x bit, a
  // directory) EACCES, so that engines answer docker's 127 and 126.
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (stat(name.c_str(), &st) != 0) return sys_error(errno, "exec: \"{}\": stat {}", name, name);
    if (S_ISDIR(st.st_mode)) return sys_error(EACCES, "exec: \"{}\": is a directory", name);
    if (!S_ISREG(st.st_mode) || access(name.c_str(), X_OK) != 0) return sys_error(EACCES, "exec: \"{}\"", name);
    return name;
  }
  return search_path(name, env, [](const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  });
}

void container_init(const InitContext& ctx) {
  auto prepared = prepare(ctx);
  if (!prepared) fail(ctx, prepared.error());
  const bool by_channel = ctx.fifo == nullptr;

  // The exec fifo is reopened through /proc: the state dir is not visible
  // after pivot_root, and the open blocks until `start` opens the other end.
  // Where /proc/self is not ours (no /proc, or a joined mount namespace whose
  // /proc shows another pid namespace), it is opened beneath the state dir's
  // fd instead, which needs the state dir's permissions (a root process).
  std::string fifo;
  bool via_proc = false;
  if (!by_channel) {
    fifo = "/proc/self/fd/" + std::to_string(ctx.fifo->get());
    via_proc = access(fifo.c_str(), F_OK) == 0;
    if (!via_proc && faccessat(ctx.state_dir->get(), "exec.fifo", W_OK, AT_SYMLINK_NOFOLLOW) < 0)
      fail(ctx, Error(errno, "exec fifo: neither \"" + fifo + "\" (is /proc mounted in the container?) nor the state directory is usable"));
  }

  // Every fd not passed on closes at exec.
  if (auto r = mark_cloexec_from(3, ctx.inherited.keep); !r) fail(ctx, r.error());

  if (prctl(PR_SET_PDEATHSIG, 0) < 0) fail(ctx, Error(errno, "clear parent-death signal"));
  if (auto r = ctx.channel->send(kSyncCreated); !r) _exit(1);

  // `start` reads "0", then waits for EOF: the fd closes at a successful
  // exec, or carries the error of a startContainer hook or of exec itself.
  // Started by `run` through the channel instead, the same goes there: its
  // end closes at exec, or carries the error.
  int wfd = -1;
  if (by_channel) {
    if (!ctx.channel->expect(kSyncStart, "start")) _exit(1);
  } else {
    wfd = via_proc ? open(fifo.c_str(), O_WRONLY | O_CLOEXEC)
                   : openat(ctx.state_dir->get(), "exec.fifo", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (wfd < 0 || write(wfd, "0", 1) != 1) {
      log::error("open exec fifo: {}", strerror(errno));
      _exit(1);
    }
  }
  auto report = [&ctx, wfd](const Error& err) {
    if (wfd < 0) {
      ctx.channel->send_error(err);
    } else {
      const std::string msg = err.what();
      (void)!write(wfd, msg.data(), msg.size());
    }
    _exit(1);
  };

  const auto& spec = *ctx.spec;
  if (spec.hooks && !spec.hooks->start_container.empty()) {
    if (auto r = run_hooks(spec.hooks->start_container, prepared->state, "startContainer"); !r) report(r.error());
  }
  std::vector<std::string> env = spec.process->env;
  env.insert(env.end(), ctx.inherited.env.begin(), ctx.inherited.env.end());
  auto argv = c_strings(spec.process->args);
  auto envp = c_strings(env);
  if (seccomp_before_exec(ctx)) {
    if (auto r = load_seccomp(*ctx.seccomp); !r) report(r.error());
  }
  execve(prepared->executable.c_str(), argv.data(), envp.data());
  report(Error(errno, fmt::format("exec \"{}\"", prepared->executable)));
  _exit(127);
}

}  // namespace berth::runtime
