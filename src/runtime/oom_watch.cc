// Out-of-memory notifications of a container's cgroup:
//  - v1: an eventfd registered for memory.oom_control through
//    cgroup.event_control; the kernel signals it at every OOM in the cgroup
//    (and once when the cgroup is removed, which is not an OOM);
//  - v2: inotify on memory.events, whose oom_kill counter rises at each OOM kill.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "base/file.h"
#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

namespace {

class V1OomWatch final : public OomWatch {
 public:
  V1OomWatch(std::string dir, UniqueFd event, UniqueFd oom_control)
      : dir_(std::move(dir)), event_(std::move(event)), oom_control_(std::move(oom_control)) {}

  const UniqueFd& fd() const override { return event_; }

  Result<bool> take() override {
    uint64_t count = 0;
    ssize_t n = ::read(event_.get(), &count, sizeof count);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return false;
      return sys_error(errno, "read the oom eventfd of \"{}\"", dir_);
    }
    // Removal of the cgroup signals the eventfd too.
    if (::access((dir_ + "/cgroup.event_control").c_str(), F_OK) != 0) return false;
    return n == sizeof count && count > 0;
  }

 private:
  std::string dir_;
  UniqueFd event_;
  UniqueFd oom_control_;  // kept open for as long as the registration lives
};

class V2OomWatch final : public OomWatch {
 public:
  V2OomWatch(std::string dir, UniqueFd inotify, uint64_t kills)
      : dir_(std::move(dir)), inotify_(std::move(inotify)), kills_(kills) {}

  const UniqueFd& fd() const override { return inotify_; }

  Result<bool> take() override {
    char buf[4096];
    while (::read(inotify_.get(), buf, sizeof buf) > 0) {
    }
    auto text = read_file(dir_ + "/memory.events");
    if (!text) {
      if (text.error().code() == ENOENT) return false;  // the cgroup is gone
      return std::unexpected(std::move(text).error());
    }
    uint64_t kills = parse_flat_keyed(*text)["oom_kill"];
    bool oom = kills > kills_;
    kills_ = kills;
    return oom;
  }

 private:
  std::string dir_;
  UniqueFd inotify_;
  uint64_t kills_;
};

}  // namespace

Result<std::unique_ptr<OomWatch>> v1_watch_oom(const std::string& memory_dir) {
  BERTH_TRY_ASSIGN(oom_control, open_file(memory_dir + "/memory.oom_control", O_RDONLY | O_CLOEXEC));
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return sys_error(errno, "eventfd");
  UniqueFd event(efd);
  std::string registration = std::to_string(event.get()) + " " + std::to_string(oom_control.get());
  BERTH_TRY(write_file(memory_dir + "/cgroup.event_control", registration));
  return std::unique_ptr<OomWatch>(new V1OomWatch(memory_dir, std::move(event), std::move(oom_control)));
}

Result<std::unique_ptr<OomWatch>> v2_watch_oom(const std::string& dir) {
  int ifd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0) return sys_error(errno, "inotify_init1");
  UniqueFd inotify(ifd);
  std::string events = dir + "/memory.events";
  if (::inotify_add_watch(inotify.get(), events.c_str(), IN_MODIFY) < 0)
    return sys_error(errno, "inotify_add_watch \"{}\"", events);
  // Only OOMs from now on count.
  BERTH_TRY_ASSIGN(text, read_file(events));
  uint64_t kills = parse_flat_keyed(text)["oom_kill"];
  return std::unique_ptr<OomWatch>(new V2OomWatch(dir, std::move(inotify), kills));
}

}  // namespace berth::runtime::cgroup::detail
