// mount_overlay() and OverlayMount (snapshots.h).
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "image/snapshots.h"

namespace berth::image {
namespace {

// The classic single option string, for kernels without "lowerdir+".
Result<> mount_legacy(const OverlaySpec& spec, const std::string& target) {
  std::string opts = "lowerdir=";
  for (auto it = spec.layers.rbegin(); it != spec.layers.rend(); ++it) {
    if (it->find_first_of(":,") != std::string::npos) {
      return error("overlay lower dir \"{}\": ':' and ',' need Linux 6.8's lowerdir+", *it);
    }
    if (it != spec.layers.rbegin()) opts += ':';
    opts += *it;
  }
  if (!spec.upper.empty()) opts += ",upperdir=" + spec.upper + ",workdir=" + spec.work;
  if (spec.userxattr) opts += ",userxattr";
  const unsigned long flags = spec.upper.empty() ? MS_RDONLY : 0;
  if (::mount("overlay", target.c_str(), "overlay", flags, opts.c_str()) < 0) {
    return sys_error(errno, "mount overlay on \"{}\"", target);
  }
  return {};
}

}  // namespace

OverlayMount& OverlayMount::operator=(OverlayMount&& o) noexcept {
  if (this != &o) {
    (void)unmount();
    target_ = std::exchange(o.target_, {});
  }
  return *this;
}

OverlayMount::~OverlayMount() { (void)unmount(); }

Result<> OverlayMount::unmount() {
  if (target_.empty()) return {};
  const std::string target = std::exchange(target_, {});
  if (::umount2(target.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    return sys_error(errno, "unmount \"{}\"", target);
  }
  return {};
}

Result<OverlayMount> mount_overlay(const OverlaySpec& spec, const std::string& target) {
  if (spec.layers.empty()) return error("overlay on \"{}\": no layers", target);
  if (spec.upper.empty() != spec.work.empty()) {
    return error("overlay on \"{}\": an upper dir needs a work dir and vice versa", target);
  }
  if (spec.layers.size() == 1 && spec.upper.empty()) {
    // Overlayfs wants two lower dirs without an upper one; one layer alone is
    // the same tree as a read-only bind mount of it.
    int tree = ::open_tree(AT_FDCWD, spec.layers[0].c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return sys_error(errno, "clone mount of \"{}\"", spec.layers[0]);
    UniqueFd tfd(tree);
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(tfd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
      return sys_error(errno, "make \"{}\" read-only", spec.layers[0]);
    }
    if (::move_mount(tfd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
      return sys_error(errno, "mount \"{}\" on \"{}\"", spec.layers[0], target);
    }
    return OverlayMount(target);
  }
  int fs = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return sys_error(errno, "fsopen overlay");
  UniqueFd fsfd(fs);
  auto set = [&](const char* key, const std::string& value) {
    return ::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0);
  };
  // Topmost first: the last layer of the image shadows the ones below it.
  for (auto it = spec.layers.rbegin(); it != spec.layers.rend(); ++it) {
    if (set("lowerdir+", *it) < 0) {
      if (errno == EINVAL && it == spec.layers.rbegin()) {
        BERTH_TRY(mount_legacy(spec, target));
        return OverlayMount(target);
      }
      return sys_error(errno, "overlay lower dir \"{}\"", *it);
    }
  }
  if (!spec.upper.empty()) {
    if (set("upperdir", spec.upper) < 0) return sys_error(errno, "overlay upper dir \"{}\"", spec.upper);
    if (set("workdir", spec.work) < 0) return sys_error(errno, "overlay work dir \"{}\"", spec.work);
  }
  if (spec.userxattr && ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) < 0) {
    return sys_error(errno, "overlay option userxattr");
  }
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return sys_error(errno, "create overlay for \"{}\"", target);
  }
  int m = ::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, spec.upper.empty() ? MOUNT_ATTR_RDONLY : 0);
  if (m < 0) return sys_error(errno, "fsmount overlay for \"{}\"", target);
  UniqueFd mnt(m);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return sys_error(errno, "mount overlay on \"{}\"", target);
  }
  return OverlayMount(target);
}

}  // namespace berth::image
