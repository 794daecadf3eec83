// Network namespaces kept by a bind mount, as `ip netns add` keeps them: the
// namespace lives as long as the mount at its path, whether or not a process
// is in it, so CNI plugins can be run on it before the container starts and
// after it exits.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "base/file.h"
#include "engine/network.h"

namespace berth::engine {
namespace {

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

// The directory of namespace mounts is a shared mount point of its own (a
// bind mount on itself, as `ip netns` makes /run/netns), so that unmounting a
// namespace there also unmounts the copies other mount namespaces made of it
// (otherwise those copies would keep the namespace alive).
Result<> ensure_shared_dir(const std::string& dir) {
  BERTH_TRY(mkdir_p(dir, 0755));
  BERTH_TRY_ASSIGN(fd, open_file(dir, O_RDONLY | O_DIRECTORY));
  // Two berth processes making the first namespace must not both stack a bind mount.
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error(errno, "lock \"{}\"", dir);
  struct statx stx {};
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0)
    return sys_error(errno, "statx \"{}\"", dir);
  bool mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  if (!mount_root && ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error(errno, "bind mount \"{}\" on itself", dir);
  if (::mount("", dir.c_str(), nullptr, MS_SHARED | MS_REC, nullptr) != 0)
    return sys_error(errno, "make \"{}\" a shared mount", dir);
  return {};
}

// Loopback up with one ioctl in the namespace: the same as the CNI loopback
// plugin does, without the cost of exec'ing a Go binary (several ms).
Result<> loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error(errno, "socket for loopback");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return sys_error(errno, "get flags of lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return sys_error(errno, "bring lo up");
  return {};
}

// Runs on a thread of its own: unshare(CLONE_NEWNET) changes only the calling
// thread's namespace, and the thread ends right after, so no thread of the
// caller is ever left in the new namespace.
Result<> new_netns_at(const std::string& path) {
  if (::unshare(CLONE_NEWNET) != 0) return sys_error(errno, "unshare network namespace");
  BERTH_TRY(loopback_up());
  if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error(errno, "bind mount the network namespace on \"{}\"", path);
  return {};
}

}  // namespace

Result<> create_netns(const std::string& path) {
  BERTH_TRY(ensure_shared_dir(parent_dir(path)));
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) return sys_error(errno, "create network namespace file \"{}\"", path);
    ::close(fd);
  }
  Result<> made;
  std::thread([&] { made = new_netns_at(path); }).join();
  if (!made) {
    ::unlink(path.c_str());
    return made;
  }
  return {};
}

Result<> remove_netns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return sys_error(errno, "unmount network namespace \"{}\"", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(errno, "remove \"{}\"", path);
  return {};
}

}  // namespace berth::engine
