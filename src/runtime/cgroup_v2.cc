// The v2 manager (pure v2 hosts): one directory in the unified hierarchy,
// mounted wherever the layout says.
#include <fcntl.h>
#include <signal.h>

#include <cerrno>

#include "base/file.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

namespace {

class V2Manager final : public Manager {
 public:
  explicit V2Manager(Dir dir) : dir_(std::move(dir)) {}

  // Controllers are enabled in the parents' cgroup.subtree_control only when a
  // resource needs them (part 2), so creation is one mkdir.
  Result<> create() override {
    std::vector<std::string> created;
    auto r = make_dirs(dir_.path, dir_.mount_point, created);
    if (!r) remove_created(created);
    return r;
  }

  Result<> add_process(pid_t pid) override { return write_procs(dir_.path, pid); }

  Result<UniqueFd> open_clone_target() const override { return make_and_open(dir_); }

  Result<std::vector<std::string>> self_join_files() const override { return std::vector<std::string>(); }

  Result<std::vector<pid_t>> pids() const override { return read_pids_recursive(dir_.path); }

  Result<> signal_all(int sig) override {
    if (sig == SIGKILL) {
      // 5.14+: the kernel kills the whole subtree, forks included.
      auto r = write_file(dir_.path + "/cgroup.kill", "1");
      if (r || r.error().code() != ENOENT) return r;
    }
    BERTH_TRY_ASSIGN(before, v2_freezer_state(dir_.path));
    if (before == FreezerState::absent) return signal_unfrozen(dir_.path, sig);
    bool was_frozen = before == FreezerState::frozen;
    if (!was_frozen) {
      BERTH_TRY_ASSIGN(frozen, v2_freeze(dir_.path));
      if (!frozen) return signal_unfrozen(dir_.path, sig);
    }
    auto pids = read_pids_recursive(dir_.path);
    auto sent = pids ? signal_pids(*pids, sig) : Result<>(std::unexpected(pids.error()));
    if (!was_frozen || sig == SIGKILL) BERTH_TRY(v2_thaw(dir_.path));
    return sent;
  }

  Result<> set_frozen(bool frozen) override {
    BERTH_TRY_ASSIGN(state, v2_freezer_state(dir_.path));
    if (state == FreezerState::absent) {
      if (!frozen) return {};
      return sys_error(ENOENT, "\"{}/cgroup.freeze\": no cgroup2 freezer (Linux 5.2+)", dir_.path);
    }
    if (!frozen) return v2_thaw(dir_.path);
    BERTH_TRY_ASSIGN(done, v2_freeze(dir_.path));
    if (!done) return error("freeze \"{}\": its tasks did not stop within 1 s", dir_.path);
    return {};
  }

  Result<bool> frozen() override {
    BERTH_TRY_ASSIGN(state, v2_freezer_state(dir_.path));
    return state == FreezerState::frozen;
  }

  Result<Stats> stats() const override { return v2_stats(dir_, real_files()); }

  Result<std::unique_ptr<OomWatch>> watch_oom() const override { return v2_watch_oom(dir_.path); }

  Result<> destroy() override { return remove_cgroup(dir_.path); }

  std::map<std::string, std::string> paths() const override { return {{dir_.mount_point, dir_.path}}; }

 private:
  Dir dir_;
};

}  // namespace

std::unique_ptr<Manager> new_v2_manager(Dir dir) { return std::make_unique<V2Manager>(std::move(dir)); }

}  // namespace berth::runtime::cgroup::detail
