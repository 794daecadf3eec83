// Shared by the resource writers (cgroup_resources*.cc, cgroup_devices_bpf.cc);
// not a public interface.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_resources.h"

namespace berth::runtime::cgroup::detail {

// Where a container's controllers live.
struct Targets {
  Mode mode = Mode::v2;
  std::map<std::string, std::string> v1;  // v1 controller -> the container's directory
  std::string unified;                    // the container's cgroup2 directory ("" if none)
  std::string unified_mount;
  std::set<std::string> unified_controllers;  // what the cgroup2 root offers
  ApplyOptions opts;
};

// The directory to write a controller's files to.
struct Place {
  std::string dir;
  bool v2 = false;
};

// Where `field` (a config path) finds its controller: the v1 hierarchy named
// `v1_name` if mounted, else cgroup2's `v2_name`, enabled in the parents.
Result<Place> place_for(const Targets& t, std::string_view field, std::string_view v1_name, std::string_view v2_name);

// Writes `value` to dir/file; errors name the field, the file and the value.
Result<> write_value(const std::string& dir, std::string_view file, std::string_view value, std::string_view field);
bool file_exists(const std::string& path);

Result<> apply_memory(const Targets& t, const oci::MemoryResources& m);
Result<> apply_cpu(const Targets& t, const oci::CpuResources& c, const std::map<std::string, std::string>& unified);
Result<> apply_block_io(const Targets& t, const oci::BlockIoResources& b);
Result<> apply_hugetlb(const Targets& t, const std::vector<oci::HugepageLimit>& limits);
Result<> apply_network(const Targets& t, const oci::NetworkResources& n);
Result<> apply_devices(const Targets& t, const std::vector<oci::DeviceCgroupRule>& spec_rules, bool explicit_rules);
Result<> apply_unified(const Targets& t, const std::map<std::string, std::string>& unified);

// Loads the device program for `rules` and attaches it to the cgroup2
// directory `dir` (BPF_F_ALLOW_MULTI), replacing the program attached before.
Result<> attach_device_filter(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);

}  // namespace berth::runtime::cgroup::detail
