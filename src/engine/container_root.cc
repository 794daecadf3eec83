#include "engine/container_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/file.h"
#include "base/openat2.h"
#include "engine/copy.h"
#include "engine/db.h"
#include "image/snapshots.h"
#include "oci/config.h"

namespace berth::engine {
namespace {

bool has_init(const ContainerRecord& c) {
  return c.pid > 0 && (c.state == ContainerState::created || c.state == ContainerState::running ||
                       c.state == ContainerState::paused);
}

bool is_mount_point(const std::string& path) {
  struct stat dir{}, parent{};
  return ::stat(path.c_str(), &dir) == 0 && ::stat((path + "/..").c_str(), &parent) == 0 &&
         (dir.st_dev != parent.st_dev || dir.st_ino == parent.st_ino);
}

bool is_bind(const oci::Mount& m) {
  return m.type == "bind" ||
         std::any_of(m.options.begin(), m.options.end(), [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

// The container's bind mounts on `rootfs`, each target resolved inside it
// (a symlink in the container never places a mount on the host).
Result<> bind_mounts(const std::string& bundle, const std::string& rootfs) {
  auto spec = oci::load_config(bundle);
  if (!spec) return {};  // never prepared: no mounts to add
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error(errno, "open \"{}\"", rootfs);
  for (const auto& m : spec->mounts) {
    if (!is_bind(m) || m.source.empty()) continue;
    UniqueFd target = openat2_fd(root.get(), m.destination.c_str(), O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (!target) continue;  // its mount point was never made (the container never started)
    auto target_path = fmt::format("/proc/self/fd/{}", target.get());
    if (::mount(m.source.c_str(), target_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      return sys_error(errno, "bind \"{}\" on \"{}\" of the container", m.source, m.destination);
  }
  return {};
}

Result<> mount_stopped(const Paths& paths, image::Store& store, const ContainerRecord& c) {
  if (::unshare(CLONE_NEWNS) < 0) return sys_error(errno, "unshare the mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return sys_error(errno, "make the mounts private");
  std::string rootfs = paths.rootfs(c.id);
  if (!is_mount_point(rootfs)) {
    BERTH_TRY_ASSIGN(image, store.metadata().get_image(c.image_id));
    if (!image) return std::unexpected(Error(ENOENT, fmt::format("image {} of container {} is gone", c.image_id, c.name)));
    image::OverlaySpec overlay;
    for (const auto& layer : image->layers) {
      BERTH_TRY_ASSIGN(digest, oci::parse_digest(layer.chain_id));
      BERTH_TRY_ASSIGN(dir, store.snapshots().path(digest));
      overlay.layers.push_back(std::move(dir));
    }
    overlay.upper = paths.upper(c.id);
    overlay.work = paths.work(c.id);
    BERTH_TRY(mkdir_p(rootfs, 0755));  // as start makes it
    BERTH_TRY_ASSIGN(m, image::mount_overlay(overlay, rootfs));
    m.release();  // private to this process: gone with it
  }
  return bind_mounts(paths.bundle(c.id), rootfs);
}

}  // namespace

Result<ContainerRoot> open_container_root(const Paths& paths, image::Store& store, const ContainerRecord& c) {
  if (has_init(c)) {
    auto root = open_process_root(c.pid);
    if (root) return ContainerRoot{std::move(*root), UniqueFd()};
    // Exited meanwhile, its cleanup not done yet: as a stopped one.
  }
  BERTH_TRY_ASSIGN(lock, lock_object(paths.lock(c.id)));
  BERTH_TRY(with_context(mount_stopped(paths, store, c), fmt::format("container {}", c.name)));
  BERTH_TRY_ASSIGN(root, open_root_dir(paths.rootfs(c.id)));
  return ContainerRoot{std::move(root), std::move(lock)};
}

}  // namespace berth::engine
