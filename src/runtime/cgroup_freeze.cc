// The freezer (pause / resume, and kill --all's freeze around signalling):
// v1 freezer.state THAWED/FREEZING/FROZEN, v2 cgroup.freeze + cgroup.events.
#include <cerrno>

#include "base/file.h"
#include "runtime/cgroup_ops.h"

namespace berth::runtime::cgroup::detail {

Result<FreezerState> v1_freezer_state(const std::string& dir) {
  // self_freezing: frozen by a write to this cgroup, not through an ancestor.
  auto self = read_trimmed(dir + "/freezer.self_freezing");
  if (self) return *self == "1" ? FreezerState::frozen : FreezerState::thawed;
  if (self.error().code() != ENOENT) return std::unexpected(std::move(self).error());
  auto state = read_trimmed(dir + "/freezer.state");
  if (!state) {
    if (state.error().code() == ENOENT) return FreezerState::absent;
    return std::unexpected(std::move(state).error());
  }
  return *state == "THAWED" ? FreezerState::thawed : FreezerState::frozen;
}

Result<FreezerState> v2_freezer_state(const std::string& dir) {
  auto state = read_trimmed(dir + "/cgroup.freeze");
  if (!state) {
    // No freezer before 5.2.
    if (state.error().code() == ENOENT) return FreezerState::absent;
    return std::unexpected(std::move(state).error());
  }
  return *state == "1" ? FreezerState::frozen : FreezerState::thawed;
}

Result<bool> v1_freeze(const std::string& dir) {
  std::string state = dir + "/freezer.state";
  BERTH_TRY(write_file(state, "FROZEN"));
  // FREEZING until every task has stopped.
  BERTH_TRY_ASSIGN(frozen, wait_for_content(state, "FROZEN"));
  if (!frozen) BERTH_TRY(write_file(state, "THAWED"));
  return frozen;
}

Result<bool> v2_freeze(const std::string& dir) {
  BERTH_TRY(write_file(dir + "/cgroup.freeze", "1"));
  BERTH_TRY_ASSIGN(frozen, wait_for_content(dir + "/cgroup.events", "frozen 1"));
  if (!frozen) BERTH_TRY(write_file(dir + "/cgroup.freeze", "0"));
  return frozen;
}

Result<> v1_thaw(const std::string& dir) { return write_file(dir + "/freezer.state", "THAWED"); }

Result<> v2_thaw(const std::string& dir) { return write_file(dir + "/cgroup.freeze", "0"); }

}  // namespace berth::runtime::cgroup::detail
