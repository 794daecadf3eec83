// The OCI runtime-spec (v1.2) config.json as C++ types: every field of the
// Linux platform. Optional fields are std::optional where "absent" differs
// from a zero value. Parsing and validation live in config_parse.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::oci {

struct Root {
  std::string path;
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;    // may be empty: a bind mount when options say so
  std::string source;  // may be empty (tmpfs, proc...)
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings;  // idmapped mounts
  std::vector<IdMapping> gid_mappings;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // Windows only; kept for round-trips
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // RLIMIT_NOFILE...
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER...
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::vector<std::string> flags;
  std::optional<uint64_t> runtime, deadline, period;
};

struct ExecCpuAffinity {
  std::string initial;
  std::string final_;  // "final" in JSON
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::string command_line;  // Windows only
  std::vector<std::string> env;
  std::string cwd;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated, still run
  std::vector<Hook> create_runtime, create_container, start_container, poststart, poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this one instead of creating
};

struct Device {
  std::string type;  // c b u p
  std::string path;
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // a c b; empty = all
  std::optional<int64_t> major, minor;
  std::string access;  // rwm
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota, burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  std::optional<int64_t> limit;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // 2MB...
  uint64_t limit = 0;
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_EQ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct IntelRdt {
  std::string clos_id, l3_cache_schema, mem_bw_schema;
  bool enable_cmt = false, enable_mbm = false;
};

struct Personality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic" | "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<IntelRdt> intel_rdt;
  std::optional<Personality> personality;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
};

}  // namespace berth::oci
