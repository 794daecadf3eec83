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
  std::vector<std::string> self_join_files() const override { return {}; }
  Result<std::vector<pid_t>> pids() const override { return std::vector<pid_t>(); }
  Result<> signal_all(int) override {
    return std::unexpected(Error(ENOENT, "the container has no cgroup (rootless): its processes cannot be listed"));
  }
  Result<> destroy() override { return {}; }
  std::map<std::string, std::string> paths() const override { return {}; }
};

}  // namespace

std::unique_ptr<Manager> new_empty_manager() { return std::make_unique<EmptyManager>(); }

}  // namespace berth::runtime::cgroup::detail
