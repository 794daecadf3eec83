#include "runtime/lsm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "base/log.h"

namespace berth::runtime {
namespace {

bool apparmor_enabled() {
  auto v = read_file("/sys/module/apparmor/parameters/enabled");
  return v && v->starts_with("Y");
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

Result<> write_attr(const std::string& path, const std::string& value, const std::string& what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "{}: open \"{}\"", what, path);
  UniqueFd f(fd);
  if (::write(f.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return sys_error(errno, "{}: write \"{}\"", what, path);
  return {};
}

}  // namespace

Result<> apply_exec_labels(const std::string& apparmor_profile, const std::string& selinux_label) {
  if (!apparmor_profile.empty()) {
    if (!apparmor_enabled()) {
      log::warn("process.apparmorProfile \"{}\" ignored: AppArmor is not enabled on this host", apparmor_profile);
    } else {
      std::string what = fmt::format("apply AppArmor profile \"{}\"", apparmor_profile);
      auto r = write_attr("/proc/self/attr/apparmor/exec", "exec " + apparmor_profile, what);
      if (!r && r.error().code() == ENOENT) r = write_attr("/proc/self/attr/exec", "exec " + apparmor_profile, what);
      BERTH_TRY(r);
    }
  }
  if (!selinux_label.empty()) {
    if (!selinux_enabled())
      log::warn("process.selinuxLabel \"{}\" ignored: SELinux is not enabled on this host", selinux_label);
    else
      BERTH_TRY(write_attr("/proc/self/attr/exec", selinux_label, fmt::format("set SELinux label \"{}\"", selinux_label)));
  }
  return {};
}

}  // namespace berth::runtime
