// The manager of a rootless container that may make no cgroup of its own
// (make_permitted_manager): it stays in the caller's cgroups, as with runc.
#include <cerrno>

#include "runtime/cgroup_internal.h"

namespace berth::runtime::cgroup::detail {

namespace {

class EmptyManager final : public Manager {
 public:
  Result<> create() override { return {}; }
  // Nothing to move it into: the process stays where it was born.
  Result<> add_process(pid_t) override { return {}; }
  Result<UniqueFd> open_clone_target() const override { return UniqueFd(); }
  Result<std::vector<std::string>> self_join_files() const override { return std::vector<std::string>(); }
  Result<std::vector<pid_t>> pids() const override { return std::vector<pid_t>(); }
  Result<> signal_all(int) override {
    return std::unexpected(Error(ENOENT, "the container has no cgroup (rootless): its processes cannot be listed"));
  }
  Result<> destroy() override { return {}; }
  Result<> set_frozen(bool frozen) override {
    if (!frozen) return {};
    return std::unexpected(Error(ENOENT, "the container has no cgroup (rootless): it cannot be frozen"));
  }
  Result<bool> frozen() override { return false; }
  Result<Stats> stats() const override { return Stats{}; }
  Result<std::unique_ptr<OomWatch>> watch_oom() const override {
    return std::unexpected(Error(ENOENT, "the container has no cgroup (rootless): no memory controller to watch"));
  }
  std::map<std::string, std::string> paths() const override { return {}; }
};

}  // namespace

std::unique_ptr<Manager> new_empty_manager() { return std::make_unique<EmptyManager>(); }

}  // namespace berth::runtime::cgroup::detail
