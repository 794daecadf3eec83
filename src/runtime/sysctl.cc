// linux.sysctl: one write to /proc/sys/<key with dots as slashes> each. The
// file is opened beneath /proc/sys with no symlink and no ".." allowed, so a
// key cannot reach any other file.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "runtime/rootfs_internal.h"

namespace berth::runtime::detail {
namespace {

Result<std::string> sysctl_path(const std::string& key) {
  if (key.empty()) return error("sysctl: empty key");
  std::string rel = key;
  for (char& c : rel) {
    if (c == '.') c = '/';
  }
  if (rel.front() == '/' || rel.back() == '/' || rel.find("//") != std::string::npos) {
    return error("sysctl \"{}\": not a valid key", key);
  }
  // After the dot-to-slash swap, "a..b" is "a//b"; reject ".." written with slashes too.
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string_view part(rel.data() + i, j - i);
    if (part == "..") return error("sysctl \"{}\": not a valid key", key);
    i = j + 1;
  }
  return rel;
}

}  // namespace

Result<> apply_sysctl(const std::map<std::string, std::string>& sysctl) {
  if (sysctl.empty()) return {};
  int pfd = ::open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return sys_error(errno, "open \"/proc/sys\" to set sysctls");
  UniqueFd procsys(pfd);
  for (const auto& [key, value] : sysctl) {
    BERTH_TRY_ASSIGN(rel, sysctl_path(key));
    struct open_how how {};
    how.flags = O_WRONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    int fd = static_cast<int>(syscall(SYS_openat2, procsys.get(), rel.c_str(), &how, sizeof how));
    if (fd < 0) return sys_error(errno, "sysctl \"{}\": open \"/proc/sys/{}\"", key, rel);
    UniqueFd file(fd);
    if (::write(file.get(), value.data(), value.size()) < 0) {
      return sys_error(errno, "sysctl \"{}\": write \"{}\"", key, value);
    }
  }
  return {};
}

}  // namespace berth::runtime::detail
