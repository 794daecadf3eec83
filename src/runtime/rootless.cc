#include "runtime/rootless.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/file.h"

namespace berth::runtime {

bool running_rootless() {
  if (::geteuid() != 0) return true;
  // The initial user namespace maps every id onto itself; any other map means
  // a user namespace whose root is not the host's.
  auto map = read_file("/proc/self/uid_map");
  if (!map) return false;
  unsigned long inside = 1, outside = 1, count = 0;
  if (std::sscanf(map->c_str(), "%lu %lu %lu", &inside, &outside, &count) != 3) return true;
  return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

Result<std::string> default_state_root() {
  if (::geteuid() == 0) return std::string(kRootStateRoot);
  const char* dir = std::getenv("XDG_RUNTIME_DIR");
  if (!dir || !*dir)
    return error("XDG_RUNTIME_DIR is not set: a runtime run by uid {} keeps its state there "
                 "(or give --root DIR)", ::geteuid());
  struct stat st {};
  if (::stat(dir, &st) < 0) return sys_error(errno, "XDG_RUNTIME_DIR \"{}\"", dir);
  if (!S_ISDIR(st.st_mode)) return error("XDG_RUNTIME_DIR \"{}\" is not a directory", dir);
  if (::access(dir, W_OK | X_OK) < 0)
    return sys_error(errno, "XDG_RUNTIME_DIR \"{}\" is not writable by uid {} (or give --root DIR)", dir,
                     ::geteuid());
  return std::string(dir) + "/berth-runtime";
}

bool resources_need_cgroup(const oci::Resources& r) {
  return r.memory || r.cpu || r.pids || r.block_io || !r.hugepage_limits.empty() || r.network || !r.rdma.empty() ||
         !r.unified.empty();
}

}  // namespace berth::runtime
