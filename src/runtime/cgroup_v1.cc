// The v1 manager: one directory per mounted hierarchy (every controller,
// name=systemd, and on a hybrid host the unified mount too).
#include <fcntl.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <cerrno>

#include "base/file.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

namespace {

// A new cpuset cgroup starts with empty cpus and mems, and adding a task to it
// fails with ENOSPC: copy them from the parent (fixing the parent first if it is
// empty too), as runc does.
Result<> copy_cpuset(const std::string& dir, const std::string& mount_point) {
  std::string parent = parent_dir(dir);
  for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
    BERTH_TRY_ASSIGN(value, read_trimmed(parent + file));
    if (value.empty() && parent.size() > mount_point.size()) {
      BERTH_TRY(copy_cpuset(parent, mount_point));
      BERTH_TRY_ASSIGN(again, read_trimmed(parent + file));
      value = std::move(again);
    }
    if (value.empty()) return error("\"{}{}\" is empty", parent, file);
    BERTH_TRY(write_file(dir + file, value));
  }
  return {};
}

class V1Manager final : public Manager {
 public:
  V1Manager(std::vector<Dir> dirs, bool classified) : dirs_(std::move(dirs)), classified_(classified) {}

  Result<> create() override {
    std::vector<std::string> created;
    auto r = create_all(created);
    if (!r) remove_created(created);
    return r;
  }

  Result<> add_process(pid_t pid) override {
    for (const auto& d : dirs_) BERTH_TRY(write_procs(d.path, pid));
    return {};
  }

  Result<UniqueFd> open_clone_target() const override {
    BERTH_TRY(classify());
    for (const auto& d : dirs_)
      if (d.unified) return make_and_open(d);
    return UniqueFd();
  }

  Result<std::vector<std::string>> self_join_files() const override {
    BERTH_TRY(classify());
    std::vector<std::string> files;
    for (const auto& d : dirs_)
      if (!d.unified) files.push_back(d.path + "/tasks");
    return files;
  }

  Result<std::vector<pid_t>> pids() const override {
    BERTH_TRY_ASSIGN(dir, pids_dir());
    return read_pids_recursive(*dir);
  }

  Result<> signal_all(int sig) override {
    BERTH_TRY_ASSIGN(listed, pids_dir());
    const std::string& list_dir = *listed;
    const Dir* freezer = find_freezer();
    if (!freezer) return signal_unfrozen(list_dir, sig);
    BERTH_TRY_ASSIGN(before, v1_freezer_state(freezer->path));
    bool was_frozen = before == FreezerState::frozen;
    if (!was_frozen) {
      BERTH_TRY_ASSIGN(frozen, v1_freeze(freezer->path));
      // A task that does not freeze (stuck in the kernel): signal without.
      if (!frozen) return signal_unfrozen(list_dir, sig);
    }
    auto pids = read_pids_recursive(list_dir);
    auto sent = pids ? signal_pids(*pids, sig) : Result<>(std::unexpected(pids.error()));
    // Frozen tasks act on SIGKILL only once thawed.
    if (!was_frozen || sig == SIGKILL) BERTH_TRY(v1_thaw(freezer->path));
    return sent;
  }

  Result<> set_frozen(bool frozen) override {
    const Dir* freezer = find_freezer();
    if (!freezer) {
      if (!frozen) return {};
      return error("no freezer cgroup among \"{}\"", dirs_.front().path);
    }
    if (!frozen) return v1_thaw(freezer->path);
    BERTH_TRY_ASSIGN(done, v1_freeze(freezer->path));
    if (!done) return error("freeze \"{}\": its tasks did not stop within 1 s", freezer->path);
    return {};
  }

  Result<bool> frozen() override {
    const Dir* freezer = find_freezer();
    if (!freezer) return false;
    BERTH_TRY_ASSIGN(state, v1_freezer_state(freezer->path));
    return state == FreezerState::frozen;
  }

  Result<Stats> stats() const override {
    BERTH_TRY(classify());
    return v1_stats(dirs_, real_files());
  }

  Result<std::unique_ptr<OomWatch>> watch_oom() const override {
    const Dir* memory = v1_controller_dir(dirs_, "memory", "memory.oom_control", real_files());
    if (!memory) return sys_error(ENOENT, "no memory cgroup among \"{}\"", dirs_.front().path);
    return v1_watch_oom(memory->path);
  }

  Result<> destroy() override {
    Result<> first;
    for (const auto& d : dirs_) {
      auto r = remove_cgroup(d.path);
      if (!r && first) first = std::move(r);
    }
    return first;
  }

  std::map<std::string, std::string> paths() const override {
    std::map<std::string, std::string> out;
    for (const auto& d : dirs_) out.emplace(d.mount_point, d.path);
    return out;
  }

 private:
  Result<> create_all(std::vector<std::string>& created) {
    for (const auto& d : dirs_) {
      size_t before = created.size();
      BERTH_TRY(make_dirs(d.path, d.mount_point, created));
      if (!d.cpuset) continue;
      if (created.size() > before) {
        for (size_t i = before; i < created.size(); ++i) BERTH_TRY(copy_cpuset(created[i], d.mount_point));
      } else {
        // Reused: it may have been made by someone who never filled it in.
        BERTH_TRY_ASSIGN(cpus, read_trimmed(d.path + "/cpuset.cpus"));
        BERTH_TRY_ASSIGN(mems, read_trimmed(d.path + "/cpuset.mems"));
        if (cpus.empty() || mems.empty()) BERTH_TRY(copy_cpuset(d.path, d.mount_point));
      }
    }
    return {};
  }

  const Dir* find_freezer() {
    for (const auto& d : dirs_)
      if (d.freezer) return &d;
    if (probed_) return nullptr;
    probed_ = true;
    for (auto& d : dirs_) {
      if (::access((d.path + "/freezer.state").c_str(), F_OK) == 0) {
        d.freezer = true;
        return &d;
      }
    }
    return nullptr;
  }

  // Marks the cgroup2 hierarchy (a hybrid host's unified mount) of a manager
  // loaded from saved paths, which name mount points only: one statfs per
  // hierarchy, the first time an answer depends on it.
  Result<> classify() const {
    if (classified_) return {};
    for (auto& d : dirs_) {
      struct statfs st {};
      if (::statfs(d.mount_point.c_str(), &st) < 0) return sys_error(errno, "statfs \"{}\"", d.mount_point);
      d.unified = st.f_type == CGROUP2_SUPER_MAGIC;
    }
    classified_ = true;
    return {};
  }

  // The pids hierarchy's directory, else the first v1 one's.
  Result<const std::string*> pids_dir() const {
    for (const auto& d : dirs_)
      if (d.pids) return &d.path;
    BERTH_TRY(classify());
    for (const auto& d : dirs_)
      if (!d.unified) return &d.path;
    return &dirs_.front().path;
  }

  // Mutable: classify() fills in Dir::unified of a loaded manager lazily.
  mutable std::vector<Dir> dirs_;
  mutable bool classified_;
  bool probed_ = false;
};

}  // namespace

std::unique_ptr<Manager> new_v1_manager(std::vector<Dir> dirs, bool classified) {
  return std::make_unique<V1Manager>(std::move(dirs), classified);
}

}  // namespace berth::runtime::cgroup::detail
