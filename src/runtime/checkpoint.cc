#include "runtime/checkpoint.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>

#include "base/file.h"
#include "base/log.h"
#include "oci/config.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/launch.h"
#include "runtime/supervise.h"

namespace berth::runtime {
namespace {

Result<std::string> absolute(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return sys_error(errno, "{} \"{}\"", what, path);
  return std::string(buf);
}

// runc's default image directory is ./checkpoint; the work directory defaults to it.
Result<CriuOptions> resolved(CriuOptions o, bool create) {
  if (o.image_path.empty()) o.image_path = "checkpoint";
  if (create && ::mkdir(o.image_path.c_str(), 0700) < 0 && errno != EEXIST)
    return sys_error(errno, "create image directory \"{}\"", o.image_path);
  BERTH_TRY_ASSIGN(image, absolute(o.image_path, "image directory"));
  o.image_path = image;
  if (!o.work_path.empty()) {
    if (create && ::mkdir(o.work_path.c_str(), 0700) < 0 && errno != EEXIST)
      return sys_error(errno, "create work directory \"{}\"", o.work_path);
    BERTH_TRY_ASSIGN(work, absolute(o.work_path, "work directory"));
    o.work_path = work;
  }
  return o;
}

// CRIU wants the root it restores into to be a mount point: a bind of the
// rootfs under the state dir, undone when restore is over (runc's criu-root).
class CriuRoot {
 public:
  static Result<CriuRoot> make(const std::string& rootfs, const std::string& at) {
    if (::mkdir(at.c_str(), 0700) < 0 && errno != EEXIST) return sys_error(errno, "mkdir \"{}\"", at);
    if (::mount(rootfs.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return sys_error(errno, "bind \"{}\" to \"{}\"", rootfs, at);
    CriuRoot r;
    r.path_ = at;
    return r;
  }
  CriuRoot(CriuRoot&& o) noexcept : path_(std::exchange(o.path_, "")) {}
  ~CriuRoot() {
    if (path_.empty()) return;
    ::umount2(path_.c_str(), MNT_DETACH);
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  CriuRoot() = default;
  std::string path_;
};

}  // namespace

Result<> Runtime::checkpoint(const CheckpointOptions& opts) {
  BERTH_TRY_ASSIGN(lock, store_.lock(opts.id));
  BERTH_TRY_ASSIGN(c, info(opts.id));
  if (c.status != oci::Status::running)
    return error("cannot checkpoint container \"{}\": it is {}, not running", opts.id, oci::status_name(c.status));
  BERTH_TRY_ASSIGN(spec, oci::load_config(store_.dir(opts.id)));
  BERTH_TRY_ASSIGN(o, resolved(opts.criu, true));
  std::string action = o.pre_dump ? "pre-dump" : "dump";
  // Checked last: the process must still be the one the state names.
  BERTH_TRY(open_init_pidfd(c.record));
  BERTH_TRY(run_criu(o, action, criu_dump_args(o, spec, c.record.pid, c.record.rootfs)));
  log::debug("checkpoint {}: criu {} done", opts.id, action);
  if (o.leave_running || o.pre_dump) return {};
  // CRIU stopped the processes after the dump: the container is gone (runc deletes it too).
  lock.reset();
  return remove(opts.id, true);
}

Result<int> Runtime::restore(const RestoreOptions& opts) {
  BERTH_TRY(validate_id(opts.id));
  BERTH_TRY_ASSIGN(o, resolved(opts.criu, false));
  if (::access((o.image_path + "/inventory.img").c_str(), F_OK) < 0)
    return sys_error(errno, "image directory \"{}\" holds no checkpoint (inventory.img)", o.image_path);
  BERTH_TRY_ASSIGN(bundle, absolute(opts.bundle, "bundle"));
  BERTH_TRY_ASSIGN(text, read_file(bundle + "/config.json"));
  BERTH_TRY_ASSIGN(spec, with_context(oci::parse_config(text), "config \"" + bundle + "/config.json\""));
  if (spec.process->terminal)
    return error("restore of a container with process.terminal is not supported (its pty is not in the image)");
  const std::string& root_path = spec.root->path;
  BERTH_TRY_ASSIGN(rootfs, absolute(root_path.starts_with("/") ? root_path : bundle + "/" + root_path, "rootfs"));

  BERTH_TRY(store_.create_dir(opts.id));
  bool committed = false;
  std::unique_ptr<cgroup::Manager> cgroups;
  auto rollback = [&]() {
    if (committed) return;
    if (cgroups) (void)cgroups->destroy();
    (void)store_.remove(opts.id);
  };
  struct Guard {
    std::function<void()> f;
    ~Guard() { f(); }
  } guard{rollback};
  BERTH_TRY(write_file_atomic(store_.config_path(opts.id), text, 0600, Durability::volatile_));
  BERTH_TRY_ASSIGN(layout, cgroup::detect_layout());
  {
    BERTH_TRY_ASSIGN(m, cgroup::make_manager(layout, spec.linux ? spec.linux->cgroups_path : "", opts.id));
    cgroups = std::move(m);
  }
  // CRIU puts the restored tasks back into the cgroups they were dumped from:
  // the container's, made again here from the same config.
  BERTH_TRY(cgroups->create());

  std::optional<ForwardedSignals> signals;
  if (!opts.detach) {
    BERTH_TRY_ASSIGN(s, ForwardedSignals::block());
    signals.emplace(std::move(s));
  }
  std::string pidfile = store_.dir(opts.id) + "/restore.pid";
  {
    BERTH_TRY_ASSIGN(root, CriuRoot::make(rootfs, store_.dir(opts.id) + "/criu-root"));
    BERTH_TRY(run_criu(o, "restore", criu_restore_args(o, spec, root.path(), pidfile, bundle)));
  }
  BERTH_TRY_ASSIGN(pid_text, read_file(pidfile));
  ::unlink(pidfile.c_str());
  ContainerRecord rec;
  rec.id = opts.id;
  rec.pid = std::atoi(pid_text.c_str());
  if (rec.pid <= 0) return error("criu restore: no pid in \"{}\"", pidfile);
  rec.pid_start_time = process_start_time(rec.pid);
  rec.bundle = bundle;
  rec.rootfs = rootfs;
  rec.created = rfc3339_now();
  rec.owner = ::getuid();
  rec.annotations = spec.annotations;
  rec.cgroup_paths = cgroups->paths();
  BERTH_TRY(store_.save(rec));
  if (!opts.pid_file.empty())
    BERTH_TRY(write_file_atomic(opts.pid_file, std::to_string(rec.pid), 0644, Durability::volatile_));
  committed = true;
  if (opts.detach) return 0;
  UniqueFd no_terminal;
  auto code = supervise(rec.pid, *signals, no_terminal);
  auto lock = store_.lock(opts.id);
  auto r = lock ? delete_stopped(store_, rec, spec.hooks ? &*spec.hooks : nullptr) : Result<>(std::unexpected(lock.error()));
  if (!r) log::warn("delete container \"{}\": {}", opts.id, r.error().what());
  return code;
}

}  // namespace berth::runtime
