// rm: a container and everything it owns.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/file.h"
#include "base/log.h"
#include "engine/detached.h"
#include "engine/engine_internal.h"
#include "engine/monitor.h"
#include "engine/volumes.h"
#include "image/remove_tree.h"

namespace berth::engine {
namespace {

Result<> remove_dir(const std::string& path) {
  auto r = image::remove_tree(path);
  if (!r && r.error().code() != ENOENT) return r;
  return {};
}

// A container's directory trees go in two steps: renamed into a trash
// directory beside them at once (one rename: the container's paths are free
// when rm returns), then removed there by a detached process (an unlink
// costs up to tens of ms on a loaded ext4: not on the caller's path).
// Whatever a trash holds is garbage; the next removal takes it too.
class Trash {
 public:
  explicit Trash(const Paths& p) : dirs_{p.root + "/trash", p.runroot + "/trash"} {}

  // `path` (inside root or runroot, `where` says which) moved out of the way,
  // or removed here when it cannot be moved.
  Result<> take(const std::string& path, size_t where, const std::string& id) {
    if (mkdir_p(dirs_[where], 0700) && ::rename(path.c_str(), (dirs_[where] + "/" + id).c_str()) == 0) {
      used_[where] = true;
      return {};
    }
    if (errno == ENOENT && ::access(path.c_str(), F_OK) != 0) return {};
    return remove_dir(path);
  }

  // Empties the trash directories used in a detached process (here if none
  // can be had).
  void empty() const {
    auto all = [this] {
      for (size_t i = 0; i < 2; ++i)
        if (used_[i]) empty_dir(dirs_[i]);
    };
    if (!used_[0] && !used_[1]) return;
    if (auto detached = run_detached(-1, all); !detached) {
      log::debug("remove container directories in the foreground: {}", detached.error().what());
      all();
    }
  }

 private:
  static void empty_dir(const std::string& dir) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (auto r = image::remove_tree(e.path().string()); !r) log::warn("{}", r.error().what());
  }

  std::string dirs_[2];
  bool used_[2] = {false, false};
};

}  // namespace

Result<> Engine::Impl::remove_locked(const ContainerRecord& c, bool volumes) {
  release(c);
  Trash trash(paths());
  BERTH_TRY(trash.take(paths().container_dir(c.id), 0, c.id));
  BERTH_TRY(trash.take(paths().run_dir(c.id), 1, c.id));
  if (volumes) {
    for (const auto& [dest, name] : c.volumes) {
      auto v = db.volume(name);
      if (!v || !v->anonymous) continue;
      // Forced: its only user is this container, whose row goes below.
      if (auto r = remove_volume(db, paths(), name, true); !r && r.error().code() != ENOENT) return r;
    }
  }
  if (!c.lease_id.empty()) {
    BERTH_TRY_ASSIGN(store, image_store());
    if (auto r = store->metadata().delete_lease(c.lease_id); !r && r.error().code() != ENOENT) return r;
  }
  if (auto r = db.remove_container(c.id); !r && r.error().code() != ENOENT) return r;
  ::unlink(paths().lock(c.id).c_str());
  // A pod member's name is no longer one the pod answers to on its network.
  if (!c.pod_id.empty() && !c.infra)
    if (auto r = pods().leave(c.pod_id); !r) log::warn("pod of {}: {}", c.id, r.error().what());
  trash.empty();
  return {};
}

Result<> Engine::remove(std::string_view id_or_name, bool force, bool volumes) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  BERTH_TRY(refuse_infra(impl_->db, c, "rm"));
  bool running = c.state == ContainerState::running || c.state == ContainerState::paused;
  if (running && !force)
    return std::unexpected(Error(EBUSY, fmt::format("container {} is running: stop it first, or remove it with -f",
                                                    c.name)));
  if (running || (c.state == ContainerState::created && c.pid > 0)) {
    // Killed first; its cleanup (here or the monitor's) must not restart it.
    BERTH_TRY(impl_->db.update_container(c.id, [](ContainerRecord& r) -> Result<> {
      r.stopped_by_user = true;
      return {};
    }));
    BERTH_TRY_ASSIGN(h, impl_->handler(c.runtime));
    if (auto r = h->kill(c.id, SIGKILL, true); !r) log::debug("rm -f {}: {}", c.id, r.error().what());
    if (auto r = wait_exit(impl_->paths().run_dir(c.id), 10000); !r)
      log::debug("rm -f {}: {}", c.id, r.error().what());
  }
  BERTH_TRY_ASSIGN(lock, impl_->lock(c.id));
  auto fresh = impl_->db.container(c.id);
  if (!fresh && fresh.error().code() == ENOENT) return {};
  if (!fresh) return std::unexpected(std::move(fresh).error());
  return impl_->remove_locked(*fresh, volumes);
}

}  // namespace berth::engine
