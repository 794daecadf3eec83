#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "oci/config.h"
#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/launch.h"

namespace berth::runtime {
namespace {

// Hooks saved with the container (its config is kept in the state dir).
std::optional<oci::Hooks> saved_hooks(const StateStore& store, const std::string& id) {
  auto text = read_file(store.config_path(id));
  // Most configs have no hooks: skip parsing them on delete's path.
  if (!text || text->find("\"hooks\"") == std::string::npos) return std::nullopt;
  auto spec = oci::parse_config(*text);
  if (!spec) {
    log::warn("container \"{}\": saved config: {}", id, spec.error().what());
    return std::nullopt;
  }
  return spec->hooks;
}

// Waits until the process behind `pidfd` has exited (poll on a pidfd).
Result<> wait_exit(const UniqueFd& pidfd, int timeout_ms) {
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  for (;;) {
    int n = poll(&p, 1, timeout_ms);
    if (n > 0) return {};
    if (n == 0) return sys_error(ETIMEDOUT, "wait for container process to exit");
    if (errno != EINTR) return sys_error(errno, "poll pidfd");
  }
}

// Whether the container's cgroup is frozen; an unreadable freezer counts as
// not frozen (state must keep working on a half-removed cgroup).
bool is_frozen(const ContainerRecord& rec) {
  if (rec.cgroup_paths.empty()) return false;
  auto cgroups = cgroup::load_manager(rec.cgroup_paths);
  if (!cgroups) return false;
  auto frozen = (*cgroups)->frozen();
  if (!frozen) log::debug("container \"{}\": freezer state: {}", rec.id, frozen.error().what());
  return frozen && *frozen;
}

// v1 frozen tasks act on SIGKILL only once thawed (v2 lets it through).
void thaw_for_kill(const ContainerRecord& rec) {
  auto cgroups = cgroup::load_manager(rec.cgroup_paths);
  if (!cgroups) return;
  if (auto r = (*cgroups)->set_frozen(false); !r) log::warn("container \"{}\": thaw: {}", rec.id, r.error().what());
}

Result<> set_blocking(const UniqueFd& fd) {
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) return sys_error(errno, "fcntl exec fifo");
  return {};
}

}  // namespace

Result<int> parse_signal(std::string_view s) {
  if (s.empty()) return error("empty signal");
  if (isdigit(static_cast<unsigned char>(s[0]))) {
    int n = 0;
    for (char c : s) {
      if (!isdigit(static_cast<unsigned char>(c)) || n > 1000) return error("invalid signal \"{}\"", s);
      n = n * 10 + (c - '0');
    }
    if (n <= 0 || n >= NSIG) return error("invalid signal number {}", n);
    return n;
  }
  std::string name(s);
  for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) {
    bool min = name.starts_with("RTMIN");
    int base = min ? SIGRTMIN : SIGRTMAX;
    std::string rest = name.substr(5);
    if (rest.empty()) return base;
    int off = atoi(rest.c_str() + 1);
    if ((rest[0] == '+' && min) || (rest[0] == '-' && !min)) return min ? base + off : base - off;
    return error("invalid signal \"{}\"", s);
  }
  for (int sig = 1; sig < 32; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  if (name == "IOT") return SIGABRT;
  if (name == "CLD") return SIGCHLD;
  if (name == "POLL") return SIGIO;
  return error("unknown signal \"{}\"", s);
}

Result<ContainerInfo> Runtime::info(const std::string& id) const {
  BERTH_TRY_ASSIGN(rec, store_.load(id));
  ContainerInfo info{std::move(rec), oci::Status::stopped};
  info.status = container_status(store_, info.record);
  // Paused is no saved state: a live container whose cgroup is frozen (runc).
  if (info.status != oci::Status::stopped && is_frozen(info.record)) info.status = oci::Status::paused;
  return info;
}

Result<> Runtime::pause(const std::string& id) {
  BERTH_TRY_ASSIGN(lock, store_.lock(id));
  BERTH_TRY_ASSIGN(c, info(id));
  if (c.status != oci::Status::running && c.status != oci::Status::created)
    return std::unexpected(Error(0, "container not running").context(fmt::format("pause \"{}\"", id)));
  BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
  return with_context(cgroups->set_frozen(true), fmt::format("pause \"{}\"", id));
}

Result<> Runtime::resume(const std::string& id) {
  BERTH_TRY_ASSIGN(lock, store_.lock(id));
  BERTH_TRY_ASSIGN(c, info(id));
  if (c.status != oci::Status::paused)
    return std::unexpected(Error(0, "container not paused").context(fmt::format("resume \"{}\"", id)));
  BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
  return with_context(cgroups->set_frozen(false), fmt::format("resume \"{}\"", id));
}

Result<std::vector<pid_t>> Runtime::processes(const std::string& id) const {
  BERTH_TRY_ASSIGN(c, info(id));
  BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
  return cgroups->pids();
}

Result<std::vector<ContainerInfo>> Runtime::list() const {
  BERTH_TRY_ASSIGN(ids, store_.list_ids());
  std::vector<ContainerInfo> out;
  for (const auto& id : ids) {
    auto i = info(id);
    if (i) out.push_back(std::move(*i));
  }
  return out;
}

Result<> Runtime::create(const CreateOptions& opts) {
  BERTH_TRY(launch(store_, opts, false));
  return {};
}

Result<> release_init(const StateStore& store, const ContainerRecord& rec, const oci::Hooks* hooks) {
  const std::string& id = rec.id;
  BERTH_TRY_ASSIGN(pidfd, open_init_pidfd(rec));
  std::string fifo_path = store.fifo_path(id);
  // Non-blocking open of the read end: the init blocked in its open for
  // writing wakes up, writes one byte and goes on to exec.
  BERTH_TRY_ASSIGN(fifo, open_file(fifo_path, O_RDONLY | O_NONBLOCK));
  struct pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "poll exec fifo");
    char b;
    if (p[0].revents & POLLIN) {
      if (read(fifo.get(), &b, 1) == 1) break;
    }
    if (p[1].revents & POLLIN) return error("cannot start container \"{}\": its init exited", id);
  }
  unlink(fifo_path.c_str());
  log::debug("start {}: init released", id);
  // The init closes its end at exec; anything it writes first is an error.
  {
    BERTH_TRY(set_blocking(fifo));
    std::string failure;
    char buf[4096];
    ssize_t n;
    while ((n = read(fifo.get(), buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error(errno, "read exec fifo");
      failure.append(buf, static_cast<size_t>(n));
    }
    if (!failure.empty()) return error("cannot start container \"{}\": {}", id, failure);
  }
  if (hooks && !hooks->poststart.empty()) {
    std::string st = hook_state_json(rec, oci::Status::running);
    if (auto r = run_hooks(hooks->poststart, st, "poststart"); !r) log::warn("{}", r.error().what());
  }
  return {};
}

Result<> delete_stopped(const StateStore& store, const ContainerRecord& rec, const oci::Hooks* hooks,
                        Stragglers stragglers) {
  BERTH_TRY(destroy_container(store, rec, stragglers));
  log::debug("delete {}: cgroup and state removed", rec.id);
  if (hooks && !hooks->poststop.empty()) {
    std::string st = hook_state_json(rec, oci::Status::stopped);
    if (auto r = run_hooks(hooks->poststop, st, "poststop"); !r) log::warn("{}", r.error().what());
  }
  return {};
}

Result<> Runtime::start(const std::string& id) {
  BERTH_TRY_ASSIGN(lock, store_.lock(id));
  BERTH_TRY_ASSIGN(c, info(id));
  if (c.status != oci::Status::created)
    return error("cannot start container \"{}\": it is {}, not created", id, oci::status_name(c.status));
  auto hooks = saved_hooks(store_, id);
  return release_init(store_, c.record, hooks ? &*hooks : nullptr);
}

Result<> Runtime::kill(const std::string& id, int signal, bool all) {
  BERTH_TRY_ASSIGN(c, info(id));
  // A rootless container may have no cgroup to list its processes: then its
  // init alone is signalled (the rest of a pid namespace dies with a killed init).
  if (all && !c.record.cgroup_paths.empty()) {
    BERTH_TRY_ASSIGN(cgroups, cgroup::load_manager(c.record.cgroup_paths));
    return cgroups->signal_all(signal);
  }
  if (c.status == oci::Status::stopped) return error("container \"{}\" is not running", id);
  BERTH_TRY_ASSIGN(pidfd, open_init_pidfd(c.record));
  if (syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) < 0)
    return sys_error(errno, "send signal {} to container \"{}\"", signal, id);
  if (signal == SIGKILL && c.status == oci::Status::paused) thaw_for_kill(c.record);
  return {};
}

Result<> Runtime::remove(const std::string& id, bool force) {
  BERTH_TRY_ASSIGN(lock, store_.lock(id));
  BERTH_TRY_ASSIGN(c, info(id));
  if (c.status == oci::Status::running || c.status == oci::Status::paused) {
    if (!force)
      return error("cannot delete container \"{}\": it is {} (use --force)", id, oci::status_name(c.status));
  }
  if (c.status != oci::Status::stopped) {
    auto pidfd = open_init_pidfd(c.record);
    if (pidfd) {
      syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
      if (c.status == oci::Status::paused) thaw_for_kill(c.record);
      BERTH_TRY(wait_exit(*pidfd, 10000));
    }
  }
  auto hooks = saved_hooks(store_, id);
  log::debug("delete {}: process gone", id);
  return delete_stopped(store_, c.record, hooks ? &*hooks : nullptr);
}

}  // namespace berth::runtime
