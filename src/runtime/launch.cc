#include "runtime/launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>

#include <fmt/ranges.h>

#include "base/channel.h"
#include "base/file.h"
#include "base/log.h"
#include "oci/config.h"
#include "runtime/cgroup_resources.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/namespaces.h"
#include "runtime/path.h"
#include "runtime/rootless.h"
#include "runtime/seccomp.h"
#include "runtime/spawn.h"
#include "runtime/userns.h"

namespace berth::runtime {
namespace {

// realpath(3) reads every component as a link; the kernel's own resolution,
// read back through /proc/self/fd, takes three calls. realpath where /proc
// cannot tell (not mounted, a deleted directory).
Result<std::string> absolute(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "resolve \"{}\"", path);
  UniqueFd opened(fd);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(fd_path(opened).c_str(), buf, sizeof buf);
  if (n > 0 && n < static_cast<ssize_t>(sizeof buf) && buf[0] == '/' &&
      !std::string_view(buf, static_cast<size_t>(n)).ends_with(" (deleted)"))
    return std::string(buf, static_cast<size_t>(n));
  if (!realpath(path.c_str(), buf)) return sys_error(errno, "resolve \"{}\"", path);
  return std::string(buf);
}

// Undoes a half-made container unless commit() was called.
class Rollback {
 public:
  Rollback(const StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~Rollback() {
    if (committed_) return;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
    if (cgroup_) (void)cgroup_->destroy();
    (void)store_.remove(id_);
  }
  void set_pid(pid_t pid) { pid_ = pid; }
  void set_cgroup(cgroup::Manager* m) { cgroup_ = m; }
  void commit() { committed_ = true; }

 private:
  const StateStore& store_;
  std::string id_;
  pid_t pid_ = 0;
  cgroup::Manager* cgroup_ = nullptr;
  bool committed_ = false;
};

// An init that exits with a message unread (an early start) resets the
// socket: the first receive fails with ECONNRESET, and the init's own error,
// queued before it exited, comes with the next one.
Result<Message> recv_from_init(const Channel& channel) {
  auto msg = channel.recv();
  if (!msg && msg.error().code() == ECONNRESET) return channel.recv();
  return msg;
}

// A message to an init that has already failed and exited cannot be sent:
// report the init's own error, which it sent before exiting, instead.
Result<> send_to_init(const Channel& channel, uint32_t type, std::string_view text = {}) {
  auto sent = channel.send(type, 0, text);
  if (sent || (sent.error().code() != EPIPE && sent.error().code() != ECONNRESET)) return sent;
  auto why = recv_from_init(channel);
  if (!why) return std::unexpected(std::move(why).error());
  return sent;
}

Result<UniqueFd> make_exec_fifo(const std::string& path) {
  if (mkfifo(path.c_str(), 0622) < 0) return sys_error(errno, "mkfifo \"{}\"", path);
  // 0622 regardless of umask: a non-root container user opens it for writing.
  if (chmod(path.c_str(), 0622) < 0) return sys_error(errno, "chmod \"{}\"", path);
  return open_file(path, O_PATH);
}

}  // namespace

Result<Launched> launch(const StateStore& store, const CreateOptions& opts, bool own_terminal, bool start_here) {
  BERTH_TRY(validate_id(opts.id));
  BERTH_TRY_ASSIGN(inherited, prepare_inherited_fds(opts.preserve_fds));
  BERTH_TRY_ASSIGN(bundle, absolute(opts.bundle));
  std::string config_text;
  {
    auto text = read_file(bundle + "/config.json");
    if (!text) return std::unexpected(std::move(text).error());
    config_text = std::move(*text);
  }
  BERTH_TRY_ASSIGN(spec, with_context(oci::parse_config(config_text), "config \"" + bundle + "/config.json\""));
  if (!spec.process) return error("config \"{}/config.json\": process: required to create a container", bundle);
  if (!spec.linux) spec.linux.emplace();
  for (const auto& w : oci::config_warnings(spec)) log::warn("{}", w);
  const std::string& root_path = spec.root->path;
  BERTH_TRY_ASSIGN(rootfs, absolute(root_path.starts_with("/") ? root_path : bundle + "/" + root_path));
  if (spec.process->terminal && opts.console_socket.empty() && !own_terminal)
    return error("process.terminal is true: --console-socket is required when the runtime detaches");

  BERTH_TRY_ASSIGN(plan, plan_namespaces(*spec.linux));
  if (!plan.new_mount && !plan.joins_mount)
    return error("linux.namespaces: a mount namespace is required");
  std::optional<SeccompProgram> seccomp;
  if (spec.linux->seccomp) {
    BERTH_TRY_ASSIGN(program, compile_seccomp_cached(*spec.linux->seccomp, store.root()));
    seccomp = std::move(program);
  }

  log::debug("create {}: config parsed", opts.id);
  BERTH_TRY(store.create_dir(opts.id));
  log::debug("create {}: state dir made", opts.id);
  std::unique_ptr<cgroup::Manager> cgroups;  // outlives the rollback that may destroy it
  Rollback rollback(store, opts.id);
  // Kept for delete's poststop hooks and for exec, which gives a new process
  // the container's own attributes (seccomp, capabilities, rlimits...) even
  // if the bundle changes later.
  {
    // Written straight into the state dir made just above: nobody reads it
    // before state.json exists (which stays atomic), so no temp file and
    // rename are needed; O_EXCL refuses anything already there.
    std::string path = store.config_path(opts.id);
    BERTH_TRY_ASSIGN(config_fd, open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600));
    BERTH_TRY(write_all(config_fd.get(), config_text, path));
  }
  UniqueFd fifo;
  if (!start_here) {
    BERTH_TRY_ASSIGN(made, make_exec_fifo(store.fifo_path(opts.id)));
    fifo = std::move(made);
  }
  BERTH_TRY_ASSIGN(state_dir, open_file(store.dir(opts.id), O_PATH | O_DIRECTORY));

  BERTH_TRY_ASSIGN(layout, cgroup::detect_layout());
  const bool rootless = running_rootless();
  {
    // Rootless (rootless.h): the hierarchies where the caller may not make the
    // container's cgroup are left out, unless cgroupsPath names one.
    std::vector<std::string> skipped;
    auto made = rootless && spec.linux->cgroups_path.empty()
                    ? cgroup::make_permitted_manager(layout, opts.id, skipped)
                    : cgroup::make_manager(layout, spec.linux->cgroups_path, opts.id);
    if (!made) return std::unexpected(std::move(made).error());
    cgroups = std::move(*made);
    rollback.set_cgroup(cgroups.get());
    if (!skipped.empty()) {
      log::debug("create {}: rootless: no cgroup made in {} (no permission)", opts.id, fmt::join(skipped, ", "));
      if (spec.linux->resources && resources_need_cgroup(*spec.linux->resources))
        return error("linux.resources: limits need a cgroup of the container's own, and this rootless runtime may "
                     "not create one in {} (give linux.cgroupsPath a cgroup delegated to uid {}, or drop the "
                     "limits)",
                     fmt::join(skipped, ", "), ::geteuid());
    }
  }
  BERTH_TRY_ASSIGN(cgroup2_dir, cgroups->open_clone_target());

  // Before the init exists: it inherits the detached trees (idmapped_mounts.cc).
  std::vector<UniqueFd> idmapped;
  if (!plan.joins_mount) {
    auto trees = prepare_idmapped_mounts(spec, bundle);
    if (!trees) return std::unexpected(std::move(trees).error());
    idmapped = std::move(*trees);
  }

  BERTH_TRY_ASSIGN(channels, Channel::make_pair());
  auto& [parent_end, child_end] = channels;

  InitContext ctx;
  ctx.spec = &spec;
  ctx.plan = &plan;
  ctx.rootfs.rootfs = rootfs;
  ctx.rootfs.bundle = bundle;
  ctx.rootfs.no_pivot = opts.no_pivot;
  ctx.rootfs.new_user_ns = plan.new_user;
  ctx.rootfs.new_cgroup_ns = plan.new_cgroup;
  ctx.rootfs.cgroup_layout = &layout;
  ctx.rootfs.cgroup_paths = cgroups->paths();
  ctx.rootfs.idmapped_mounts = &idmapped;
  ctx.channel = &child_end;
  ctx.fifo = start_here ? nullptr : &fifo;
  ctx.state_dir = &state_dir;
  ctx.cgroup2_dir = &cgroup2_dir;
  // A joined mount namespace may not show the host's cgroupfs: then the
  // runtime moves the init itself (add_process below).
  if (!plan.joins_mount) {
    BERTH_TRY_ASSIGN(self_join, cgroups->self_join_files());
    ctx.cgroup_self_join = std::move(self_join);
  }
  ctx.id = opts.id;
  ctx.inherited = std::move(inherited);
  ctx.no_new_keyring = opts.no_new_keyring;
  ctx.seccomp = seccomp ? &*seccomp : nullptr;

  BERTH_TRY_ASSIGN(pid, spawn_init(ctx, parent_end));
  log::debug("create {}: init {} spawned", opts.id, pid);
  rollback.set_pid(pid);
  child_end.close();

  ContainerRecord rec;
  rec.id = opts.id;
  rec.pid = pid;
  rec.bundle = bundle;
  rec.rootfs = rootfs;
  rec.created = rfc3339_now();
  rec.owner = getuid();
  rec.annotations = spec.annotations;
  rec.cgroup_paths = ctx.rootfs.cgroup_paths;

  // Now: with an early start (below) the process may have exec'd and exited
  // by the time the init reports "created"; exec keeps the start time.
  rec.pid_start_time = process_start_time(pid);

  if (plan.new_user) BERTH_TRY(write_id_mappings(pid, spec.linux->uid_mappings, spec.linux->gid_mappings));
  std::string creating = hook_state_json(rec, oci::Status::creating);
  BERTH_TRY(send_to_init(parent_end, kSyncGo, creating));
  // The v1 directories are made while the init mounts its rootfs; it joins
  // them when it must (init.cc: CgroupJoin).
  BERTH_TRY(cgroups->create());
  // Limits are in place before the init joins the v1 cgroups and long before
  // it can exec the user's program (start).
  // Rootless: no device rules, and nothing at all without a cgroup (limits
  // were refused above then).
  const oci::Resources resources = spec.linux->resources.value_or(oci::Resources{});
  if (!rootless) BERTH_TRY(cgroup::apply_resources(layout, rec.cgroup_paths, resources));
  else if (!rec.cgroup_paths.empty())
    BERTH_TRY(cgroup::apply_resources(layout, rec.cgroup_paths, resources, {.update = false, .skip_devices = true}));
  rec.resources = spec.linux->resources;
  if (plan.joins_mount) BERTH_TRY(cgroups->add_process(pid));
  BERTH_TRY(send_to_init(parent_end, kSyncCgroupsReady));
  log::debug("create {}: cgroups ready", opts.id);

  Launched out;
  // run, when nothing is left for this process to serve before "created" (no
  // prestart or createRuntime hooks, terminal or seccomp agent): the start is
  // sent now, so the init execs as soon as it is ready while this process
  // saves the state, instead of after a round trip. start_init() then only
  // waits for the exec.
  const bool runtime_hooks = spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty());
  if (start_here && !runtime_hooks && !spec.process->terminal && !(seccomp && seccomp->notify)) {
    BERTH_TRY(send_to_init(parent_end, kSyncStart));
    out.started = true;
  }
  for (;;) {
    BERTH_TRY_ASSIGN(msg, recv_from_init(parent_end));
    if (msg.type == kSyncCreated) break;
    switch (msg.type) {
      case kSyncRuntimeHooks:
        BERTH_TRY(run_hooks(spec.hooks->prestart, creating, "prestart"));
        BERTH_TRY(run_hooks(spec.hooks->create_runtime, creating, "createRuntime"));
        BERTH_TRY(parent_end.send(kSyncHooksDone));
        break;
      case kSyncPty: {
        BERTH_TRY_ASSIGN(master, recv_fd(parent_end.socket()));
        if (!opts.console_socket.empty())
          BERTH_TRY(with_context(send_console(opts.console_socket, master), "--console-socket"));
        else
          out.pty_master = std::move(master);
        break;
      }
      case kSyncSeccompFd: {
        BERTH_TRY_ASSIGN(listener, receive_seccomp_listener(parent_end));
        BERTH_TRY(send_to_seccomp_agent(*spec.linux->seccomp, listener, pid, creating));
        break;
      }
      default:
        return error("sync channel: unexpected message type {}", msg.type);
    }
  }

  log::debug("create {}: init ready", opts.id);
  BERTH_TRY(store.save(rec));
  if (!opts.pid_file.empty()) {
    BERTH_TRY(write_file_atomic(opts.pid_file, std::to_string(pid), 0644, Durability::volatile_));
  }
  rollback.commit();
  out.record = std::move(rec);
  out.spec = std::move(spec);
  if (start_here) out.start_channel = std::move(parent_end);
  return out;
}

Result<> start_init(Launched& launched) {
  const ContainerRecord& rec = launched.record;
  if (!launched.started) BERTH_TRY(launched.start_channel.send(kSyncStart));
  auto end = launched.start_channel.recv_or_eof();
  launched.start_channel.close();
  if (!end) return std::unexpected(std::move(end).error().context(fmt::format("cannot start container \"{}\"", rec.id)));
  if (*end) return error("cannot start container \"{}\": unexpected message type {} on the sync channel", rec.id, (*end)->type);
  log::debug("start {}: init released", rec.id);
  const oci::Hooks* hooks = launched.spec.hooks ? &*launched.spec.hooks : nullptr;
  if (hooks && !hooks->poststart.empty()) {
    std::string st = hook_state_json(rec, oci::Status::running);
    if (auto r = run_hooks(hooks->poststart, st, "poststart"); !r) log::warn("{}", r.error().what());
  }
  return {};
}

Result<> destroy_container(const StateStore& store, const ContainerRecord& rec, Stragglers stragglers) {
  if (!rec.cgroup_paths.empty()) {
    BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(rec.cgroup_paths));
    if (stragglers == Stragglers::maybe) {
      // Freezing to kill stragglers is work only a non-empty cgroup needs.
      auto left = cgroups->pids();
      if (!left || !left->empty()) (void)cgroups->signal_all(SIGKILL);
    }
    auto removed = cgroups->destroy();
    if (!removed && stragglers == Stragglers::none) {
      // Something from outside the container's pid namespace was put there.
      (void)cgroups->signal_all(SIGKILL);
      removed = cgroups->destroy();
    }
    BERTH_TRY(std::move(removed));
  }
  return store.remove(rec.id);
}

}  // namespace berth::runtime
