// The managers' pause/resume, stats and OOM-watch work, shared by the v1
// (also hybrid) and v2 managers; not a public interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_stats.h"

namespace berth::runtime::cgroup::detail {

enum class FreezerState { absent, thawed, frozen };

// cgroup_freeze.cc. v1: freezer.state and freezer.self_freezing in the freezer
// hierarchy's dir; v2: cgroup.freeze and cgroup.events.
Result<FreezerState> v1_freezer_state(const std::string& dir);
Result<FreezerState> v2_freezer_state(const std::string& dir);
// Freezes and waits until every task is frozen; false when that does not
// happen within ~1 s (a task stuck in the kernel), after thawing again.
Result<bool> v1_freeze(const std::string& dir);
Result<bool> v2_freeze(const std::string& dir);
Result<> v1_thaw(const std::string& dir);
Result<> v2_thaw(const std::string& dir);

// cgroup_stats_v1.cc, cgroup_stats_v2.cc: every controller that is there;
// a missing controller or file leaves its fields zero.
Result<Stats> v1_stats(const std::vector<Dir>& dirs, const FileSource& files);
Result<Stats> v2_stats(const Dir& dir, const FileSource& files);

// oom_watch.cc
Result<std::unique_ptr<OomWatch>> v1_watch_oom(const std::string& memory_dir);
Result<std::unique_ptr<OomWatch>> v2_watch_oom(const std::string& dir);

// Helpers of the stats readers (cgroup_stats.cc). A file that does not exist
// (or that the kernel lists but does not support: ENODEV, EOPNOTSUPP) reads
// as nullopt, or as 0 for read_number.
Result<std::optional<std::string>> read_optional(const FileSource& files, const std::string& path);
Result<uint64_t> read_number(const FileSource& files, const std::string& path);
// Page sizes ("2MB") from the names of dir's "hugetlb.<size><suffix>" files.
std::vector<std::string> hugetlb_sizes(const FileSource& files, const std::string& dir, std::string_view suffix);
// A cgroup2 directory's hugetlb usage (v2, and a hybrid host's unified mount).
Result<> hugetlb_v2_stats(const Dir& dir, const FileSource& files, Stats& s);

// The directory of v1 controller `name` among `dirs`: the hierarchy whose
// mount point names it ("/sys/fs/cgroup/cpu,cpuacct"), else the one holding
// `probe_file`; nullptr when none.
const Dir* v1_controller_dir(const std::vector<Dir>& dirs, std::string_view name, std::string_view probe_file,
                             const FileSource& files);

}  // namespace berth::runtime::cgroup::detail
